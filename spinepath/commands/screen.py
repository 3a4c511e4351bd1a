"""spinepath screen: decide candidacy for workups in the interchange format.

Streams its input: a .jsonl file of any size is read, decided and written one line at a time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from spinepath.pathway.engine import decide
from spinepath.pathway.explain import explain
from spinepath.pathway.policy import InvalidPolicy, Policy
from spinepath.pathway.workup import InvalidWorkup, parse_workup
from spinepath.policies import load_policy

EXIT_INVALID = 2


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "screen",
        help="decide candidacy for one or more workups",
        description=(
            "Decide candidacy for workups in the spinepath.workup/1 format. Prints one "
            "decision (spinepath.decision/1 JSON) per line. A .jsonl file holds one workup per "
            "line; '-' reads standard input. Invalid input is reported on standard error as "
            "'FILE: field.path: reason' (FILE:LINE for .jsonl); the other inputs are still "
            "decided and the exit status is 2."
        ),
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="workup file (.json or .jsonl), or -"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print a readable report instead of JSON"
    )
    parser.add_argument(
        "--policy", metavar="FILE", help="a policy TOML file applied over the clinic defaults"
    )
    parser.set_defaults(handler=run)


def _documents(name: str, stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(label, document) pairs: the whole file, or one per non-blank line of a .jsonl."""
    if name.endswith(".jsonl"):
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield f"{name}:{number}", line
    else:
        yield name, stream.read()


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    return Path(name).open("rb")


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except InvalidPolicy as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return screen(args.files, policy, explain_report=args.explain)


def screen(files: list[str], policy: Policy, *, explain_report: bool = False) -> int:
    out = sys.stdout.buffer
    status = 0
    first = True
    for name in files:
        label_name = "<stdin>" if name == "-" else name
        try:
            stream = _open(name)
        except OSError as exc:
            print(f"{label_name}: cannot be read ({exc.strerror})", file=sys.stderr)
            status = EXIT_INVALID
            continue
        with stream if name != "-" else _no_close(stream):
            for label, document in _documents(label_name, stream):
                try:
                    workup = parse_workup(document)
                except InvalidWorkup as exc:
                    for error in exc.errors:
                        print(f"{label}: {error.path}: {error.reason}", file=sys.stderr)
                    status = EXIT_INVALID
                    continue
                decision = decide(workup, policy)
                if explain_report:
                    out.write(((b"" if first else b"\n") + explain(decision).encode()) + b"\n")
                    first = False
                else:
                    out.write(orjson.dumps(decision.to_dict()) + b"\n")
    out.flush()
    return status


class _no_close:
    """Use standard input in a with-block without closing it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __enter__(self) -> BinaryIO:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        return None
