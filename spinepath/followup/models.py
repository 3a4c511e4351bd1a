"""Measured follow-up: reassessment visits, patient-reported outcomes, links and reminders.

FHIR: a ReassessmentVisit is an Appointment of a CarePlan activity; an OutcomeMeasurement is a
QuestionnaireResponse with its pain and ODI Observations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from spinepath.consultations.models import LowBackPainAnswers, low_back_pain_constraints
from spinepath.pathway.schedule import Window
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan, Procedure


class ReassessmentVisit(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    plan = models.ForeignKey(CarePlan, on_delete=models.PROTECT, related_name="visits")
    # The last injection of the plan: the schedule counts from it.
    anchor = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=10)
    label = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    due = models.DateField(db_index=True)
    opens = models.DateField(db_index=True)
    closes = models.DateField(db_index=True)
    optional = models.BooleanField(default=False)
    # The patient declined this check-in (on a coordinator's call): its ladder stops.
    reminders_stopped = models.CharField(max_length=200, blank=True)
    functional_notes = models.TextField(blank=True)
    repeat_imaging = models.BooleanField(default=False)
    # Facts of the treatment course, kept on the visit so the outcomes dashboard filters and
    # aggregates in one query (set when the schedule is made from the plan's injections).
    injected_on = models.DateField(null=True, db_index=True)
    generator = models.CharField(max_length=15, blank=True, db_index=True)
    prognosis_tier = models.CharField(max_length=10, blank=True)
    target_count = models.PositiveSmallIntegerField(default=1)
    material = models.CharField(max_length=10, blank=True)
    # The candidacy features of the course "patients like you" are matched on
    # (spinepath.pathway.odds): the highest Pfirrmann grade of the treated discs on the signed
    # workup's latest MRI ("3", "no disc treated", "not recorded"), its pain pattern, and the
    # age band at the first injection.
    treated_grade = models.CharField(max_length=20, blank=True)
    pain_pattern = models.CharField(max_length=20, blank=True)
    age_band = models.CharField(max_length=20, blank=True)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due", "id"]
        # Covers the outcomes dashboard's grouped counts and filters: read from the index alone.
        indexes = [
            models.Index(
                fields=[
                    "key",
                    "generator",
                    "prognosis_tier",
                    "target_count",
                    "material",
                    "clinician",
                    "injected_on",
                    "due",
                    "closes",
                ],
                name="visit_outcomes_cover",
            ),
            # "Patients like you": one kind of target's courses at 6 and 12 months, by feature.
            models.Index(
                fields=[
                    "generator",
                    "key",
                    "closes",
                    "prognosis_tier",
                    "treated_grade",
                    "pain_pattern",
                    "age_band",
                ],
                name="visit_odds_cover",
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="one_visit_per_key")]

    def __str__(self) -> str:
        return f"{self.label} reassessment ({self.due})"

    @property
    def window(self) -> Window:
        return Window(self.opens, self.closes)


class OutcomeMeasurement(LowBackPainAnswers):
    """Pain and ODI as the patient reported them, at a visit or as a baseline, with the ICHOM
    low back pain measures."""

    PATIENT_LINK = "patient_link"
    PAPER = "paper"
    PHONE = "phone"
    CONSULTATION = "consultation"
    SOURCES = [
        (PATIENT_LINK, "Patient (online)"),
        (PAPER, "Paper form in clinic"),
        (PHONE, "On the phone with a coordinator"),
        (CONSULTATION, "Consultation"),
    ]

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements")
    visit = models.OneToOneField(
        ReassessmentVisit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="measurement",
    )
    measured_on = models.DateField(db_index=True)
    pain_scale = models.CharField(max_length=3, default="vas")
    pain_raw = models.FloatField(null=True, blank=True)
    pain_vas = models.FloatField(null=True, blank=True, help_text="0-100 mm (NRS x 10)")
    odi_sections = models.JSONField(null=True, blank=True)
    odi_score = models.FloatField(null=True, blank=True)
    # The ICHOM low back pain measures: LowBackPainAnswers. The overall pain above stays the
    # outcome the responder rules use.
    source = models.CharField(max_length=15, choices=SOURCES)
    # Measured outside its visit's window (a paper form entered late): kept and shown, but
    # left out of the clinic's outcomes (PATHWAY.md section 7).
    outside_window = models.BooleanField(default=False)
    # Change from baseline, computed once by the domain instruments when the answers are saved.
    pain_change_mm = models.FloatField(null=True, blank=True)
    pain_change_pct = models.FloatField(null=True, blank=True)
    pain_responder = models.BooleanField(null=True, blank=True)
    any_pain_reduction = models.BooleanField(null=True, blank=True)
    odi_change_points = models.FloatField(null=True, blank=True)
    odi_responder = models.BooleanField(null=True, blank=True)
    # The reminder step that got these answers (PATHWAY.md section 11), decided when they are
    # saved (``pathway.completion.step_that_got_the_answer``): the last step that reached the
    # patient on or before the day they answered; empty when none had. Kept so that the
    # clinic's completion counts it with the visits, not by reading every step again.
    answered_after_step = models.CharField(max_length=20, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measured_on", "id"]
        constraints = [
            # A patient's link answers only inside the window; only staff enter answers outside.
            models.CheckConstraint(
                condition=~models.Q(source="patient_link", outside_window=True),
                name="patient_link_answers_inside_window",
            ),
            *low_back_pain_constraints("measurement"),
        ]

    @property
    def counts_in_outcomes(self) -> bool:
        return self.visit_id is not None and not self.outside_window


class QuestionnaireLink(models.Model):
    """A single-use link for one visit. Only the token's hash is stored."""

    visit = models.ForeignKey(ReassessmentVisit, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]


