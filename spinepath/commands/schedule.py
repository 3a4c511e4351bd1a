"""spinepath schedule: the reassessment visits after an injection."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from spinepath.commands._common import add_policy_option, fail, policy_or_none
from spinepath.pathway.schedule import reassessment_schedule


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "schedule",
        help="reassessment visits and their windows after an injection",
        description="List the reassessment visits (6 weeks, 3, 6, 12 and optionally 24 "
        "months after the last injection) with their due dates and windows.",
    )
    parser.add_argument(
        "--injected", required=True, metavar="YYYY-MM-DD", help="the day of the (last) injection"
    )
    parser.add_argument("--no-optional", action="store_true", help="leave out optional visits")
    add_policy_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        injected = date.fromisoformat(args.injected)
    except ValueError:
        return fail(f"--injected: must be a date written YYYY-MM-DD (got {args.injected!r})")
    policy = policy_or_none(args)
    if policy is None:
        return 2
    visits = reassessment_schedule(injected, policy, include_optional=not args.no_optional)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "key": v.key,
                        "label": v.label,
                        "due": v.due.isoformat(),
                        "opens": v.opens.isoformat(),
                        "closes": v.closes.isoformat(),
                        "optional": v.optional,
                    }
                    for v in visits
                ]
            )
        )
        return 0
    print(f"Reassessment after the injection of {injected}:")
    print(f"  {'visit':<10} {'due':<10}  window")
    for v in visits:
        note = "  (optional)" if v.optional else ""
        print(f"  {v.label:<10} {v.due}  {v.opens} to {v.closes}{note}")
    return 0
