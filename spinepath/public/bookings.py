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
from collections.abc import Callable
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
from spinepath.actions import action, after_commit, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import Encounter
from spinepath.errors import Conflict, Invalid, NotAllowed, NotAvailable
from spinepath.pathway.portal import (
    SESSION_MINUTES_RANGE,
    InjectionSession,
    session_booking_problem,
    visit_order_problem,
)
from spinepath.pathway.rooms import room_problem
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan
from spinepath.plans.pricing import require_bookable
from spinepath.plans.selectors import plan_sessions, plan_visits
from spinepath.public.models import (
    Appointment,
    ChangeRequest,
    ConsultationRequest,
    Room,
)
from spinepath.public.requests import (
    booked_consultation,
    request_booked,
    request_consultation_cancelled,
    request_seen,
)

MIN_MINUTES, MAX_MINUTES = 60, 90  # the consultation takes 60-90 minutes (PATHWAY.md s.2)
VISIT_MINUTES_RANGE = (15, 60)  # the pre-procedure visit and consent (docs/pathway.md)


def working_hours() -> tuple[time, time, set[int]]:
    start, end = settings.SPINEPATH_WORKING_HOURS
    return time.fromisoformat(start), time.fromisoformat(end), set(settings.SPINEPATH_WORKING_DAYS)


def _slot_refused(field: str, message: str) -> Invalid:
    return Invalid(message, fields={field: message})


def _check_slot(start: datetime, minutes: int, kind: str = Appointment.CONSULTATION) -> datetime:
    low, high = {
        Appointment.CONSULTATION: (MIN_MINUTES, MAX_MINUTES),
        Appointment.VISIT: VISIT_MINUTES_RANGE,
    }.get(kind, SESSION_MINUTES_RANGE)
    if not low <= minutes <= high:
        what = {
            Appointment.CONSULTATION: "A consultation",
            Appointment.VISIT: "A pre-procedure visit",
        }.get(kind, "An injection session")
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


def _check_visit_order(
    plan: CarePlan | None,
    *,
    visit_end: datetime | None = None,
    session_start: datetime | None = None,
    exclude: int | None = None,
) -> None:
    """The plan's booked pre-procedure visits end before its booked injection sessions start
    (a visit booked or moved, or a session booked or moved)."""
    if plan is None:
        return
    booked = plan.sessions.filter(status=Appointment.BOOKED).exclude(pk=exclude or 0)
    visits = [visit_end] if visit_end else [a.end for a in booked if a.kind == Appointment.VISIT]
    starts = (
        [session_start]
        if session_start
        else [a.start for a in booked if a.kind == Appointment.INJECTION]
    )
    for end in visits:
        problem = visit_order_problem(
            timezone.localtime(end), [timezone.localtime(start) for start in starts]
        )
        if problem is not None:
            raise Conflict(problem, fields={"start": problem})


def _repeat(submission_key: str | None, **same: object) -> Appointment | None:
    """The booking an earlier post of this form made; the form's key reused for another
    booking is refused."""
    if not submission_key:
        return None
    earlier = Appointment.objects.filter(submission_key=submission_key).first()
    if earlier is not None and any(getattr(earlier, k) != v for k, v in same.items()):
        raise Conflict("This form was used for another booking: reload the page.")
    return earlier


def _once(
    submission_key: str | None, same: dict[str, object], book: Callable[[], Appointment]
) -> Appointment:
    """``book()`` once per form: a repeat (a double click, parallel posts that lost the race)
    answers with the booking the first one made."""
    earlier = _repeat(submission_key, **same)
    if earlier is not None:
        return earlier
    try:
        return book()
    except Conflict:
        earlier = _repeat(submission_key, **same)
        if earlier is not None:
            return earlier
        raise


def _room_fits(room: Room, kind: str, guidances: tuple[str, ...] = ()) -> None:
    problem = room_problem(kind, guidances, room.kind)
    if problem is not None:
        raise Invalid(problem, fields={"room": problem})


