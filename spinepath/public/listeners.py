"""What the bookings do when the plans app announces a change (spinepath.plans.events).

The appointment is the side that links a plan's session and the injection done in it: the
plans app never reads or writes appointments' rows itself.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from spinepath.consultations.models import Encounter
from spinepath.pathway.plans import Target
from spinepath.plans.events import injection_recorded, plan_accepted
from spinepath.plans.models import CarePlan, Procedure
from spinepath.plans.selectors import plan_sessions, plan_visits
from spinepath.public.bookings import appointment_held
from spinepath.public.models import Appointment


def link_injection_to_its_session(sender: Any, *, procedure: Procedure, **_: Any) -> None:
    """The recorded injection completes its booked session (PATHWAY.md section 9): the plan's
    session holding a line at this target, booked on the same day, else the booked session
    nearest that day (an injection done earlier or later than booked). The session is done
    once every injection it holds is recorded; a session never booked has nothing to close."""
    plan = procedure.plan
    target = Target(procedure.generator, procedure.level or None, procedure.side or None)
    lines = {
        line.id: Target(line.generator, line.level or None, line.side or None)
        for line in plan.lines.filter(phase="inject")
    }
    holding = [
        state
        for state in plan_sessions(plan)
        if state.appointment is not None
        and state.appointment.status == Appointment.BOOKED
        and any(lines.get(i) == target for i in state.session.line_ids)
    ]
    if not holding:
        return
    day = procedure.performed_on
    state = min(
        holding,
        key=lambda s: (
            abs((timezone.localtime(s.appointment.start).date() - day).days),
            s.appointment.pk,
        ),
    )
    appointment = state.appointment
    # Saved, not bulk-updated: the write's audit event holds the link and the new status.
    if appointment.procedure_id is None:
        appointment.procedure = procedure
    if state.done:
        appointment.status = Appointment.DONE
        appointment.done_at = timezone.now()
    appointment.save(update_fields=["procedure", "status", "done_at"])


def consultation_held(sender: Any, *, instance: Encounter, created: bool, **_: Any) -> None:
    """A consultation started on the day of the patient's booked consultation is the one that
    was booked: the appointment is done and the request it answered is seen."""
    if not created:
        return
    appointment = (
        Appointment.objects.filter(
            patient_id=instance.patient_id,
            kind=Appointment.CONSULTATION,
            status=Appointment.BOOKED,
            encounter__isnull=True,
            start__date=instance.assessed_on,
        )
        .select_related("request")
        .order_by("start")
        .first()
    )
    if appointment is not None:
        appointment_held(appointment, encounter=instance)


def move_booked_sessions(
    sender: Any, *, plan: CarePlan, superseded: list[CarePlan], **_: Any
) -> None:
    """A booked injection session moves to the newly accepted version when it holds the same
    session (the same planned day); the others stay with the old version, and the Bookings page
    asks the coordinator to move or cancel them."""
    sessions = {state.session.key: state.session for state in plan_sessions(plan)}
    for booked in Appointment.objects.filter(
        plan__in=superseded,
        kind=Appointment.INJECTION,
        status=Appointment.BOOKED,
        session_key__in=list(sessions),
    ):
        booked.plan = plan
        booked.session_label = sessions[booked.session_key].label
        booked.save(update_fields=["plan", "session_label"])
    # A booked or held pre-procedure visit stays the patient's when the new version keeps it.
    visits = {visit.key: visit for visit in plan_visits(plan)}
    for visit in Appointment.objects.filter(
        plan__in=superseded,
        kind=Appointment.VISIT,
        status__in=[Appointment.BOOKED, Appointment.DONE],
        session_key__in=list(visits),
    ):
        visit.plan = plan
        visit.session_label = visits[visit.session_key].label
        visit.save(update_fields=["plan", "session_label"])


def connect() -> None:
    from django.db.models.signals import post_save

    injection_recorded.connect(link_injection_to_its_session, dispatch_uid="public-link-injection")
    post_save.connect(consultation_held, sender=Encounter, dispatch_uid="public-consultation-held")
    plan_accepted.connect(move_booked_sessions, dispatch_uid="public-move-sessions")
