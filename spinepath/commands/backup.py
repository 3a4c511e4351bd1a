"""spinepath backup / spinepath restore: the whole database to one file and back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from spinepath.commands._common import EXIT_INVALID, fail
from spinepath.commands.web import _django


def add_parser(subcommands: Any) -> None:
    backup = subcommands.add_parser(
        "backup",
        help="back up the database to a file",
        description="Write the whole database (patients, consultations, plans, follow-up, "
        "users, the audit log) to FILE, mode 0600. Safe while the server runs. SQLite: "
        "SQLite's online backup API; PostgreSQL: pg_dump's custom format. The secret key "
        "(var/secret_key) is not in it: keep it separately. The backup is recorded in the "
        "audit log (an export event), and the log's head is printed: keep that line "
        "elsewhere, for `spinepath audit verify --expect SEQ:HASH`.",
    )
    backup.add_argument("file", metavar="FILE", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=run_backup)

    restore = subcommands.add_parser(
        "restore",
        help="replace the database with a backup",
        description="Replace every row of the database with the backup in FILE (made by "
        "`spinepath backup` on the same engine). The file is checked first: one that is not a "
        "backup leaves the database untouched. Asks for confirmation unless --yes. Afterwards "
        "the audit log's append-only triggers are put back if the backup lacked them, the "
        "restored log's chain is checked, and the restore is recorded in the audit log with "
        "the log's head before it and the events it dropped. Exit 1 if the restored audit "
        "log is broken (the data is restored all the same).",
    )
    restore.add_argument("file", metavar="FILE", help="the backup file to restore")
    restore.add_argument(
        "--yes", action="store_true", help="do not ask: replace all data without confirmation"
    )
    restore.set_defaults(handler=run_restore)


def _size(size_bytes: int) -> str:
    size = float(size_bytes)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size_bytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def run_backup(args: argparse.Namespace) -> int:
    _django()
    from spinepath.accounts.actors import at_command_line
    from spinepath.backups import BackupError, backup_database

    try:
        summary = backup_database(
            actor=at_command_line(args.command), path=Path(args.file), force=args.force
        )
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return exc.status
    print(
        f"Backed up {summary.engine} {summary.database} to {summary.path}: "
        f"{summary.tables} tables, {summary.rows:,} rows, {_size(summary.size_bytes)}"
    )
    inside = summary.backup_head
    print(
        f"The backup holds {inside.events:,} audit events, up to #{inside.seq}; recorded in the "
        f"audit log as event #{summary.event_seq}."
        if inside
        else f"The backup holds no audit events; recorded in the audit log as event "
        f"#{summary.event_seq}."
    )
    print(_head_line(summary.event_seq, summary.event_hash))
    return 0


def _head_line(seq: int, digest: str) -> str:
    return (
        f"audit log head #{seq} {digest} "
        f"(keep this line; `spinepath audit verify --expect {seq}:{digest}` checks against it)"
    )


def _confirmed(file: str) -> bool | None:
    """The user's answer, or None when there is nobody to ask (stdin is not a terminal)."""
    from spinepath.backups import describe_database

    if not sys.stdin.isatty():
        return None
    try:
        answer = input(
            f"Replace ALL data in the {describe_database()} with the backup {file}? "
            "Type 'yes' to go on: "
        )
    except EOFError:
        return False
    return answer.strip().lower() == "yes"


def run_restore(args: argparse.Namespace) -> int:
    _django()
    from spinepath.accounts.actors import at_command_line
    from spinepath.backups import BackupError, restore_database, verify_backup

    path = Path(args.file)
    try:
        verify_backup(path=path)
        if not args.yes:
            confirmed = _confirmed(args.file)
            if confirmed is None:
                return fail(
                    "restore replaces every row in the database: pass --yes to confirm "
                    "(there is no terminal to ask). Nothing was changed."
                )
            if not confirmed:
                print("Not restored: nothing was changed.", file=sys.stderr)
                return EXIT_INVALID
        summary = restore_database(actor=at_command_line(args.command), path=path)
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return exc.status
    print(
        f"Restored {summary.path} ({_size(summary.size_bytes)}) into {summary.engine} "
        f"{summary.database}: {summary.tables} tables, {summary.rows:,} rows"
    )
    if summary.migrations:
        print(
            f"Applied {len(summary.migrations)} migrations the backup predates: "
            f"{', '.join(summary.migrations)}"
        )
    before, restored = summary.before, summary.restored
    print(
        f"The audit log before the restore: {before.events:,} events, head {before}"
        if before
        else "The audit log before the restore: no events"
    )
    print(
        f"The restored audit log: {restored.events:,} events, head {restored}"
        if restored
        else "The restored audit log: no events"
    )
    if summary.events_lost and before is not None:
        first_lost = restored.seq + 1 if restored else 1
        print(
            f"Events #{first_lost} to #{before.seq} of the log before the restore "
            f"({summary.events_lost:,}) are not in the restored database."
        )
    triggers = summary.triggers
    print(f"{triggers.describe()[0].upper()}{triggers.describe()[1:]}.")
    verdict = summary.verdict
    broken = not verdict.intact
    if broken and verdict.bad_seq is None:
        print(
            f"The restored audit log was NOT CHECKED: {verdict.problem}. The data was restored "
            "all the same.",
            file=sys.stderr,
        )
    elif broken:
        print(
            f"The restored audit log is BROKEN at event #{verdict.bad_seq} (row id "
            f"{verdict.bad_id}): {verdict.problem}. The data was restored all the same.",
            file=sys.stderr,
        )
    else:
        print(f"The restored audit log is intact: {verdict.rows:,} events.")
    print(f"Recorded in the audit log as event #{summary.event_seq}: {summary.facts}.")
    print(_head_line(summary.event_seq, summary.event_hash))
    return 1 if broken else 0
