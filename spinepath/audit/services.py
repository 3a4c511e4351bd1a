"""Writing the audit log: one row at a time, each chained to the one before."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from spinepath.audit.chain import GENESIS, canonical_address, row_hash
from spinepath.audit.context import current_command
from spinepath.audit.models import AuditEvent
from spinepath.web.clients import client_address, redact

SYSTEM = "(system)"


def audit_record(
    *,
    request: HttpRequest | None,
    action: str,
    what: str,
    patient: Any = None,
    user: Any = None,
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    marks_request: bool = True,
) -> AuditEvent:
    """Append one event. Inside the caller's transaction, so it is written if and only if
    what it records is; the transaction holds the chain's lock (the database's write lock on
    SQLite, an advisory lock taken at BEGIN on PostgreSQL), so rows are chained in order."""
    if request is not None:
        if marks_request:
            request._spinepath_audited = True  # type: ignore[attr-defined]
        if user is None and getattr(request, "user", None) is not None:
            user = request.user if request.user.is_authenticated else None
    command = current_command() if request is None else None
    if command is not None:
        # From the command line: the staff account it names (if any) and, always, the machine's
        # account that ran it.
        detail = {
            **(detail or {}),
            "command_line": f"spinepath {command.command}",
            "machine_user": command.machine_user or "(no name)",
        }
        if username is None and user is None:
            username = command_line_name(command.machine_user)
    name = username or getattr(user, "username", "") or SYSTEM
    patient_id = patient if isinstance(patient, int) else getattr(patient, "pk", None)
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        row: dict[str, Any] = {
            "seq": seq,
            "at": timezone.now(),
            "user_id": getattr(user, "pk", None),
            "username": name[:150],
            "patient_id": patient_id,
            "action": action,
            "what": what[:200],
            "path": redact(
                request.get_full_path()
                if request is not None
                else f"(command line) spinepath {command.command}"
                if command is not None
                else ""
            )[:300],
            "address": canonical_address(client_address(request)),
            "detail": _plain(detail or {}),
        }
        event = AuditEvent(**row, prev_hash=prev, hash=row_hash(prev, row))
        AuditEvent.objects.bulk_create([event])
    return event


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