@action("booking")
def appointment_book(
    *,
    actor: Actor,
    patient: Patient,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    consultation_request: ConsultationRequest | None = None,
    submission_key: str | None = None,
) -> Appointment:
    """A consultation of ``patient`` (see :func:`_appointment_book`).

    Once per ``submission_key``: a repeat of the same form (a double click, parallel posts)
    answers with the booking the first one made."""
    return _once(
        submission_key,
        {"patient_id": patient.pk},
        lambda: _appointment_book(
            actor=actor,
            patient=patient,
            clinician=clinician,
            room=room,
            start=start,
            minutes=minutes,
            consultation_request=consultation_request,
            submission_key=submission_key,
        ),
    )


def _appointment_book(
    *,
    actor: Actor,
    patient: Patient,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    consultation_request: ConsultationRequest | None = None,
    submission_key: str | None = None,
) -> Appointment:
    """A consultation of ``patient`` in a clinician's and a consultation room's free time: on
    the chart, on the patient's own pages and on the clinician's day (the confirmation, with
    its calendar file, leaves once booked). The request it answers, which must be this
    patient's, is booked, once: a second booking for it is refused."""
    if not bookable_clinician(clinician):
        raise _choose_a_clinician()
    _room_fits(room, Appointment.CONSULTATION)
    if consultation_request is not None:
        consultation_request = ConsultationRequest.objects.select_for_update().get(
            pk=consultation_request.pk
        )
        if consultation_request.patient_id != patient.pk:
            raise Conflict(
                "Link the request to this patient's chart before booking its consultation."
            )
        earlier = booked_consultation(consultation_request)
        if earlier is not None:
            when = f"{timezone.localtime(earlier.start):%d %b %Y %H:%M}"
            refusal = f"This request's consultation is already booked, {when}: move it instead."
            raise Conflict(refusal, fields={"start": refusal}, code="already_booked")
        if consultation_request.status == ConsultationRequest.DECLINED:
            raise Conflict("This request was declined: take it back before booking.")
    end = _check_slot(start, minutes)
    _lock_and_check(clinician, room, start, end)
    appointment = Appointment.objects.create(
        clinician=clinician,
        room=room,
        start=start,
        end=end,
        patient=patient,
        patient_name=f"{patient.given_name} {patient.family_name}",
        email=patient.email,
        request=consultation_request,
        uid=f"{uuid.uuid4()}@spinepath",
        booked_by=actor.user,
        submission_key=submission_key,
    )
    if consultation_request is not None:
        request_booked(consultation_request)
    _notify(appointment, "confirmed")
    return appointment


def _session_guidances(plan: CarePlan, line_ids: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(
        g for g in plan.lines.filter(pk__in=line_ids).values_list("guidance", flat=True) if g
    )


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
    submission_key: str | None = None,
) -> Appointment:
    """An injection session of an accepted plan (see :func:`_session_book`).

    Once per ``submission_key``: a repeat of the same form (a double click, parallel posts)
    answers with the booking the first one made."""
    return _once(
        submission_key,
        {"plan_id": plan_id, "session_key": session_key},
        lambda: _session_book(
            actor=actor,
            plan_id=plan_id,
            session_key=session_key,
            clinician=clinician,
            room=room,
            start=start,
            minutes=minutes,
            submission_key=submission_key,
        ),
    )


