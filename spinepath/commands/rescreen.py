"""spinepath rescreen --policy FILE: what a draft policy would change in the clinic's decisions."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from spinepath.commands._common import EXIT_INVALID
from spinepath.pathway.policy import InvalidPolicy
from spinepath.policies import load_policy


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "rescreen",
        help="decide every signed workup again under a draft policy",
        description=(
            "Decide each patient's latest signed workup again under the draft policy FILE "
            "(applied over the defaults, as SPINEPATH_POLICY is) and print one JSON object: "
            '{"policy": {"name", "version"}, "workups", "changed", "transitions": '
            '{"before->after": n}, "patients": [record numbers]}. Nothing is changed. Exit '
            "status 2, with the setting named, for an invalid policy file."
        ),
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--policy", metavar="FILE", help="the draft policy TOML")
    # The web page's background run of an uploaded draft (progress and report in the database).
    which.add_argument("--draft", type=int, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "draft", None) is not None:
        from spinepath.commands.web import _django

        _django()
        from spinepath.outcomes.whatif import draft_run

        return 0 if draft_run(args.draft).status == "done" else 1
    try:
        policy = load_policy(args.policy)
    except InvalidPolicy as exc:
        # The file itself (unreadable) is named once; a setting after the file's name.
        print(str(exc) if exc.key == str(args.policy) else f"{args.policy}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    from spinepath.commands.web import _django

    _django()
    from spinepath.outcomes.whatif import rescreen_clinic

    result, skipped = rescreen_clinic(policy)
    for mrn in skipped:
        print(
            f"{mrn}: the signed workup cannot be read in today's format; not counted",
            file=sys.stderr,
        )
    print(orjson.dumps(result.as_json()).decode())
    return 0
