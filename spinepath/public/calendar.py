"""The clinic's calendar as the staff read it: a day and a week, per clinician and per room.

Each appointment shows its patient, the step it is for (consultation, injection session,
pre-procedure visit), what the patient still needs before that step can be done
(:func:`spinepath.pathway.day.still_missing`, over the same standing the actions' gates read)
and the one link into the step. A day also shows each clinician's free time inside working
hours, which a coordinator books into.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from spinepath.pathway.day import still_missing
from spinepath.plans.selectors import plan_visits
from spinepath.plans.standing import patient_standing
from spinepath.public.bookings import working_hours
from spinepath.public.forms import bookable_clinicians
from spinepath.public.models import Appointment, Room
from spinepath.web.policy import clinic_policy
from spinepath.web.submissions import new_submission_key

# Free time shorter than this is not offered for booking (the shortest visit).
SHORTEST_FREE_MINUTES = 15


@dataclass
class Entry:
    appointment: Appointment
    missing: tuple[str, ...]
    # One consultation per press of its "Start the consultation" button.
    start_key: str = field(default_factory=new_submission_key)

    @property
    def local_start(self) -> datetime:
        return timezone.localtime(self.appointment.start)


@dataclass
class Column:
    """One clinician's or one room's appointments of the day, and their free time."""

    key: str
    title: str
    subtitle: str = ""
    entries: list[Entry] = field(default_factory=list)
    free: list[tuple[datetime, datetime]] = field(default_factory=list)
    clinician_id: int | None = None
    room_id: int | None = None


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        timezone.make_aware(datetime.combine(first, time.min)),
        timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min)),
    )


def appointments_between(
    first: date, last: date, *, clinician_id: int | None = None, room_id: int | None = None
) -> list[Appointment]:
    start, end = _bounds(first, last)
    rows = Appointment.objects.filter(start__gte=start, start__lt=end).select_related(
        "clinician", "room", "patient", "plan", "encounter", "procedure", "request"
    )
    if clinician_id is not None:
        rows = rows.filter(clinician_id=clinician_id)
    if room_id is not None:
        rows = rows.filter(room_id=room_id)
    return list(rows.order_by("start", "id"))


def entries(appointments: Iterable[Appointment]) -> list[Entry]:
    """Each appointment with what its patient still needs: one standing per patient."""
    policy = clinic_policy()
    standings: dict[int, Any] = {}
    out = []
    for appointment in appointments:
        missing: tuple[str, ...] = ()
        if appointment.patient is not None and appointment.status == Appointment.BOOKED:
            standing = standings.get(appointment.patient_id)  # type: ignore[arg-type]
            if standing is None:
                standing = patient_standing(appointment.patient)
                standings[appointment.patient.pk] = standing
            pending = 0
            if appointment.kind == Appointment.INJECTION and appointment.plan is not None:
                pending = sum(not v.done for v in plan_visits(appointment.plan))
            missing = still_missing(
                standing,
                policy,
                appointment.kind,
                timezone.localtime(appointment.start).date(),
                appointment.plan_id,
                visits_not_held=pending,
            )
        out.append(Entry(appointment, missing))
    return out


def _free(day: date, booked: list[Appointment]) -> list[tuple[datetime, datetime]]:
    opens, closes, days = working_hours()
    if day.isoweekday() not in days:
        return []
    cursor = timezone.make_aware(datetime.combine(day, opens))
    closing = timezone.make_aware(datetime.combine(day, closes))
    now = timezone.now()
    gaps = []
    for appointment in sorted(booked, key=lambda a: a.start):
        if appointment.status == Appointment.CANCELLED:
            continue
        if appointment.start > cursor:
            gaps.append((cursor, appointment.start))
        cursor = max(cursor, appointment.end)
    if closing > cursor:
        gaps.append((cursor, closing))
    # Only time still to come, from the next quarter hour.
    out = []
    for start, end in gaps:
        if start < now:
            start = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
        if (end - start).total_seconds() >= SHORTEST_FREE_MINUTES * 60:
            out.append((timezone.localtime(start), timezone.localtime(end)))
    return out


def day_columns(
    day: date, *, by: str = "clinician", clinician_id: int | None = None
) -> list[Column]:
    """The day per clinician (every clinician who sees patients, or one) or per room."""
    rows = entries(appointments_between(day, day, clinician_id=clinician_id))
    columns: dict[str, Column] = {}
    if by == "room":
        for room in Room.objects.all():
            columns[f"r{room.pk}"] = Column(
                f"r{room.pk}", room.name, room.get_kind_display(), room_id=room.pk
            )
        for entry in rows:
            columns[f"r{entry.appointment.room_id}"].entries.append(entry)
        for column in columns.values():
            column.free = _free(day, [e.appointment for e in column.entries])
        return list(columns.values())
    clinicians: list[User] = list(bookable_clinicians())
    if clinician_id is not None:
        clinicians = [c for c in clinicians if c.pk == clinician_id]
    for clinician in clinicians:
        columns[f"c{clinician.pk}"] = Column(
            f"c{clinician.pk}",
            clinician.get_full_name() or clinician.username,
            clinician_id=clinician.pk,
        )
    for entry in rows:
        key = f"c{entry.appointment.clinician_id}"
        if key not in columns:  # a clinician no longer bookable, with appointments still
            who = entry.appointment.clinician
            columns[key] = Column(key, who.get_full_name() or who.username, clinician_id=who.pk)
        columns[key].entries.append(entry)
    for column in columns.values():
        column.free = _free(day, [e.appointment for e in column.entries])
    return list(columns.values())


def week_days(monday: date, *, clinician_id: int | None = None) -> list[tuple[date, list[Entry]]]:
    """The working days of the week starting ``monday``, each with its appointments."""
    _, _, days = working_hours()
    rows = entries(
        appointments_between(monday, monday + timedelta(days=6), clinician_id=clinician_id)
    )
    out = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        todays = [e for e in rows if e.local_start.date() == day]
        if day.isoweekday() in days or todays:
            out.append((day, todays))
    return out
