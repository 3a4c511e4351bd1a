"""Before any record exists: consultation requests, and consultations booked on a calendar.

FHIR: a ConsultationRequest is a ServiceRequest from the public; an Appointment books a
clinician and a room (Schedule/Slot are computed, not stored).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from spinepath.pathway.rooms import ROOM_KINDS
from spinepath.patients.models import Patient

ROOM_KIND_CHOICES = list(ROOM_KINDS.items())


class ConsultationRequest(models.Model):
    """A request moves new -> booked (a consultation of the linked chart was booked) -> seen
    (the consultation took place); or it is declined. Cancelling its consultation makes it new
    again (PATHWAY.md section 9: a booked request is no longer new)."""

    NEW = "new"
    BOOKED = "booked"
    SEEN = "seen"
    DECLINED = "declined"
    STATUSES = [(NEW, "New"), (BOOKED, "Booked"), (SEEN, "Seen"), (DECLINED, "Declined")]

    name = models.CharField(max_length=120)
    birth_date = models.DateField("date of birth", null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_times = models.CharField(max_length=300, blank=True)
    message = models.TextField(max_length=2000, blank=True)
    screen_outcome = models.CharField(max_length=30, blank=True)
    consent_to_contact = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=STATUSES, default=NEW, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )

    class Meta:
        ordering = ["-created_at"]


class PublicSubmission(models.Model):
    """One row per public form submission, for rate limiting by client. Only a keyed hash of
    the client's address is kept, never the address: the self-screen stores no personal data."""

    client = models.CharField(max_length=64, db_index=True)
    form = models.CharField(max_length=20)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class Room(models.Model):
    """A room and what it is equipped for: an injection needs the room its imaging guidance
    needs (spinepath.pathway.rooms)."""

    name = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=12, choices=ROOM_KIND_CHOICES, default="consultation")

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Appointment(models.Model):
    """A consultation, or an injection session of an accepted plan: the time of a clinician
    and a room, never booked twice (spinepath/public/bookings.py)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    # The step took place: the consultation was opened, the injection recorded, the visit held.
    DONE = "done"
    STATUSES = [(BOOKED, "Booked"), (DONE, "Done"), (CANCELLED, "Cancelled")]
    CONSULTATION = "consultation"
    INJECTION = "injection"
    VISIT = "visit"
    KINDS = [
        (CONSULTATION, "Consultation"),
        (INJECTION, "Injection session"),
        (VISIT, "Pre-procedure visit"),
    ]

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    patient_name = models.CharField(max_length=120)
    email = models.EmailField(blank=True)
    request = models.ForeignKey(
        ConsultationRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, default=BOOKED, choices=STATUSES)
    done_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(default=0, help_text="iCalendar SEQUENCE")
    uid = models.CharField(max_length=80, unique=True)
    # The booking form that made it: a double click or parallel posts book once, and every
    # repeat answers with the booking the first one made.
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=12, choices=KINDS, default=CONSULTATION)
    # An injection session or a visit of a plan: the accepted plan and which of its sessions
    # (pathway/portal.py), or ``visit-<line id>`` for a visit line of its prepare phase.
    plan = models.ForeignKey(
        "plans.CarePlan", null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    session_key = models.CharField(max_length=10, blank=True)
    session_label = models.CharField(max_length=300, blank=True)
    # The injection recorded in this session (the appointment is the side that links the plan's
    # session and its procedure; the plans app knows nothing of appointments).
    procedure = models.OneToOneField(
        "plans.Procedure",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointment",
    )
    # The consultation held in a booked consultation slot (started from the day, or on the
    # chart that day): the appointment is done, and the request it answered is seen.
    encounter = models.OneToOneField(
        "consultations.Encounter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointment",
    )

    class Meta:
        ordering = ["start"]
        constraints = [
            # A double click or a parallel request books a plan's session, or visit, once.
            models.UniqueConstraint(
                fields=["plan", "session_key"],
                condition=models.Q(status="booked", plan__isnull=False),
                name="one_booking_per_session",
            ),
        ]

    @property
    def title(self) -> str:
        return dict(self.KINDS)[self.kind]

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class ChangeRequest(models.Model):
    """A patient asks, from their own pages, to move or cancel an appointment: the
    coordinator sees it on the bookings page and acts on it."""

    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    KINDS = [(RESCHEDULE, "Move it"), (CANCEL, "Cancel it")]

    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="change_requests"
    )
    kind = models.CharField(max_length=10, choices=KINDS)
    message = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open request per appointment: a second click does not add another.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(handled_at__isnull=True),
                name="one_open_change_request",
            ),
        ]
