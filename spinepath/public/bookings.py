"""Bookings: consultations and injection sessions on the clinic's calendar, the patient's
requests to move or cancel, and the calendar files.

Booking is the one place a clinician's or a room's time is taken: the overlap check runs in a
transaction that first locks the clinician and the room (PostgreSQL), or holds SQLite's write
lock from the start (IMMEDIATE transactions), so two simultaneous bookings cannot both pass.

Staff bookings need the ``booking`` fact of the authority table; a patient asks to move or
cancel only their own appointment.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from icalendar import Calendar, Event

from spinepath.accounts.models import StaffAccount
from spinepath.accounts.roles import is_clinician
from spinepath.actions import action, after_commit
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAllowed, NotAvailable
from spinepath.pathway.portal import (
    SESSION_MINUTES_RANGE,
    InjectionSession,
    session_booking_problem,
)
from spinepath.plans.models import CarePlan
from spinepath.plans.pricing import require_bookable
from spinepath.plans.selectors import plan_sessions
from spinepath.public.models import (
    Appointment,
    ChangeRequest,
    ConsultationRequest,
    Room,
)

MIN_MINUTES, MAX_MINUTES = 60, 90  # the consultation takes 60-90 minutes (PATHWAY.md s.2)


def working_hours() -> tuple[time, time, set[int]]:
    start, end = settings.SPINEPATH_WORKING_HOURS
    return time.fromisoformat(start), time.fromisoformat(end), set(settings.SPINEPATH_WORKING_DAYS)


def _slot_refused(field: str, message: str) -> Invalid:
    return Invalid(message, fields={field: message})


def _check_slot(start: datetime, minutes: int, kind: str = Appointment.CONSULTATION) -> datetime:
    low, high = (
        (MIN_MINUTES, MAX_MINUTES) if kind == Appointment.CONSULTATION else SESSION_MINUTES_RANGE
    )
    if not low <= minutes <= high:
        what = "A consultation" if kind == Appointment.CONSULTATION else "An injection session"
        raise _slot_refused("minutes", f"{what} takes {low}-{high} minutes.")
    local = timezone.localtime(start)
    end = local + timedelta(minutes=minutes)
    opens, closes, days = working_hours()
    if local.isoweekday() not in days:
        raise _slot_refused("start", "The clinic is closed that day.")
    if local.time() < opens or end.time() > closes or end.date() != local.date():
        raise _slot_refused(
            "start",
            f"Appointments are booked inside working hours, {opens:%H:%M}-{closes:%H:%M}.",
        )
    if start < timezone.now():
        raise _slot_refused("start", "That time has passed.")
    return end


def _lock_and_check(
    clinician: User, room: Room, start: datetime, end: datetime, exclude: int | None = None
) -> None:
    # Lock the two resources being booked: concurrent bookings of either wait here.
    User.objects.select_for_update().filter(pk=clinician.pk).first()
    Room.objects.select_for_update().filter(pk=room.pk).first()
    overlapping = Appointment.objects.filter(
        status=Appointment.BOOKED, start__lt=end, end__gt=start
    ).filter(Q(clinician=clinician) | Q(room=room))
    if exclude is not None:
        overlapping = overlapping.exclude(pk=exclude)
    clash = overlapping.select_related("room").first()
    if clash is not None:
        who = "The clinician" if clash.clinician_id == clinician.pk else f"Room {clash.room}"
        message = (
            f"{who} is already booked {timezone.localtime(clash.start):%H:%M}-"
            f"{timezone.localtime(clash.end):%H:%M} that day."
        )
        raise Conflict(message, fields={"start": message}, code="double_booked")


def bookable_clinician(user: User) -> bool:
    """A clinician who sees patients: active, and a person (not a name on records only, such as
    the synthetic cohort's clinicians)."""
    return bool(
        is_clinician(user)
        and user.is_active
        and not StaffAccount.objects.filter(user=user, record_only=True).exists()
    )


def _choose_a_clinician() -> Invalid:
    return Invalid("Choose a clinician.", fields={"clinician": "Choose a clinician."})


@action("booking")
def appointment_book(
    *,
    actor: Actor,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    patient_name: str,
    email: str = "",
    consultation_request: ConsultationRequest | None = None,
) -> Appointment:
    """A consultation in a clinician's and a room's free time (the confirmation, with its
    calendar file, leaves once booked); the request it answers is marked booked."""
    if not bookable_clinician(clinician):
        raise _choose_a_clinician()
    end = _check_slot(start, minutes)
    _lock_and_check(clinician, room, start, end)
    appointment = Appointment.objects.create(
        clinician=clinician,
        room=room,
        start=start,
        end=end,
        patient_name=patient_name,
        email=email,
        request=consultation_request,
        uid=f"{uuid.uuid4()}@spinepath",
        booked_by=actor.user,
    )
    if consultation_request is not None:
        # Saved, not a bulk update: the booking's audit event holds the request's new status.
        consultation_request.status = ConsultationRequest.BOOKED
        consultation_request.save(update_fields=["status"])
    _notify(appointment, "confirmed")
    return appointment


@action("booking")
def session_book(
    *,
    actor: Actor,
    plan_id: int,
    session_key: str,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
) -> Appointment:
    """An injection session of an accepted plan, as an appointment: the written plan accepted
    first, the decision it rests on still in force, each session booked once, no clinician or
    room booked twice."""
    plan = CarePlan.objects.select_for_update().select_related("patient").filter(pk=plan_id).first()
    if plan is None:
        raise NotAvailable("There is no such plan.")
    sessions = {state.session.key: state for state in plan_sessions(plan)}
    state = sessions.get(session_key)
    problem = session_booking_problem(
        plan_accepted=plan.status == CarePlan.ACCEPTED,
        session_found=state is not None,
        booked=state is not None and state.appointment is not None,
        done=state is not None and state.done,
    )
    if problem is not None or state is None:
        raise Conflict(problem or "This plan has no such injection session.")
    require_bookable(plan)
    if not bookable_clinician(clinician):
        raise _choose_a_clinician()
    end = _check_slot(start, minutes, Appointment.INJECTION)
    _lock_and_check(clinician, room, start, end)
    patient = plan.patient
    try:
        with transaction.atomic():
            appointment = _session_create(
                plan, state.session, clinician, room, start, end, actor.user
            )
    except IntegrityError as clash:  # booked by a parallel request a moment ago
        raise Conflict(
            "This injection session is already booked: move the booking instead."
        ) from clash
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"injection session {state.session.number} of plan v{plan.version} booked",
        patient=patient,
    )
    _notify(appointment, "confirmed")
    return appointment


