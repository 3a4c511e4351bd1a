"""Where the shared specification lives: ../shared beside the repository (or SPINEPATH_SHARED)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SPINEPATH_SHARED", REPO.parent / "shared"))
CASES = SHARED / "cases"
CONTRACTS = SHARED / "contracts"
