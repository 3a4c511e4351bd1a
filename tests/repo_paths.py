"""Where the project's own contracts and example workups live (inside the repository).

``SHARED`` is the requirements folder beside a developer's checkout; only the agreement test
reads it, and it skips when the folder is absent (a fresh clone has none).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTRACTS = REPO / "spinepath" / "contracts"
CASES = REPO / "examples" / "workups"
SHARED = Path(os.environ.get("SPINEPATH_SHARED", REPO.parent / "shared"))