def _fits(text: str, field: models.Field) -> str:  # type: ignore[type-arg]
    """``text`` cut to the column's length (a session of many lines has a long label, which
    PostgreSQL would refuse; SQLite would keep it whole), ending with an ellipsis."""
    limit = int(field.max_length or len(text))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _session_create(
    plan: CarePlan,
    session: InjectionSession,
    clinician: User,
    room: Room,
    start: datetime,
    end: datetime,
    booked_by: User | None,
) -> Appointment:
    patient = plan.patient
    return Appointment.objects.create(
        kind=Appointment.INJECTION,
        clinician=clinician,
        room=room,
        start=start,
        end=end,
        patient=patient,
        patient_name=f"{patient.given_name} {patient.family_name}",
        email=patient.email,
        plan=plan,
        session_key=session.key,
        session_label=_fits(session.label, Appointment._meta.get_field("session_label")),
        uid=f"{uuid.uuid4()}@spinepath",
        booked_by=booked_by,
    )


@action(None)
def change_request_create(
    *, actor: Actor, appointment_id: int, kind: str, message: str
) -> ChangeRequest:
    """A patient asks, on their own pages, to move or cancel one of their own appointments (the
    coordinator acts on it); a second request while one is open is the same request."""
    if actor.channel != "patient" or actor.patient_id is None:
        raise NotAllowed(
            "Only the patient asks to move or cancel an appointment, on their own pages.",
            code="not_patient",
        )
    appointment = (
        Appointment.objects.select_for_update()
        .filter(pk=appointment_id, patient_id=actor.patient_id, status=Appointment.BOOKED)
        .first()
    )
    if appointment is None:
        raise NotAvailable("There is no such appointment.")
    if kind not in dict(ChangeRequest.KINDS):
        refusal = "Choose whether to move or cancel the appointment."
        raise Invalid(refusal, fields={"kind": refusal})
    if appointment.start < timezone.now():
        refusal = "This appointment has already taken place."
        raise Conflict(refusal, fields={"kind": refusal})
    open_request = appointment.change_requests.filter(handled_at__isnull=True).first()
    if open_request is not None:
        return open_request
    request = ChangeRequest.objects.create(
        appointment=appointment, kind=kind, message=message.strip()[:1000]
    )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"asked to {'move' if kind == ChangeRequest.RESCHEDULE else 'cancel'} an appointment",
        patient=actor.patient_id,
    )
    return request


