"""Shared pieces of the sub-commands."""

from __future__ import annotations

import argparse
import sys

from spinepath.pathway.policy import InvalidPolicy, Policy
from spinepath.policies import load_policy

EXIT_INVALID = 2


def add_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", metavar="FILE", help="a policy TOML file applied over the clinic defaults"
    )


def policy_or_none(args: argparse.Namespace) -> Policy | None:
    """The policy the arguments name; on error, print it and return None (exit status 2)."""
    try:
        return load_policy(args.policy)
    except InvalidPolicy as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return None


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_INVALID
