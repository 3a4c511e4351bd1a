"""The `spinepath` command: one sub-command per module in spinepath.commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spinepath.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spinepath",
        description="A regenerative-medicine clinic's pathway for chronic back and spine pain.",
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subcommands)
    return parser


# The server's requests are audited as requests; every other sub-command's records say they
# came from the command line, and which machine account ran it.
NOT_FROM_THE_COMMAND_LINE = {"serve"}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in NOT_FROM_THE_COMMAND_LINE:
        status: int = args.handler(args)
        return status
    from spinepath.audit.context import command_line
    from spinepath.web.text import UnstorableText

    with command_line(args.command):
        try:
            status = args.handler(args)
        except UnstorableText as refused:
            # An argument the database cannot hold (bytes that are not UTF-8 arrive as unpaired
            # surrogates) is named, never a traceback.
            print(f"spinepath {args.command}: " + " ".join(refused.reasons), file=sys.stderr)
            return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
