"""What the bookings do when the plans app announces a change (spinepath.plans.events).

The appointment is the side that links a plan's session and the injection done in it: the
plans app never reads or writes appointments' rows itself.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from spinepath.pathway.plans import Target
from spinepath.plans.events import injection_recorded, plan_accepted
from spinepath.plans.models import CarePlan, Procedure
from spinepath.plans.selectors import plan_sessions
from spinepath.public.models import Appointment


def link_injection_to_its_session(sender: Any, *, procedure: Procedure, **_: Any) -> None:
    """The booked injection session this procedure was done in: the plan's session, on the
    same day, that holds a line at this target (none when it was not booked)."""
    plan = procedure.plan
    target = Target(procedure.generator, procedure.level or None, procedure.side or None)
    lines = {
        line.id: Target(line.generator, line.level or None, line.side or None)
        for line in plan.lines.filter(phase="inject")
    }
    for state in plan_sessions(plan):
        appointment = state.appointment
        if appointment is None or appointment.procedure_id is not None:
            continue
        if timezone.localtime(appointment.start).date() != procedure.performed_on:
            continue
        if any(lines.get(i) == target for i in state.session.line_ids):
            appointment.procedure = procedure  # saved: the write's audit event holds the link
            appointment.save(update_fields=["procedure"])
            return


def move_booked_sessions(
    sender: Any, *, plan: CarePlan, superseded: list[CarePlan], **_: Any
) -> None:
    """A booked injection session moves to the newly accepted version when it holds the same
    session (the same planned day); the others stay with the old version, and the Bookings page
    asks the coordinator to move or cancel them."""
    sessions = {state.session.key: state.session for state in plan_sessions(plan)}
    for booked in Appointment.objects.filter(
        plan__in=superseded, status=Appointment.BOOKED, session_key__in=list(sessions)
    ):
        booked.plan = plan
        booked.session_label = sessions[booked.session_key].label
        booked.save(update_fields=["plan", "session_label"])


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from spinepath.plans.sessions_cache import sessions_changed

    # The sessions still to book change with every booking, move and cancellation.
    post_save.connect(sessions_changed, sender=Appointment, dispatch_uid="sessions-save-appt")
    post_delete.connect(sessions_changed, sender=Appointment, dispatch_uid="sessions-del-appt")
    injection_recorded.connect(link_injection_to_its_session, dispatch_uid="public-link-injection")
    plan_accepted.connect(move_booked_sessions, dispatch_uid="public-move-sessions")
