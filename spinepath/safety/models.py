"""Adverse events (FHIR AdverseEvent) and the patients' answers to the safety questions.

Nothing here is ever deleted or changed in place (PATHWAY.md section 10): an event is a header
and its versions, each version written once by a clinician with the reason for the change; a
wrong event is marked entered in error, with who, when and why. The patients' answers are kept
as given; a clinician's review of them is recorded beside them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from spinepath.consultations.models import LEVEL_CHOICES, SIDE_CHOICES
from spinepath.pathway.safety import ACTIONS, OUTCOMES, RELATEDNESS
from spinepath.patients.models import Patient
from spinepath.plans.models import Procedure


class KeptForever(Exception):
    """A safety record is never deleted nor changed in place."""


class NeverDeletedQuerySet(models.QuerySet[Any]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise KeptForever("safety records are never deleted: mark an event entered in error")

    def update(self, **kwargs: Any) -> int:
        raise KeptForever("safety records are never changed in place: add a version")


class EnteredInError(models.Model):
    """A record marked entered in error once, with who, when and why - all three or none (a
    database constraint, :func:`in_error_names_who_when_why`); it stays on the record."""

    in_error_at = models.DateTimeField(null=True, blank=True)
    in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    in_error_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def in_error(self) -> bool:
        return self.in_error_at is not None


def in_error_names_who_when_why(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=(
            models.Q(in_error_at__isnull=True, in_error_by__isnull=True, in_error_reason="")
            | models.Q(in_error_at__isnull=False, in_error_by__isnull=False)
            & ~models.Q(in_error_reason="")
        ),
        name=name,
    )


class SafetyReport(models.Model):
    """A patient's answers to the safety questions, as given: at a follow-up questionnaire, on
    their own pages, on a paper form or by telephone to staff. A worrying answer waits for a
    clinician's review (the task on the worklist and the clinician's day)."""

    QUESTIONNAIRE = "questionnaire"
    OWN_PAGES = "own_pages"
    PAPER = "paper"
    API = "api"
    SOURCES = [
        (QUESTIONNAIRE, "Follow-up questionnaire"),
        (OWN_PAGES, "Patient's own pages"),
        (PAPER, "Paper form in clinic"),
        (API, "FHIR API"),
    ]
    NO_EVENT = "no_event"
    EVENT = "event"
    REVIEW_OUTCOMES = [
        (NO_EVENT, "Reviewed: no adverse event"),
        (EVENT, "Reviewed: adverse event recorded"),
    ]

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="safety_reports")
    answered_on = models.DateField()
    answers = models.JSONField(help_text="Each safety question's key: true (yes) or false (no).")
    worrying = models.BooleanField(default=False)
    urgency = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=15, choices=SOURCES)
    # The reassessment visit answered, by its label ("6 weeks"); empty outside a visit.
    visit_label = models.CharField(max_length=40, blank=True)
    details = models.TextField(blank=True, help_text="What the patient added in their words.")
    created_at = models.DateTimeField(auto_now_add=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The form that sent it: a double click or a resent request records the answers once.
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_outcome = models.CharField(max_length=10, choices=REVIEW_OUTCOMES, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["worrying", "reviewed_at"], name="safety_open_tasks")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(reviewed_at__isnull=True, reviewed_by__isnull=True, review_outcome="")
                    | models.Q(reviewed_at__isnull=False, reviewed_by__isnull=False)
                    & ~models.Q(review_outcome="")
                ),
                name="safety_review_names_who_when_what",
            )
        ]

    @property
    def awaits_review(self) -> bool:
        return self.worrying and self.reviewed_at is None

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeptForever("a patient's safety answers are never deleted")


class AdverseEvent(EnteredInError):
    """An adverse event of a patient (FHIR AdverseEvent): the versions hold what a clinician
    recorded; this row holds what never changes (whose, after which injection, when the
    clinic learned of it) and, once, that it was entered in error."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    procedure = models.ForeignKey(
        Procedure,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adverse_events",
        help_text="The injection the event follows.",
    )
    report = models.ForeignKey(
        SafetyReport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        help_text="The patient's answers it was found from.",
    )
    aware_on = models.DateField(help_text="The day the clinic learned of the event.")
    # The day a version first made the event a reportable adverse reaction: its clock starts.
    reportable_since = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)

    objects = NeverDeletedQuerySet.as_manager()

    class Meta:
        ordering = ["-aware_on", "-id"]
        constraints = [in_error_names_who_when_why("event_in_error_names_who_when_why")]

    def __str__(self) -> str:
        return f"Adverse event #{self.pk}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeptForever("an adverse event is never deleted: mark it entered in error")


RELATEDNESS_CHOICES = list(RELATEDNESS.items())
ACTION_CHOICES = list(ACTIONS.items())
OUTCOME_CHOICES = list(OUTCOMES.items())


