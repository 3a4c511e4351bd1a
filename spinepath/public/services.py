"""Public requests and consultation booking.

Booking is the one place a clinician's or a room's time is taken: the overlap check runs in a
transaction that first locks the clinician and the room (PostgreSQL), or holds SQLite's write
lock from the start (IMMEDIATE transactions), so two simultaneous bookings cannot both pass.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from icalendar import Calendar, Event

from spinepath.accounts.roles import CLINIC_ADMIN, CLINICIAN, COORDINATOR, has_role
from spinepath.public.models import Appointment, ConsultationRequest, PublicSubmission, Room

# Submissions of one public form per client within RATE_WINDOW. The self-screen stores
# nothing, so its limit only stops a script; a person comparing answers never meets it.
RATE_LIMITS = {"screen": 60, "request": 5}
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


def _check_slot(start: datetime, minutes: int) -> datetime:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ValidationError(
            {"minutes": f"A consultation takes {MIN_MINUTES}-{MAX_MINUTES} minutes."}
        )
    local = timezone.localtime(start)
    end = local + timedelta(minutes=minutes)
    opens, closes, days = working_hours()
    if local.isoweekday() not in days:
        raise ValidationError({"start": "The clinic is closed that day."})
    if local.time() < opens or end.time() > closes or end.date() != local.date():
        raise ValidationError(
            {
                "start": "Consultations are booked inside working hours, "
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
    if not has_role(clinician, CLINICIAN):
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
def appointment_reschedule(
    *, user: Any, appointment: Appointment, start: datetime, minutes: int
) -> Appointment:
    _require_booker(user)
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.BOOKED:
        raise ValidationError("A cancelled consultation cannot be moved; book a new one.")
    end = _check_slot(start, minutes)
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


def appointment_ics(appointment: Appointment) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//spinepath//consultation//EN")
    calendar.add("version", "2.0")
    cancelled = appointment.status == Appointment.CANCELLED
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", f"Spine consultation - {settings.SPINEPATH_CLINIC_NAME}")
    event.add("location", f"{settings.SPINEPATH_CLINIC_NAME}, {appointment.room.name}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def _notify(appointment: Appointment, what: str) -> None:
    if not appointment.email:
        return
    local = timezone.localtime(appointment.start)
    when = f"{local:%A %d %B %Y at %H:%M}"
    lines = {
        "confirmed": f"Your consultation is booked for {when}. It takes 60 to 90 minutes. "
        "Please bring your MRI images or report and a list of your medicines.",
        "moved": f"Your consultation has been moved to {when}.",
        "cancelled": f"Your consultation on {when} has been cancelled. We will contact you to "
        "find a new time.",
    }
    message = EmailMessage(
        subject=f"Consultation {what} - {settings.SPINEPATH_CLINIC_NAME}",
        body=f"Hello {appointment.patient_name.split()[0]},\n\n{lines[what]}\n\n"
        f"{settings.SPINEPATH_CLINIC_NAME}\n",
        to=[appointment.email],
    )
    message.attach("consultation.ics", appointment_ics(appointment), "text/calendar")
    send_after_commit(message)


def send_after_commit(message: EmailMessage) -> None:
    """Send once the booking or request is committed: a mail failure (logged) never undoes
    it, and a rolled-back write sends nothing."""
    transaction.on_commit(message.send, robust=True)