def _session_book(
    *,
    actor: Actor,
    plan_id: int,
    session_key: str,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    submission_key: str | None = None,
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
        booked=state is not None
        and state.appointment is not None
        and state.appointment.status == Appointment.BOOKED,
        done=state is not None and state.done,
    )
    if problem is not None or state is None:
        raise Conflict(problem or "This plan has no such injection session.")
    require_bookable(plan)
    if not bookable_clinician(clinician):
        raise _choose_a_clinician()
    _room_fits(room, Appointment.INJECTION, _session_guidances(plan, state.session.line_ids))
    end = _check_slot(start, minutes, Appointment.INJECTION)
    _lock_and_check(clinician, room, start, end)
    _check_visit_order(plan, session_start=start)
    patient = plan.patient
    try:
        with transaction.atomic():
            appointment = _session_create(
                plan, state.session, clinician, room, start, end, actor.user, submission_key
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


def appointment_held(appointment: Appointment, *, encounter: Encounter | None = None) -> None:
    """Inside a write: the appointment took place (and the request it answered is seen)."""
    appointment.status = Appointment.DONE
    appointment.done_at = timezone.now()
    appointment.encounter = encounter or appointment.encounter
    appointment.save(update_fields=["status", "done_at", "encounter"])
    if appointment.request is not None:
        request_seen(appointment.request)


@action("booking")
def visit_book(
    *,
    actor: Actor,
    plan_id: int,
    visit_key: str,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    submission_key: str | None = None,
) -> Appointment:
    """A pre-procedure visit of an accepted plan (see :func:`_visit_book`).

    Once per ``submission_key``: a repeat of the same form (a double click, parallel posts)
    answers with the booking the first one made."""
    return _once(
        submission_key,
        {"plan_id": plan_id, "session_key": visit_key},
        lambda: _visit_book(
            actor=actor,
            plan_id=plan_id,
            visit_key=visit_key,
            clinician=clinician,
            room=room,
            start=start,
            minutes=minutes,
            submission_key=submission_key,
        ),
    )


def _visit_book(
    *,
    actor: Actor,
    plan_id: int,
    visit_key: str,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    submission_key: str | None = None,
) -> Appointment:
    """A visit of an accepted plan's prepare phase (the pre-procedure visit and consent), in a
    consultation room: the plan accepted first and the gate that books its sessions holding,
    each visit booked once."""
    plan = CarePlan.objects.select_for_update().select_related("patient").filter(pk=plan_id).first()
    if plan is None:
        raise NotAvailable("There is no such plan.")
    if plan.status != CarePlan.ACCEPTED:
        raise Conflict("Visits are booked only from a written plan the patient accepted.")
    visit = next((v for v in plan_visits(plan) if v.key == visit_key), None)
    if visit is None:
        raise NotAvailable("This plan has no such visit.")
    if visit.appointment is not None:
        said = "held" if visit.done else "already booked: move the booking instead"
        raise Conflict(f"This visit is {said}.", code="already_booked")
    require_bookable(plan)
    if not bookable_clinician(clinician):
        raise _choose_a_clinician()
    _room_fits(room, Appointment.VISIT)
    end = _check_slot(start, minutes, Appointment.VISIT)
    _lock_and_check(clinician, room, start, end)
    _check_visit_order(plan, visit_end=end)
    patient = plan.patient
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                kind=Appointment.VISIT,
                clinician=clinician,
                room=room,
                start=start,
                end=end,
                patient=patient,
                patient_name=f"{patient.given_name} {patient.family_name}",
                email=patient.email,
                plan=plan,
                session_key=visit.key,
                session_label=_fits(visit.label, Appointment._meta.get_field("session_label")),
                uid=f"{uuid.uuid4()}@spinepath",
                booked_by=actor.user,
                submission_key=submission_key,
            )
    except IntegrityError as clash:
        raise Conflict("This visit is already booked: move the booking instead.") from clash
    _notify(appointment, "confirmed")
    return appointment