class EventVersion(models.Model):
    """One version of an adverse event, written once by a clinician."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField()
    term = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    onset_on = models.DateField()
    grade = models.PositiveSmallIntegerField(help_text="CTCAE v5 grade, 1-5.")
    serious_criteria = models.JSONField(default=list, help_text="ICH E2A criteria met.")
    related_procedure = models.CharField(max_length=12, choices=RELATEDNESS_CHOICES)
    related_product = models.CharField(max_length=12, choices=RELATEDNESS_CHOICES)
    expected = models.BooleanField()
    action = models.CharField(max_length=16, choices=ACTION_CHOICES)
    outcome = models.CharField(max_length=24, choices=OUTCOME_CHOICES)
    resolved_on = models.DateField(null=True, blank=True)
    change_reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = NeverDeletedQuerySet.as_manager()

    class Meta:
        ordering = ["event", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="one_event_version_number"),
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=5), name="ctcae_grade_1_to_5"
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise KeptForever("a version of an adverse event is never changed: add a new one")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeptForever("a version of an adverse event is never deleted")

    @property
    def serious(self) -> bool:
        return bool(self.serious_criteria)


class EventFiling(models.Model):
    """A report of an adverse reaction filed with the FDA (MedWatch 3500A): when, how, and the
    reference it was given. Recorded once per kind; a follow-up report is another row."""

    INITIAL = "initial"
    FOLLOW_UP = "follow_up"
    KINDS = [(INITIAL, "Initial report"), (FOLLOW_UP, "Follow-up report")]
    METHODS = [
        ("esubmission", "FDA Electronic Submissions Gateway"),
        ("medwatch_online", "MedWatch online"),
        ("fax", "Fax"),
        ("mail", "Mail"),
    ]

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="filings")
    kind = models.CharField(max_length=10, choices=KINDS, default=INITIAL)
    filed_on = models.DateField()
    method = models.CharField(max_length=16, choices=METHODS)
    reference = models.CharField(max_length=80, help_text="The report or acknowledgement number.")
    version_number = models.PositiveSmallIntegerField(help_text="The event version reported.")
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = NeverDeletedQuerySet.as_manager()

    class Meta:
        ordering = ["event", "filed_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=models.Q(kind="initial"), name="one_initial_filing"
            )
        ]

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeptForever("a filing is never deleted")


class LookbackNotice(models.Model):
    """A letter or email to a patient who received a lot, a product or a donor's material that
    the clinic looked back on (a recall, a donor's late test result): what was said, to whom,
    how, by whom. One per patient per press of "Write to each patient"; never deleted."""

    EMAIL = "email"
    LETTER = "letter"
    CHANNELS = [(EMAIL, "Email"), (LETTER, "Printed letter")]

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lookback_notices")
    about = models.CharField(max_length=200, help_text="What was looked back on, in words.")
    query = models.JSONField(help_text="The look-back's lot, product and donor.")
    channel = models.CharField(max_length=6, choices=CHANNELS)
    to_address = models.EmailField(blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    sent_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submission_key = models.CharField(max_length=64, editable=False)

    objects = NeverDeletedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "patient_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission_key", "patient"], name="one_lookback_notice_per_send"
            )
        ]

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeptForever("a look-back notice is never deleted")


class Reintervention(EnteredInError):
    """A further spine surgery or injection at the level a regenerative injection treated
    (PATHWAY.md section 10): the trials count it as a failure of the treatment. Recorded from
    a clinical document or as the patient reports it (the clinic's own later injections are
    not typed: they count from the procedure records). Never deleted nor changed; a wrong entry
    is marked entered in error, with who, when and why."""

    SURGERY = "surgery"
    INJECTION = "injection"
    KINDS = [(SURGERY, "Spine surgery"), (INJECTION, "Injection elsewhere")]
    RECORDED = "recorded"
    REPORTED_BY_PATIENT = "reported_by_patient"
    REPORTED_AT_FOLLOW_UP = "reported_at_follow_up"
    SOURCES = [
        (RECORDED, "Recorded from a clinical document (an operative note, a letter)"),
        (REPORTED_BY_PATIENT, "Reported by the patient"),
        (REPORTED_AT_FOLLOW_UP, "Reported by the patient at a follow-up visit"),
    ]

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reinterventions")
    procedure = models.ForeignKey(
        Procedure,
        on_delete=models.PROTECT,
        related_name="reinterventions",
        help_text="The treated injection whose level the re-intervention was at.",
    )
    kind = models.CharField(max_length=10, choices=KINDS)
    performed_on = models.DateField()
    level = models.CharField(max_length=5, choices=LEVEL_CHOICES, blank=True)
    side = models.CharField(max_length=10, choices=SIDE_CHOICES, blank=True)
    description = models.TextField(help_text="What was done, where and by whom, as known.")
    source = models.CharField(max_length=24, choices=SOURCES)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The role it was stated under: what a clinician recorded only a clinician marks in error.
    recorded_role = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)

    objects = NeverDeletedQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_on", "-id"]
        constraints = [
            in_error_names_who_when_why("reintervention_in_error_names_who_when_why"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["surgery", "injection"]),
                name="reintervention_surgery_or_injection",
            ),
        ]

    def __str__(self) -> str:
        return f"Re-intervention #{self.pk}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise KeptForever("a re-intervention is never deleted: mark it entered in error")
