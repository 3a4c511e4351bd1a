"""Public requests and consultation booking.

Booking is the one place a clinician's or a room's time is taken: the overlap check runs in a
transaction that first locks the clinician and the room (PostgreSQL), or holds SQLite's write
lock from the start (IMMEDIATE transactions), so two simultaneous bookings cannot both pass.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from icalendar import Calendar, Event

from spinepath.accounts.models import StaffAccount
from spinepath.accounts.roles import CLINIC_ADMIN, CLINICIAN, COORDINATOR, has_role
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, NotAvailable
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
    PublicSubmission,
    Room,
)

# Submissions of one public form per client within RATE_WINDOW. The self-screen stores
# nothing, so its limit only stops a script; a person comparing answers never meets it.
RATE_LIMITS = {"screen": 60, "request": 5, "signin": 5}
RATE_WINDOW = timedelta(minutes=10)
MIN_MINUTES, MAX_MINUTES = 60, 90  # the consultation takes 60-90 minutes (PATHWAY.md s.2)


class RateLimited(Exception):
    pass


def client_key(address: str | None) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), (address or "").encode(), "sha256").hexdigest()


@transaction.atomic
def rate_limit(*, address: str | None, form: str) -> None:
    """Refuse a client's submission beyond the form's limit, saying when to try again; count
    it otherwise. One transaction holds the write lock (SQLite) or the transaction lock
    (PostgreSQL), so parallel submissions are counted one after another."""
    client = client_key(address)
    now = timezone.now()
    since = now - RATE_WINDOW
    recent = PublicSubmission.objects.filter(client=client, form=form, at__gte=since)
    if recent.count() >= RATE_LIMITS[form]:
        oldest = recent.order_by("at").values_list("at", flat=True).first() or now
        minutes = max(1, int((oldest + RATE_WINDOW - now).total_seconds() // 60) + 1)
        raise RateLimited(
            "Too many submissions from this connection in a short time. Please try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}."
        )
    PublicSubmission.objects.filter(at__lt=since).delete()
    PublicSubmission.objects.create(client=client, form=form)


_ACKNOWLEDGEMENT = (
    "Hello,\n\nThank you for your request for a consultation. A coordinator will contact you "
    "within two working days to find a time.\n\nIf your symptoms change suddenly - loss of "
    "bladder or bowel control, numbness between the legs, fever, or weakness getting worse - "
    "do not wait: see a doctor today or go to an emergency department.\n\n{clinic}\n"
)


@transaction.atomic
def consultation_request_create(*, address: str | None, **fields: Any) -> ConsultationRequest:
    if not fields.get("consent_to_contact"):
        raise ValidationError({"consent_to_contact": "We can only contact you with your consent."})
    if not fields.get("email") and not fields.get("phone"):
        raise ValidationError({"email": "Give an email address or a phone number."})
    request = ConsultationRequest.objects.create(address=address, **fields)
    if request.email:
        send_after_commit(
            EmailMessage(
                subject=f"We received your request - {settings.SPINEPATH_CLINIC_NAME}",
                body=_ACKNOWLEDGEMENT.format(clinic=settings.SPINEPATH_CLINIC_NAME),
                to=[request.email],
            )
        )
    return request


@transaction.atomic
def request_status_set(*, request_id: int, status: str, user: Any) -> ConsultationRequest:
    if not has_role(user, COORDINATOR, CLINIC_ADMIN, CLINICIAN):
        raise PermissionDenied("Only clinic staff handle requests.")
    if status not in dict(ConsultationRequest.STATUSES):
        raise ValidationError({"status": "Unknown status."})
    item = ConsultationRequest.objects.select_for_update().get(pk=request_id)
    item.status = status
    item.save(update_fields=["status"])
    return item


# --- Booking -------------------------------------------------------------------------------


def working_hours() -> tuple[time, time, set[int]]:
    start, end = settings.SPINEPATH_WORKING_HOURS
    return time.fromisoformat(start), time.fromisoformat(end), set(settings.SPINEPATH_WORKING_DAYS)


def _check_slot(start: datetime, minutes: int, kind: str = Appointment.CONSULTATION) -> datetime:
    low, high = (
        (MIN_MINUTES, MAX_MINUTES) if kind == Appointment.CONSULTATION else SESSION_MINUTES_RANGE
    )
    if not low <= minutes <= high:
        what = "A consultation" if kind == Appointment.CONSULTATION else "An injection session"
        raise ValidationError({"minutes": f"{what} takes {low}-{high} minutes."})
    local = timezone.localtime(start)
    end = local + timedelta(minutes=minutes)
    opens, closes, days = working_hours()
    if local.isoweekday() not in days:
        raise ValidationError({"start": "The clinic is closed that day."})
    if local.time() < opens or end.time() > closes or end.date() != local.date():
        raise ValidationError(
            {
                "start": "Appointments are booked inside working hours, "
                f"{opens:%H:%M}-{closes:%H:%M}."
            }
        )
    if start < timezone.now():
        raise ValidationError({"start": "That time has passed."})
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
        raise ValidationError(
            {
                "start": f"{who} is already booked "
                f"{timezone.localtime(clash.start):%H:%M}-"
                f"{timezone.localtime(clash.end):%H:%M} that day."
            }
        )


def bookable_clinician(user: Any) -> bool:
    """A clinician who sees patients: active, and a person (not a name on records only, such as
    the synthetic cohort's clinicians)."""
    return bool(
        has_role(user, CLINICIAN)
        and user.is_active
        and not StaffAccount.objects.filter(user=user, record_only=True).exists()
    )


def _require_booker(user: Any) -> None:
    if not has_role(user, COORDINATOR, CLINIC_ADMIN, CLINICIAN):
        raise PermissionDenied("Only clinic staff book consultations.")


@transaction.atomic
def appointment_book(
    *,
    user: Any,
    clinician: User,
    room: Room,
    start: datetime,
    minutes: int,
    patient_name: str,
    email: str = "",
    request: ConsultationRequest | None = None,
) -> Appointment:
    _require_booker(user)
    if not bookable_clinician(clinician):
        raise ValidationError({"clinician": "Choose a clinician."})
    end = _check_slot(start, minutes)
    _lock_and_check(clinician, room, start, end)
    appointment = Appointment.objects.create(
        clinician=clinician,
        room=room,
        start=start,
        end=end,
        patient_name=patient_name,
        email=email,
        request=request,
        uid=f"{uuid.uuid4()}@spinepath",
        booked_by=user,
    )
    if request is not None:
        ConsultationRequest.objects.filter(pk=request.pk).update(status=ConsultationRequest.BOOKED)
    _notify(appointment, "confirmed")
    return appointment


@transaction.atomic
def session_book(
    *,
    user: Any,
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
    _require_booker(user)
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
    if problem is not None:
        raise Conflict(problem)
    assert state is not None
    require_bookable(plan)
    if not bookable_clinician(clinician):
        raise ValidationError({"clinician": "Choose a clinician."})
    end = _check_slot(start, minutes, Appointment.INJECTION)
    _lock_and_check(clinician, room, start, end)
    patient = plan.patient
    try:
        with transaction.atomic():
            appointment = _session_create(plan, state.session, clinician, room, start, end, user)
    except IntegrityError as clash:  # booked by a parallel request a moment ago
        raise Conflict(
            "This injection session is already booked: move the booking instead."
        ) from clash
    audit_record(
        request=None,
        user=user,
        action=AuditEvent.CREATE,
        what=f"injection session {state.session.number} of plan v{plan.version} booked",
        patient=patient,
    )
    _notify(appointment, "confirmed")
    return appointment


def _fits(text: str, field: Any) -> str:
    """``text`` cut to the column's length (a session of many lines has a long label, which
    PostgreSQL would refuse; SQLite would keep it whole), ending with an ellipsis."""
    limit = int(field.max_length)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _session_create(
    plan: CarePlan,
    session: InjectionSession,
    clinician: User,
    room: Room,
    start: datetime,
    end: datetime,
    user: Any,
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
        booked_by=user,
    )


@transaction.atomic
def change_request_create(
    *, appointment_id: int, patient: Any, kind: str, message: str
) -> ChangeRequest:
    """A patient asks to move or cancel one of their own appointments (the coordinator acts
    on it); a second request while one is open is the same request."""
    appointment = (
        Appointment.objects.select_for_update()
        .filter(pk=appointment_id, patient=patient, status=Appointment.BOOKED)
        .first()
    )
    if appointment is None:
        raise NotAvailable("There is no such appointment.")
    if kind not in dict(ChangeRequest.KINDS):
        raise ValidationError({"kind": "Choose whether to move or cancel the appointment."})
    if appointment.start < timezone.now():
        raise ValidationError({"kind": "This appointment has already taken place."})
    open_request = appointment.change_requests.filter(handled_at__isnull=True).first()
    if open_request is not None:
        return open_request
    request = ChangeRequest.objects.create(
        appointment=appointment, kind=kind, message=message.strip()[:1000]
    )
    audit_record(
        request=None,
        username=f"patient {getattr(patient, 'mrn', '')} (own pages)",
        action=AuditEvent.CREATE,
        what=f"asked to {'move' if kind == ChangeRequest.RESCHEDULE else 'cancel'} an appointment",
        patient=patient,
    )
    return request


@transaction.atomic
def change_request_handle(*, user: Any, request_id: int) -> ChangeRequest:
    _require_booker(user)
    item = ChangeRequest.objects.select_for_update().filter(pk=request_id).first()
    if item is None:
        raise NotAvailable("There is no such request.")
    if item.handled_at is None:
        item.handled_at = timezone.now()
        item.handled_by = user
        item.save(update_fields=["handled_at", "handled_by"])
    return item


@transaction.atomic
def appointment_reschedule(
    *, user: Any, appointment: Appointment, start: datetime, minutes: int
) -> Appointment:
    _require_booker(user)
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.BOOKED:
        raise ValidationError("A cancelled appointment cannot be moved; book a new one.")
    end = _check_slot(start, minutes, appointment.kind)
    _lock_and_check(appointment.clinician, appointment.room, start, end, exclude=appointment.pk)
    appointment.start, appointment.end = start, end
    appointment.sequence += 1
    appointment.save()
    _notify(appointment, "moved")
    return appointment


@transaction.atomic
def appointment_cancel(*, user: Any, appointment: Appointment) -> Appointment:
    _require_booker(user)
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
    send_after_commit(message)


def send_after_commit(message: EmailMessage) -> None:
    """Send once the booking or request is committed: a mail failure (logged) never undoes
    it, and a rolled-back write sends nothing."""
    transaction.on_commit(message.send, robust=True)
