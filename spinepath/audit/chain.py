"""The audit log's hash chain, and its check.

Row n's ``hash`` is SHA-256 over row n-1's hash and row n's content (canonical JSON of its
fields, ``seq`` included). Row 1 follows ``GENESIS``. Changing a row's content breaks its own
hash; deleting a row leaves a gap in ``seq`` and a ``prev_hash`` that does not match; a row
inserted by hand needs a ``seq`` and a ``prev_hash`` that fit, and then breaks the row after it.

The chain has no secret: someone who can write to the database can change a row and recompute
every hash after it, or delete the last rows, and the chain is intact again. Both are found by
checking the log against a head (``seq`` and ``hash`` of the last row, printed by
``spinepath audit verify`` and ``spinepath backup``) kept elsewhere:
``spinepath audit verify --expect SEQ:HASH`` fails unless event SEQ still has that hash
(docs/security.md).

The database refuses UPDATE and DELETE on the log through triggers (migration 0006, which
allows one UPDATE only: the sealing of an event written before it was chained);
:func:`reinstall_append_only_triggers` puts exactly those back, e.g. after a restore from a
backup file that had lost them.
"""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
CONTENT_FIELDS = (
    "seq", "at", "user_id", "username", "patient_id", "action", "what", "path", "address",
    "detail",
)  # fmt: skip


def canonical_address(address: str | None) -> str | None:
    """The address as both databases give it back, so that an event's hash, made from this
    text as it is written, is the hash of what is read: an IPv6 zone ("%eth0") is dropped, and
    an IPv6 address that carries an IPv4 one (IPv4-mapped, "::ffff:10.1.2.3", as a dual-stack
    listener reports an IPv4 client; or the old IPv4-compatible "::10.1.2.3") is that IPv4
    address, which PostgreSQL would otherwise print in its own way."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if int(ip) >> 32 == 0 and int(ip) > 1:
            return str(ipaddress.IPv4Address(int(ip)))
    return ip.compressed


def _at(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    content = {name: row.get(name) for name in CONTENT_FIELDS}
    content["at"] = _at(content["at"])
    content["detail"] = content["detail"] or {}
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    intact: bool
    rows: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    bad_id: int | None = None
    problem: str = ""
    # One message per expected event (``--expect SEQ:HASH``) the log does not hold.
    unmet: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """The chain is intact and holds every expected event."""
        return self.intact and not self.unmet


HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


def parse_expectation(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as ``42:3f9a...``, or ``#42:3f9a...``) as (seq, hash); ValueError if not."""
    seq_text, colon, digest = text.strip().partition(":")
    seq_text, digest = seq_text.strip().removeprefix("#"), digest.strip().lower()
    if not colon or not re.fullmatch(r"[0-9]+", seq_text) or int(seq_text) < 1:
        raise ValueError(f"expected SEQ:HASH with SEQ an event number from 1 on, got {text!r}")
    if not HASH_PATTERN.fullmatch(digest):
        raise ValueError(
            f"expected SEQ:HASH with HASH the event's 64 hexadecimal digits, got {text!r}"
        )
    return int(seq_text), digest


def _unmet(
    expect: Sequence[tuple[int, str]], seen: Mapping[int, str], head_seq: int, intact: bool
) -> tuple[str, ...]:
    messages = []
    for seq, digest in expect:
        if seq in seen:
            if seen[seq] != digest:
                messages.append(
                    f"event #{seq} has the hash {seen[seq]}, not the expected {digest}: the log "
                    f"was rewritten at or before event #{seq} (hashes recomputed after an edit), "
                    "or it is not the log that head came from"
                )
        elif intact:
            messages.append(
                f"event #{seq} (expected hash {digest}) is not in the log, which ends at "
                f"#{head_seq}: events were removed from its end"
            )
        else:
            messages.append(
                f"event #{seq} (expected hash {digest}) was not checked: the chain breaks before it"
            )
    return tuple(messages)


def _problem(row: Mapping[str, Any], prev_hash: str, expected_seq: int, last_id: int) -> str:
    if row["seq"] != expected_seq:
        return f"sequence number {row['seq']} where {expected_seq} was expected: rows are missing"
    if row["prev_hash"] != prev_hash:
        return (
            "its link to the row before does not match: a row before it was removed or "
            "replaced, or it was inserted"
        )
    if row["id"] <= last_id:
        return "it was inserted out of order (its id is lower than the row before)"
    if row_hash(prev_hash, row) != row["hash"]:
        return "its content does not match its hash: it was changed"
    return ""


def verify(rows: Iterable[Mapping[str, Any]], expect: Sequence[tuple[int, str]] = ()) -> Verdict:
    """Check rows in ``seq`` order (each a mapping with the content fields, ``id``,
    ``prev_hash`` and ``hash``); the first bad row is named. ``expect``: (seq, hash) pairs,
    heads kept from earlier, that the log must still hold (``Verdict.unmet`` names each one
    it does not)."""
    wanted = {seq for seq, _ in expect}
    seen: dict[int, str] = {}
    prev_hash, expected_seq, last_id, count = GENESIS, 1, 0, 0
    for row in rows:
        count += 1
        problem = _problem(row, prev_hash, expected_seq, last_id)
        if problem:
            unmet = _unmet(expect, seen, expected_seq - 1, intact=False)
            return Verdict(
                False, count, row["seq"], row["hash"], row["seq"], row["id"], problem, unmet
            )
        if row["seq"] in wanted:
            seen[row["seq"]] = row["hash"]
        prev_hash, expected_seq, last_id = row["hash"], row["seq"] + 1, row["id"]
    return Verdict(
        True, count, expected_seq - 1, prev_hash, unmet=_unmet(expect, seen, expected_seq - 1, True)
    )


