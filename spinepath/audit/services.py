"""Writing the audit log: one row at a time, each chained to the one before."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from spinepath.actions import Scope, current_scope
from spinepath.actors import SYSTEM, Actor
from spinepath.audit.chain import CONTENT_FIELDS, GENESIS, canonical_address, row_hash
from spinepath.audit.context import current_command, current_request
from spinepath.audit.models import AuditEvent
from spinepath.web.clients import redact

log = logging.getLogger("spinepath.audit")

__all__ = [
    "SYSTEM",
    "ambient_actor",
    "audit_many",
    "audit_now",
    "audit_record",
    "finish_write",
    "seal_pending",
]


def audit_record(
    *,
    actor: Actor,
    action: str,
    what: str,
    patient: Any = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Say what ``actor`` did. Inside a write (:func:`spinepath.actions.action`) it becomes part
    of that write's one event, written at its end; anywhere else (a page opened, a sign-in) it
    is written at once."""
    said = {"action": action, "what": what, "patient": _patient_id(patient), "detail": detail}
    scope = current_scope()
    if scope is not None:
        scope.said.append({**said, "depth": scope.depth})
        return
    audit_now(actor=actor, **said)


def audit_now(
    *,
    actor: Actor,
    action: str,
    what: str,
    patient: Any = None,
    detail: dict[str, Any] | None = None,
    marks_page: bool = True,
) -> AuditEvent:
    """Append one event, inside the caller's transaction, so it is written if and only if what
    it records is. Chained at once where the transaction holds the chain's lock (every write:
    the database's write lock on SQLite, an advisory lock taken at BEGIN on PostgreSQL); a page
    view's event on PostgreSQL, written in a transaction of its own, is chained by the sealer
    within a second (spinepath/audit/sealer.py)."""
    request = current_request()
    if request is not None and marks_page:
        request._spinepath_audited = True  # the page's own event is this one
    if actor.detail:
        detail = {**(detail or {}), **actor.detail}
    row = _row(actor, action=action, what=what, patient=patient, detail=detail)
    with _chain_transaction() as chained:
        head = _sealed_head() if chained else None
        if head is None:
            row.update(prev_hash="", hash="")
        else:
            seq, prev = head
            row["seq"] = seq + 1
            row.update(prev_hash=prev, hash=row_hash(prev, row))
        return AuditEvent(id=_insert(row), **row)


def audit_many(*, actor: Actor, events: list[dict[str, Any]]) -> None:
    """Append several events at once, chained in the order given (each a dict of ``action``,
    ``what``, ``patient``): for a batch write that records one event per patient it touched.
    Inside the caller's transaction, as :func:`audit_now`."""
    if not events:
        return
    extra = actor.detail or {}
    now = timezone.now()
    rows = [
        _row(
            actor,
            action=event["action"],
            what=event["what"],
            patient=event.get("patient"),
            detail={**(event.get("detail") or {}), **extra},
            at=now,
        )
        for event in events
    ]
    with _chain_transaction() as chained:
        head = _sealed_head() if chained else None
        if head is None:
            AuditEvent.objects.bulk_create(
                [AuditEvent(**row, prev_hash="", hash="") for row in rows], batch_size=500
            )
            return
        seq, prev = head
        made = []
        for row in rows:
            seq += 1
            row["seq"] = seq
            digest = row_hash(prev, row)
            made.append(AuditEvent(**row, prev_hash=prev, hash=digest))
            prev = digest
        AuditEvent.objects.bulk_create(made, batch_size=500)


def _row(
    actor: Actor,
    *,
    action: str,
    what: str,
    patient: Any,
    detail: dict[str, Any] | None,
    at: Any = None,
) -> dict[str, Any]:
    return {
        "seq": None,
        "at": at or timezone.now(),
        "user_id": actor.user_id,
        "username": actor.username[:150],
        "patient_id": _patient_id(patient),
        "action": action,
        "what": what[:200],
        "path": redact(actor.path)[:300],
        "address": canonical_address(actor.address),
        "detail": _plain(detail or {}),
    }


@contextmanager
def _chain_transaction() -> Iterator[bool]:
    """The transaction an event is written in, and whether it holds the chain's lock: always
    inside a transaction already begun, and always on SQLite; not in a transaction of the
    event's own on PostgreSQL, which takes the lock shared, so that page views are recorded
    side by side (spinepath/audit/backends/postgresql)."""
    connection = transaction.get_connection()
    alone = not connection.in_atomic_block and connection.vendor == "postgresql"
    if alone:
        connection.audit_lock_shared_once = True
    try:
        with transaction.atomic():
            yield holds_chain_lock(connection)
    finally:
        connection.audit_lock_shared_once = False


def holds_chain_lock(connection: Any) -> bool:
    """Whether the connection's transaction holds the chain's lock exclusively: no other
    transaction that writes an event runs beside it, and every event written before it began
    is committed, so events can be chained in id order."""
    return connection.vendor != "postgresql" or getattr(connection, "audit_lock", "") == "exclusive"


# The statements of every audited request, in SQL of their own: through the ORM they were
# about 1 ms of CPU a request, most of it compiling the same three queries (issue 29).
_TABLE = AuditEvent._meta.db_table
_COLUMNS = (*CONTENT_FIELDS, "prev_hash", "hash")
_HEAD_SQL = (
    f"SELECT seq, hash, EXISTS (SELECT 1 FROM {_TABLE} WHERE seq IS NULL) FROM {_TABLE} "
    "WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
)
_ANY_UNSEALED_SQL = f"SELECT 1 FROM {_TABLE} WHERE seq IS NULL LIMIT 1"


