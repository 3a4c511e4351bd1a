"""A staff member's answer to an app asking for access: approved (the launch spent, or a new
launch context for the patient chosen) or denied. Each is an audit event naming the app, the
staff member, the patient and the scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.errors import Conflict, NotAllowed
from spinepath.fhir_api.models import LaunchContext, SmartApp
from spinepath.fhir_api.smart.grants import grant_recorded
from spinepath.fhir_api.smart.launch import launch_spend


@dataclass(frozen=True)
class Pending:
    """An authorization request waiting for the answer: the app, the scopes it asks, and the
    patient and consultation it is for (from an EHR launch, or chosen at a standalone one)."""

    app: SmartApp
    scopes: tuple[str, ...]
    patient: Any = None
    encounter: Any = None
    launch: LaunchContext | None = None


def _staff(actor: Actor) -> None:
    if not actor.is_staff_member or actor.user is None:
        raise NotAllowed("Only clinic staff authorize an app.", code="staff_only")


@action(None)
def authorization_approve(*, actor: Actor, pending: Pending) -> LaunchContext:
    """The launch context the grant will carry: the EHR launch's, now spent (once), or a new
    one for the patient chosen (or none)."""
    _staff(actor)
    if pending.launch is not None:
        if not launch_spend(pending.launch):
            raise Conflict("launch: this launch was used already; open the app again")
        context = pending.launch
    else:
        context = LaunchContext.objects.create(
            app=pending.app, user=actor.user, patient=pending.patient, encounter=pending.encounter
        )
    grant_recorded(
        app=pending.app,
        user=actor.user,
        action=AuditEvent.CREATE,
        what=f"authorized by {actor.username}",
        patient=pending.patient,
        scope=" ".join(pending.scopes),
        actor=actor,
    )
    return context


@action(None)
def authorization_deny(*, actor: Actor, pending: Pending) -> None:
    _staff(actor)
    grant_recorded(
        app=pending.app,
        user=actor.user,
        action=AuditEvent.REFUSED,
        what=f"access denied by {actor.username}",
        patient=pending.patient,
        scope=" ".join(pending.scopes),
        actor=actor,
    )