def verify_database(expect: Sequence[tuple[int, str]] = (), *, seal: bool = True) -> Verdict:
    """Check the whole audit log in the database (Django must be set up), after chaining
    every event not chained yet (``seal``), so that the check covers every event committed."""
    from spinepath.audit.models import AuditEvent

    if seal:
        from spinepath.audit.sealer import seal_now

        try:
            seal_now()
        except Exception as error:  # a row the application cannot read, a lost connection
            try:
                waiting = f"{AuditEvent.objects.filter(seq__isnull=True).count()} events"
            except Exception:
                waiting = "the events"
            return Verdict(
                False,
                0,
                0,
                GENESIS,
                problem=f"{waiting} written but not chained could not be chained: "
                f"{_first_line(error)}",
            )
    fields = ("id", *CONTENT_FIELDS, "prev_hash", "hash")
    rows = (
        AuditEvent.objects.filter(seq__isnull=False)
        .order_by("seq")
        .values(*fields)
        .iterator(chunk_size=5000)
    )
    read = _Reading(rows)
    try:
        return verify(read, expect)
    except Exception as error:
        return Verdict(
            False,
            read.count,
            read.last_seq,
            GENESIS,
            problem=f"the event after #{read.last_seq} could not be read: {_first_line(error)}",
        )


class _Reading:
    """The rows as they are read, remembering the last one read whole."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows, self.count, self.last_seq = iter(rows), 0, 0

    def __iter__(self) -> _Reading:
        return self

    def __next__(self) -> Mapping[str, Any]:
        row = next(self.rows)
        self.count, self.last_seq = self.count + 1, row["seq"]
        return row


def _first_line(error: BaseException) -> str:
    said = str(error).strip().splitlines()
    return said[0] if said else type(error).__name__


# --- The append-only triggers ------------------------------------------------------------------

AUDIT_TABLE = "audit_auditevent"
# The migration that puts the triggers on the audit table; its forward and backward functions
# are the only definition of their SQL.
_TRIGGER_MIGRATION = "spinepath.audit.migrations.0006_only_the_sealing_updates"
APPEND_ONLY_TRIGGERS = (f"{AUDIT_TABLE}_never_updated", f"{AUDIT_TABLE}_never_deleted")


@dataclass(frozen=True)
class TriggerRepair:
    """What :func:`reinstall_append_only_triggers` found on the audit table."""

    missing: tuple[str, ...] = ()  # refuse-UPDATE / refuse-DELETE triggers that were not there
    altered: tuple[str, ...] = ()  # there, but not as the migration makes them (or disabled)
    removed: tuple[str, ...] = ()  # other triggers on the audit table, dropped
    present: tuple[str, ...] = field(default=APPEND_ONLY_TRIGGERS)

    @property
    def repaired(self) -> bool:
        return bool(self.missing or self.altered or self.removed)

    def describe(self) -> str:
        if not self.repaired:
            return (
                "the audit log's append-only triggers are in place "
                f"({', '.join(self.present)}: UPDATE and DELETE are refused)"
            )
        found = []
        if self.missing:
            found.append(f"missing: {', '.join(self.missing)}")
        if self.altered:
            found.append(f"changed or disabled: {', '.join(self.altered)}")
        if self.removed:
            found.append(f"not spinepath's, removed: {', '.join(self.removed)}")
        return (
            f"the audit log's append-only triggers were not as migration 0006 makes them "
            f"({'; '.join(found)}); recreated them, so UPDATE and DELETE are refused again"
        )


class _Statements:
    """What the migration's trigger functions need of a schema editor: run a statement."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Any = None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)


def append_only_triggers(connection: Any = None) -> dict[str, tuple[Any, ...]]:
    """Every trigger on the audit table, by name: its definition as the database keeps it
    (and, on PostgreSQL, whether it is enabled and its function's definition)."""
    from django.db import connection as default

    connection = connection or default
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [AUDIT_TABLE],
            )
        else:
            cursor.execute(
                "SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled, "
                "pg_get_functiondef(t.tgfoid) FROM pg_trigger t "
                "WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal",
                [AUDIT_TABLE],
            )
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def reinstall_append_only_triggers(connection: Any = None) -> TriggerRepair:
    """Put the refuse-UPDATE and refuse-DELETE triggers on the audit table exactly as migration
    0006 makes them (with its own functions), dropping any other trigger on the table, in one
    transaction; report what was missing, different or foreign before."""
    from django.db import connection as default
    from django.db import transaction

    connection = connection or default
    migration = importlib.import_module(_TRIGGER_MIGRATION)
    statements = _Statements(connection)
    before = append_only_triggers(connection)
    foreign = tuple(sorted(name for name in before if name not in APPEND_ONLY_TRIGGERS))
    with transaction.atomic(using=connection.alias):
        for name in foreign:
            quoted = connection.ops.quote_name(name)
            on_table = "" if connection.vendor == "sqlite" else f" ON {AUDIT_TABLE}"
            statements.execute(f"DROP TRIGGER IF EXISTS {quoted}{on_table}")
        migration.backward(None, statements)
        migration.forward(None, statements)
    after = append_only_triggers(connection)
    missing = tuple(name for name in APPEND_ONLY_TRIGGERS if name not in before)
    altered = tuple(
        name for name in APPEND_ONLY_TRIGGERS if name in before and before[name] != after[name]
    )
    return TriggerRepair(missing, altered, foreign, tuple(name for name in after))