def _insert(row: dict[str, Any]) -> int:
    """Write one event's row (the content fields, ``prev_hash`` and ``hash``); its id."""
    connection = transaction.get_connection()
    fields = _insert_fields()
    values = [fields[name].get_db_prep_save(row[name], connection) for name in _COLUMNS]
    columns = ", ".join(fields[name].column for name in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} ({columns}) VALUES ({marks}) RETURNING id",
            values,
        )
        return int(cursor.fetchone()[0])


@functools.cache
def _insert_fields() -> dict[str, Any]:
    return {name: AuditEvent._meta.get_field(name) for name in _COLUMNS}


def _sealed_head() -> tuple[int, str] | None:
    """The last chained event's (seq, hash), after chaining those left unsealed (page views'
    on PostgreSQL), for a transaction that holds the chain's lock exclusively. None when more
    than ``INLINE_SEALING`` were left (a sealer stopped a while): the write then leaves its own
    events unsealed too, after them, rather than hold every other request up while it chains
    them all; the sealer chains them, a batch at a time."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        found = cursor.fetchone()
        if found is not None and not found[2]:
            return int(found[0]), str(found[1])
        if found is None:
            cursor.execute(_ANY_UNSEALED_SQL)
            if cursor.fetchone() is None:
                return 0, GENESIS
    try:
        with transaction.atomic():  # a savepoint: a sealing that fails leaves the write whole
            seal_pending(limit=INLINE_SEALING)
    except Exception:
        # An event the application cannot read (written by hand into the database): the write
        # goes on, its event left unsealed after it; `audit verify` names what stops the chain.
        log.exception("audit events could not be chained; this write's event waits with them")
        return None
    if _unsealed().exists():
        return None
    return chain_head() or (0, GENESIS)


def chain_head() -> tuple[int, str] | None:
    """The last chained event's (seq, hash); None when none is chained yet."""
    last = (
        AuditEvent.objects.filter(seq__isnull=False)
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )
    return (last[0], last[1]) if last else None


def _unsealed() -> Any:
    return AuditEvent.objects.filter(seq__isnull=True)


SEAL_BATCH = 500
INLINE_SEALING = 500


def _seal_rows(connection: Any, table: str, updates: list[tuple[int, int, str, str]]) -> None:
    """One UPDATE for a batch: (id, seq, prev_hash, hash) of each row (the database's triggers
    allow it row by row: spinepath/audit/migrations/0006)."""
    cast = "::bigint" if connection.vendor == "postgresql" else ""
    values = ", ".join([f"(%s{cast}, %s{cast}, %s, %s)"] * len(updates))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, seq, prev_hash, hash) AS (VALUES {values}) "
            f"UPDATE {table} SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
            f"FROM v WHERE {table}.id = v.id",
            [value for update in updates for value in update],
        )


def seal_pending(limit: int | None = None) -> int:
    """Chain the events not chained yet (the oldest ``limit`` of them; all when None), in id
    order, after the last chained one; how many. The caller's transaction holds the chain's
    lock exclusively (:func:`holds_chain_lock`), so no unsealed event with a lower id can still
    appear."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block or not holds_chain_lock(connection):
        raise RuntimeError("events are sealed only under the audit chain's exclusive lock")
    fields = ("id", *CONTENT_FIELDS)
    seq, prev = chain_head() or (0, GENESIS)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sealed = 0
    while limit is None or sealed < limit:
        take = SEAL_BATCH if limit is None else min(SEAL_BATCH, limit - sealed)
        # An unsealed row below the last sealed id (one written by hand) is chained all the
        # same, where verify names it as out of order: the log goes on being written.
        rows = list(_unsealed().order_by("id").values(*fields)[:take])
        updates = []
        for row in rows:
            seq += 1
            row["seq"] = seq
            digest = row_hash(prev, row)
            updates.append((row["id"], seq, prev, digest))
            prev = digest
        if updates:
            _seal_rows(connection, table, updates)
        sealed += len(rows)
        if len(rows) < take:
            break
    return sealed


def finish_write(scope: Scope) -> None:
    """The one event of a write: what it said it did (in order), the patient it names, and the
    before and after values of every record it saved or deleted."""
    if not scope.said and not scope.changes:
        return
    # The outermost write's words first (a write it called said its part before it did).
    said = sorted(scope.said, key=lambda part: part["depth"]) or [
        {"action": scope.changes[0]["action"], "what": c["what"], "patient": c["patient"]}
        for c in scope.changes[:1]
    ]
    detail: dict[str, Any] = {}
    for part in said:
        detail.update(part.get("detail") or {})
    if scope.changes:
        detail["changes"] = [
            {k: v for k, v in change.items() if k != "patient"} for change in scope.changes
        ]
    patients = [p["patient"] for p in said if p["patient"] is not None] + [
        c["patient"] for c in scope.changes if c["patient"] is not None
    ]
    audit_now(
        actor=scope.actor,
        action=said[0]["action"],
        what="; ".join(dict.fromkeys(p["what"] for p in said)),
        patient=patients[0] if patients else None,
        detail=detail or None,
    )


def ambient_actor() -> Actor:
    """Who is acting where no write names them (a record saved in the admin or a shell): the
    request being served, else the command being run, else the clinic's own process."""
    from spinepath.accounts.actors import actor_of

    request = current_request()
    if request is not None:
        return actor_of(request)
    command = current_command()
    if command is not None:
        return Actor.at_command_line(command.command, command.machine_user)
    return Actor.system()


def _patient_id(patient: Any) -> int | None:
    return patient if isinstance(patient, int) else getattr(patient, "pk", None)


def command_line_name(machine_user: str) -> str:
    """How the log names someone acting on the command line without a staff account."""
    return f"(command line: {machine_user})" if machine_user else SYSTEM


def _plain(value: Any) -> Any:
    """Detail as JSON text values only, so it hashes the same after the database stored it."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    return str(value)