class ReminderStep(models.Model):
    """One step of a visit's reminder ladder (PATHWAY.md section 11): what became of it.

    The unique constraint makes a step happen once, even when two copies of
    ``spinepath send-reminders`` run at once. A call step is a task on the coordinators'
    worklist until its outcome is recorded; a letter step waits to be printed."""

    EMAIL, SMS, CALL, LETTER = "email", "sms", "call", "letter"
    CHANNELS = [
        (EMAIL, "Email"),
        (SMS, "Text message"),
        (CALL, "Phone call"),
        (LETTER, "Letter by post"),
    ]
    SENT, FAILED, RETRY, SKIPPED, CLAIMED = "sent", "failed", "retry", "skipped", "claimed"
    STATUSES = [
        (SENT, "Sent"),
        (FAILED, "Failed"),
        (RETRY, "Failed, will try again"),
        (SKIPPED, "Skipped"),
        (CLAIMED, "Sending"),
    ]
    ANSWERED, VOICEMAIL, NO_ANSWER, WRONG_NUMBER, DECLINED = (
        "answered",
        "voicemail",
        "no_answer",
        "wrong_number",
        "declined",
    )
    CALL_OUTCOMES = [
        (ANSWERED, "Answered on the phone (answers entered)"),
        (VOICEMAIL, "Left a voicemail"),
        (NO_ANSWER, "No answer"),
        (WRONG_NUMBER, "Wrong number"),
        (DECLINED, "Declined this check-in"),
    ]

    visit = models.ForeignKey(ReassessmentVisit, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(max_length=20)
    position = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    status = models.CharField(max_length=10, choices=STATUSES)
    # Why a step was skipped or failed; the provider's message id once sent.
    detail = models.CharField(max_length=300, blank=True)
    # Where it went: the email address or the E.164 number (empty for a skip, a call or letter).
    to = models.CharField(max_length=254, blank=True)
    # The clinic's day the step was taken (the fixed clock in tests).
    acted_on = models.DateField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A call task's outcome, who recorded it and when.
    call_outcome = models.CharField(max_length=15, choices=CALL_OUTCOMES, blank=True)
    call_note = models.CharField(max_length=500, blank=True)
    call_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    call_at = models.DateTimeField(null=True, blank=True)
    # A letter: printed (with a new link in its QR code) by whom and when.
    printed_at = models.DateTimeField(null=True, blank=True)
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["visit_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "step"], name="one_reminder_step_per_visit"),
            models.CheckConstraint(
                condition=models.Q(call_outcome="") | models.Q(channel="call"),
                name="call_outcome_only_on_calls",
            ),
        ]
        indexes = [models.Index(fields=["channel", "status"], name="reminder_step_tasks")]

    def __str__(self) -> str:
        return f"{self.visit.label}: {self.get_channel_display()} ({self.get_status_display()})"
