"""spinepath audit verify: check the audit log's hash chain."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subcommands: Any) -> None:
    audit = subcommands.add_parser(
        "audit", help="check the audit log", description="Work with the audit log."
    )
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check that no audit event was changed, deleted or inserted out of order",
        description="Walk the audit log's hash chain. Exit 0 when it is intact, printing its "
        "head (keep a copy: a shortened log is found by comparing heads); exit 1 naming the "
        "first bad row otherwise.",
    )
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    from spinepath.audit.chain import verify_database

    verdict = verify_database()
    if verdict.intact:
        print(
            f"audit log intact: {verdict.rows} events; head #{verdict.head_seq} {verdict.head_hash}"
        )
        return 0
    print(
        f"audit log BROKEN at event #{verdict.bad_seq} (row id {verdict.bad_id}): "
        f"{verdict.problem}. {verdict.rows - 1} events before it are intact."
    )
    return 1
