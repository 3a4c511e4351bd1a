"""Launch contexts: an EHR launch from a chart or a review page (single use, a few minutes),
resolved and spent when the staff member who opened it approves the app."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Invalid, NotAllowed, NotAvailable
from spinepath.fhir_api.models import LaunchContext, SmartApp
from spinepath.patients.models import Patient

# Long enough to open the app and sign in again; the app asks at once in practice.
LAUNCH_MINUTES = 5


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def launchable_apps() -> list[SmartApp]:
    """The apps staff may open from a chart: registered with a launch URL, not revoked."""
    return list(
        SmartApp.objects.filter(revoked_at=None)
        .exclude(launch_url="")
        .exclude(kind=SmartApp.BACKEND)
        .order_by("name")
    )


@action(None)
def launch_create(*, actor: Actor, app: SmartApp, patient: Patient, encounter: Any = None) -> str:
    """An EHR launch of ``app`` for ``patient`` (and the consultation ``encounter``) by a staff
    member: the opaque ``launch`` value the app is sent (kept as its SHA-256 only)."""
    if not actor.is_staff_member or actor.user is None:
        raise NotAllowed("Only clinic staff open an app from a chart.", code="staff_only")
    if app.revoked_at is not None or not app.launch_url or app.kind == SmartApp.BACKEND:
        raise NotAvailable(f"{app.name} is not an app staff open from a chart.")
    if encounter is not None and encounter.patient_id != patient.pk:
        raise Invalid("encounter: that consultation is another patient's")
    value = secrets.token_urlsafe(24)
    LaunchContext.objects.create(
        app=app,
        user=actor.user,
        patient=patient,
        encounter=encounter,
        launch_hash=_hash(value),
        expires_at=timezone.now() + timedelta(minutes=LAUNCH_MINUTES),
    )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"SMART app {app.name} opened from the chart",
        patient=patient,
        detail={"encounter": str(encounter.pk)} if encounter is not None else None,
    )
    return value


def launch_problem(value: str, app: SmartApp, user: Any) -> tuple[LaunchContext | None, str]:
    """(the launch context ``value`` names, "") or (None, why not: unknown, another app's,
    another staff member's, used or expired)."""
    if not value or len(value) > 100:
        return None, "launch: open the app again from the chart (no launch value)"
    context = (
        LaunchContext.objects.select_related("patient", "encounter", "app")
        .filter(launch_hash=_hash(value))
        .first()
    )
    if context is None or context.app_id != app.pk:
        return None, "launch: this launch is not one of this app's; open it again from the chart"
    if context.user_id != getattr(user, "pk", None):
        return None, "launch: another staff member opened this app; open it from your own chart"
    if context.used_at is not None:
        return None, "launch: this launch was used already; open the app again from the chart"
    if context.expires_at is None or context.expires_at <= timezone.now():
        return None, "launch: this launch has expired; open the app again from the chart"
    return context, ""


def launch_spend(context: LaunchContext) -> bool:
    """Mark the launch used; False if it was used meanwhile (one approval per launch)."""
    return bool(
        LaunchContext.objects.filter(pk=context.pk, used_at=None).update(used_at=timezone.now())
    )