@action("booking")
def visit_held(*, actor: Actor, appointment_id: int) -> Appointment:
    """A booked pre-procedure visit took place (marked on the day, or after it); a second
    click changes nothing. Consultations and injection sessions close themselves: by the
    consultation started that day, and by the injections recorded."""
    appointment = Appointment.objects.select_for_update().filter(pk=appointment_id).first()
    if appointment is None:
        raise NotAvailable("There is no such appointment.")
    if appointment.kind != Appointment.VISIT:
        raise Conflict(
            "A consultation is held by starting it, and an injection session by recording its "
            "injections."
        )
    if appointment.status == Appointment.DONE:
        return appointment
    if appointment.status != Appointment.BOOKED:
        raise Conflict("This visit was cancelled.")
    if timezone.localtime(appointment.start).date() > today_of_write():
        raise Conflict("This visit is not due yet: it is marked as held on its day.")
    appointment_held(appointment)
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
    submission_key: str | None = None,
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
        submission_key=submission_key,
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
    if appointment.status == Appointment.DONE:
        raise Conflict("This appointment took place; it cannot be moved.")
    if appointment.status != Appointment.BOOKED:
        raise Conflict("A cancelled appointment cannot be moved; book a new one.")
    end = _check_slot(start, minutes, appointment.kind)
    _lock_and_check(appointment.clinician, appointment.room, start, end, exclude=appointment.pk)
    if appointment.kind == Appointment.VISIT:
        _check_visit_order(appointment.plan, visit_end=end, exclude=appointment.pk)
    elif appointment.kind == Appointment.INJECTION:
        _check_visit_order(appointment.plan, session_start=start, exclude=appointment.pk)
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
    if appointment.status == Appointment.DONE:
        raise Conflict("This appointment took place; it is no longer cancelled.")
    appointment.status = Appointment.CANCELLED
    appointment.sequence += 1
    appointment.save()
    if appointment.request is not None:
        request_consultation_cancelled(appointment.request)
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
    place = [
        settings.SPINEPATH_CLINIC_NAME,
        settings.SPINEPATH_CLINIC_ADDRESS,
        appointment.room.name,
    ]
    event.add("location", ", ".join(part for part in place if part))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def recipient(appointment: Appointment) -> str:
    """Where the appointment's emails go: the chart's email now (a changed address is used from
    the change on), else the one typed when it was booked."""
    if appointment.patient is not None:
        return appointment.patient.email
    return appointment.email


_TOLD = {
    "confirmed": "a confirmation",
    "moved": "a note of the new time",
    "cancelled": "a note of the cancellation",
}


def _past(appointment: Appointment) -> bool:
    """A cancellation of a time already gone (a no-show closed afterwards) is not mailed."""
    return appointment.start < timezone.now()


def told(appointment: Appointment, what: str) -> str:
    """What the patient was actually sent, in the words the coordinator reads."""
    if what == "cancelled" and _past(appointment):
        return "its time had passed, so nothing was sent to the patient."
    address = recipient(appointment)
    if address:
        return f"{_TOLD[what]} is on its way to {address}."
    phone = appointment.patient.phone if appointment.patient is not None else ""
    return "the patient has no email on file, so nothing was sent: tell them by phone" + (
        f" ({phone})." if phone else "."
    )


def _notify(appointment: Appointment, what: str) -> None:
    address = recipient(appointment)
    if not address or (what == "cancelled" and _past(appointment)):
        return
    local = timezone.localtime(appointment.start)
    when = f"{local:%A %d %B %Y at %H:%M}"
    minutes = appointment.minutes
    if appointment.kind == Appointment.INJECTION:
        noun = "injection session"
        booked = (
            f"Your injection session is booked for {when}, in {appointment.room.name}. It is "
            f"booked for {minutes} minutes; plan to stay about {minutes + 30} minutes in all, "
            "with time to rest afterwards, and to have someone drive you home. Keep taking your "
            "usual medicines unless the clinic told you otherwise; call us if you take blood "
            "thinners or feel unwell in the days before."
        )
    elif appointment.kind == Appointment.VISIT:
        noun = "visit"
        booked = (
            f"Your pre-procedure visit is booked for {when}, in {appointment.room.name}, for "
            f"{minutes} minutes. We go through your consent, your medicines and the day of the "
            "injection; please bring a list of your medicines."
        )
    else:
        noun = "consultation"
        booked = (
            f"Your consultation is booked for {when}, for {minutes} minutes. Please bring your "
            "MRI images or report and a list of your medicines."
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
        f"{settings.SPINEPATH_CLINIC_NAME}\n"
        + (f"{settings.SPINEPATH_CLINIC_ADDRESS}\n" if settings.SPINEPATH_CLINIC_ADDRESS else ""),
        to=[address],
    )
    message.attach(f"{appointment.kind}.ics", appointment_ics(appointment), "text/calendar")
    # Once the booking is committed: a mail failure (logged) never undoes it, and a
    # rolled-back write sends nothing.
    after_commit(message.send)
