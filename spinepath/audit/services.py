from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from spinepath.audit.models import AuditEvent


def audit_record(
    *, request: HttpRequest | None, action: str, what: str, patient: Any = None, user: Any = None
) -> AuditEvent:
    if request is not None:
        user = user or (request.user if request.user.is_authenticated else None)
    return AuditEvent.objects.create(
        user=user,
        username=getattr(user, "username", "") or "(system)",
        patient=patient,
        action=action,
        what=what[:200],
        path=(request.get_full_path() if request is not None else "")[:300],
        address=request.META.get("REMOTE_ADDR") if request is not None else None,
    )