@action("booking")
def change_request_handle(*, actor: Actor, request_id: int) -> ChangeRequest:
    item = ChangeRequest.objects.select_for_update().filter(pk=request_id).first()
    if item is None:
        raise NotAvailable("There is no such request.")
    if item.handled_at is None:
        item.handled_at = timezone.now()
        item.handled_by = actor.user
        item.save(update_fields=["handled_at", "handled_by"])
    return item


@action("booking")
def appointment_reschedule(
    *, actor: Actor, appointment: Appointment, start: datetime, minutes: int
) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.BOOKED:
        raise Conflict("A cancelled appointment cannot be moved; book a new one.")
    end = _check_slot(start, minutes, appointment.kind)
    _lock_and_check(appointment.clinician, appointment.room, start, end, exclude=appointment.pk)
    appointment.start, appointment.end = start, end
    appointment.sequence += 1
    appointment.save()
    _notify(appointment, "moved")
    return appointment


@action("booking")
def appointment_cancel(*, actor: Actor, appointment: Appointment) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status == Appointment.CANCELLED:
        return appointment
    appointment.status = Appointment.CANCELLED
    appointment.sequence += 1
    appointment.save()
    _notify(appointment, "cancelled")
    return appointment


def appointment_ics(appointment: Appointment, *, download: bool = False) -> bytes:
    """The appointment as iCalendar: an invitation (REQUEST, CANCEL) in the emails, a plain
    calendar entry (PUBLISH) for the patient's download."""
    calendar = Calendar()
    calendar.add("prodid", "-//spinepath//appointments//EN")
    calendar.add("version", "2.0")
    cancelled = appointment.status == Appointment.CANCELLED
    calendar.add("method", "PUBLISH" if download else "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    # In UTC: every calendar reads it without a time-zone definition.
    event.add("dtstart", appointment.start.astimezone(UTC))
    event.add("dtend", appointment.end.astimezone(UTC))
    what = (
        "Spine consultation"
        if appointment.kind == Appointment.CONSULTATION
        else ("Injection session")
    )
    event.add("summary", f"{what} - {settings.SPINEPATH_CLINIC_NAME}")
    event.add("location", f"{settings.SPINEPATH_CLINIC_NAME}, {appointment.room.name}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def _notify(appointment: Appointment, what: str) -> None:
    if not appointment.email:
        return
    local = timezone.localtime(appointment.start)
    when = f"{local:%A %d %B %Y at %H:%M}"
    if appointment.kind == Appointment.INJECTION:
        noun = "injection session"
        booked = (
            f"Your injection session is booked for {when}, in {appointment.room.name}. Plan to "
            "stay about an hour and to have someone drive you home. Keep taking your usual "
            "medicines unless the clinic told you otherwise; call us if you take blood thinners "
            "or feel unwell in the days before."
        )
    else:
        noun = "consultation"
        booked = (
            f"Your consultation is booked for {when}. It takes 60 to 90 minutes. Please bring "
            "your MRI images or report and a list of your medicines."
        )
    lines = {
        "confirmed": booked,
        "moved": f"Your {noun} has been moved to {when}.",
        "cancelled": f"Your {noun} on {when} has been cancelled. We will contact you to find a "
        "new time.",
    }
    message = EmailMessage(
        subject=f"{noun.capitalize()} {what} - {settings.SPINEPATH_CLINIC_NAME}",
        body=f"Hello {appointment.patient_name.split()[0]},\n\n{lines[what]}\n\n"
        f"{settings.SPINEPATH_CLINIC_NAME}\n",
        to=[appointment.email],
    )
    message.attach(f"{appointment.kind}.ics", appointment_ics(appointment), "text/calendar")
    # Once the booking is committed: a mail failure (logged) never undoes it, and a
    # rolled-back write sends nothing.
    after_commit(message.send)
