"""Writing the audit log: one row at a time, each chained to the one before."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from spinepath.actions import Scope, current_scope
from spinepath.actors import SYSTEM, Actor
from spinepath.audit.chain import GENESIS, canonical_address, row_hash
from spinepath.audit.context import current_command, current_request
from spinepath.audit.models import AuditEvent
from spinepath.web.clients import redact

__all__ = ["SYSTEM", "ambient_actor", "audit_many", "audit_now", "audit_record", "finish_write"]


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
    """Append one event. Inside the caller's transaction, so it is written if and only if
    what it records is; the transaction holds the chain's lock (the database's write lock on
    SQLite, an advisory lock taken at BEGIN on PostgreSQL), so rows are chained in order."""
    request = current_request()
    if request is not None and marks_page:
        request._spinepath_audited = True  # the page's own event is this one
    if actor.detail:
        detail = {**(detail or {}), **actor.detail}
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        row: dict[str, Any] = {
            "seq": seq,
            "at": timezone.now(),
            "user_id": actor.user_id,
            "username": actor.username[:150],
            "patient_id": _patient_id(patient),
            "action": action,
            "what": what[:200],
            "path": redact(actor.path)[:300],
            "address": canonical_address(actor.address),
            "detail": _plain(detail or {}),
        }
        event = AuditEvent(**row, prev_hash=prev, hash=row_hash(prev, row))
        AuditEvent.objects.bulk_create([event])
    return event


def audit_many(*, actor: Actor, events: list[dict[str, Any]]) -> None:
    """Append several events at once, chained in the order given (each a dict of ``action``,
    ``what``, ``patient``): for a batch write that records one event per patient it touched.
    Inside the caller's transaction, as :func:`audit_now`."""
    if not events:
        return
    extra = actor.detail or {}
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        now = timezone.now()
        rows = []
        for event in events:
            row: dict[str, Any] = {
                "seq": seq,
                "at": now,
                "user_id": actor.user_id,
                "username": actor.username[:150],
                "patient_id": _patient_id(event.get("patient")),
                "action": event["action"],
                "what": event["what"][:200],
                "path": redact(actor.path)[:300],
                "address": canonical_address(actor.address),
                "detail": _plain({**(event.get("detail") or {}), **extra}),
            }
            digest = row_hash(prev, row)
            rows.append(AuditEvent(**row, prev_hash=prev, hash=digest))
            seq, prev = seq + 1, digest
        AuditEvent.objects.bulk_create(rows, batch_size=500)


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
