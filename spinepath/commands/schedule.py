"""spinepath schedule (being written)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser("schedule", help="(being written)")
    parser.set_defaults(handler=lambda args: 1)
    _ = argparse
