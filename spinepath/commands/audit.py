"""spinepath audit verify: check the audit log's hash chain; spinepath audit seal: chain the
events written before they were chained (spinepath/audit/sealer.py)."""

from __future__ import annotations

import argparse
import contextlib
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
        "head (keep a copy elsewhere: a log cut short, or rewritten with its hashes "
        "recomputed, is found only by checking it against a kept head with --expect); exit 1 "
        "naming the first bad row, or each --expect the log does not hold, otherwise.",
    )
    verify.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        type=_expectation,
        help="a head printed earlier (by `audit verify` or `backup`): fail unless the log "
        "still holds event SEQ with exactly this hash. May be given more than once.",
    )
    verify.set_defaults(handler=run_verify)
    seal = actions.add_parser(
        "seal",
        help="chain the events not chained yet (PostgreSQL page views)",
        description="Chain the audit events written before they were chained, in the order "
        "they were written. `spinepath serve` does this within a second in every worker; run "
        "this where the application is served some other way, with --follow as a service.",
    )
    seal.add_argument(
        "--follow",
        action="store_true",
        help="keep sealing, twice a second, until stopped (Ctrl-C or SIGTERM)",
    )
    seal.set_defaults(handler=run_seal)


def _expectation(text: str) -> tuple[int, str]:
    from spinepath.audit.chain import parse_expectation

    try:
        return parse_expectation(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def run_seal(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    import signal

    from spinepath.audit.sealer import Sealer, seal_now, unsealed

    count = seal_now()
    print(f"chained {count} event{'' if count == 1 else 's'}; {unsealed()} left unsealed")
    if not args.follow:
        return 0
    sealer = Sealer()
    signal.signal(signal.SIGTERM, lambda *_: sealer.stop())
    print("sealing twice a second until stopped")
    with contextlib.suppress(KeyboardInterrupt):
        sealer.run()
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    from spinepath.audit.chain import verify_database

    expect: list[tuple[int, str]] = args.expect
    verdict = verify_database(expect)
    if verdict.intact:
        print(
            f"audit log intact: {verdict.rows} events; head #{verdict.head_seq} {verdict.head_hash}"
        )
    elif verdict.bad_seq is None:
        print(f"audit log NOT CHECKED: {verdict.problem}")
    else:
        print(
            f"audit log BROKEN at event #{verdict.bad_seq} (row id {verdict.bad_id}): "
            f"{verdict.problem}. {verdict.rows - 1} events before it are intact."
        )
    for message in verdict.unmet:
        print(f"audit log does NOT hold an expected event: {message}")
    if verdict.ok and expect:
        held = ", ".join(f"#{seq}" for seq, _ in expect)
        print(f"the log holds every expected event, with its expected hash: {held}")
    try:
        unprotected = _missing_protections()
    except Exception as error:  # no audit table, or no database to reach
        first = str(error).strip().splitlines()
        unprotected = [
            "the audit log's protections could not be checked: "
            + (first[0] if first else type(error).__name__)
        ]
    for message in unprotected:
        print(f"NOT PROTECTED: {message}")
    return 0 if verdict.ok and not unprotected else 1


def _missing_protections() -> list[str]:
    """The database protections of the log and of the signed decisions, each proved by trying
    the edit it refuses (UPDATE, DELETE) on a real row inside a transaction that is always
    rolled back; a table with no row yet is checked by its triggers' names. A log that is intact
    today but open to edits is reported (`spinepath restore` puts the triggers back)."""
    from django.db import connection

    from spinepath.audit.chain import APPEND_ONLY_TRIGGERS, AUDIT_TABLE, append_only_triggers
    from spinepath.web.immutable import (
        SIGNED_DECISIONS,
        refuses,
        signed_decision_trigger_present,
    )

    problems = []
    for table, what in ((AUDIT_TABLE, "audit events"), (SIGNED_DECISIONS[0], "signed decisions")):
        for statement in ("UPDATE", "DELETE"):
            if refuses(connection, table, statement) is False:
                problems.append(
                    f"{what}: an {statement} went through in the database (tried, then rolled "
                    "back): they can be changed or deleted"
                )
    if not signed_decision_trigger_present(connection):
        problems.append("signed decisions' triggers are missing: they can be edited or deleted")
    present_log = append_only_triggers(connection)
    for name in APPEND_ONLY_TRIGGERS:
        disabled = (
            connection.vendor == "postgresql"
            and name in present_log
            and present_log[name][1] == "D"
        )
        if name not in present_log or disabled:
            problems.append(
                f"the audit log's trigger {name} is {'disabled' if disabled else 'missing'}: "
                "rows can be changed or deleted in the database"
            )
    return problems
