"""The consultation and everything recorded in it, named after FHIR R4 resources.

An unrecorded fact is NULL, never false or zero: the candidacy engine reads it as "unknown".
Imaging, blocks and prior procedures belong to the patient (they outlive one consultation);
the workup of a consultation takes those dated on or before its review day.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from spinepath.pathway.ichom import ANALGESIC_USE, NRS_MAX, SMOKING_STATUS, WORK_STATUS
from spinepath.patients.models import Patient

LEVEL_CHOICES = [(lv, lv) for lv in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")]
SIDE_CHOICES = [("left", "Left"), ("right", "Right"), ("bilateral", "Both sides")]

# Codes kept next to what they describe (only codes we are sure of).
LOINC_PAIN_SEVERITY = "38208-5"  # Pain severity - Reported (the baseline VAS observation)


class LowBackPainAnswers(models.Model):
    """The ICHOM low back pain measures as a patient gives them (PATHWAY.md section 11,
    pathway/ichom.py): back and leg pain 0-10, work status, analgesic and opioid use; NULL or
    blank where not asked. The consultation's baseline and every check-in hold them; their
    constraints are :func:`low_back_pain_constraints`."""

    back_pain_nrs = models.PositiveSmallIntegerField(null=True, blank=True)
    leg_pain_nrs = models.PositiveSmallIntegerField(null=True, blank=True)
    work_status = models.CharField(max_length=24, blank=True, choices=list(WORK_STATUS.items()))
    analgesic_use = models.CharField(max_length=10, blank=True, choices=list(ANALGESIC_USE.items()))
    opioid_use = models.BooleanField(null=True, blank=True)

    class Meta:
        abstract = True


def low_back_pain_constraints(prefix: str) -> list[models.CheckConstraint]:
    """0-10 for the pain scores, and no opioid without pain medication (the opioid question
    asks about the medication taken for the back or leg), named ``prefix_...``."""
    return [
        models.CheckConstraint(
            condition=models.Q(back_pain_nrs__isnull=True) | models.Q(back_pain_nrs__lte=NRS_MAX),
            name=f"{prefix}_back_pain_0_to_10",
        ),
        models.CheckConstraint(
            condition=models.Q(leg_pain_nrs__isnull=True) | models.Q(leg_pain_nrs__lte=NRS_MAX),
            name=f"{prefix}_leg_pain_0_to_10",
        ),
        models.CheckConstraint(
            condition=~models.Q(analgesic_use="none", opioid_use=True),
            name=f"{prefix}_no_opioid_without_analgesic",
        ),
    ]


class Encounter(LowBackPainAnswers):
    """A consultation (FHIR Encounter): the four steps of PATHWAY.md section 2."""

    IN_PROGRESS = "in-progress"
    FINISHED = "finished"  # signed: locked until a clinician opens an amendment
    AMENDING = "amending"  # signed, then reopened with a reason; a new signature closes it
    STEPS = ["history", "exam", "imaging", "review"]

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    assessed_on = models.DateField("review date")
    status = models.CharField(
        max_length=20,
        choices=[(IN_PROGRESS, "In progress"), (FINISHED, "Signed"), (AMENDING, "Being amended")],
        default=IN_PROGRESS,
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_step = models.CharField(max_length=20, default="history")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    # Intake & history (FHIR Condition onset, Observations)
    pain_duration_months = models.FloatField(null=True, blank=True)
    pattern = models.CharField(
        max_length=10,
        blank=True,
        choices=[
            ("axial", "Mostly back (axial)"),
            ("radicular", "Mostly leg (radicular)"),
            ("mixed", "Back and leg about equally"),
        ],
    )
    physical_therapy_weeks = models.FloatField(null=True, blank=True)
    nsaid_trial = models.BooleanField(null=True, blank=True)
    conservative_status = models.CharField(
        max_length=12,
        blank=True,
        choices=[
            ("not_tried", "Not tried"),
            ("improving", "Still improving"),
            ("plateaued", "Plateaued"),
        ],
    )
    prior_procedures_asked = models.BooleanField(null=True, blank=True)
    medications = models.TextField(blank=True, help_text="One per line.")
    goals = models.TextField(blank=True, max_length=4000)
    # Red-flag screen
    red_cauda_equina = models.BooleanField(null=True, blank=True)
    red_infection = models.BooleanField(null=True, blank=True)
    red_malignancy = models.BooleanField(null=True, blank=True)
    red_fracture = models.BooleanField(null=True, blank=True)
    # Baseline patient-reported outcomes (LOINC 38208-5 pain; 72105-0 ODI)
    pain_vas = models.FloatField(null=True, blank=True)
    odi_sections = models.JSONField(null=True, blank=True)
    # The ICHOM low back pain measures at baseline: LowBackPainAnswers (above) ...
    # ... and the case-mix for risk adjustment. Age and sex are the patient's; pain duration is
    # pain_duration_months above; an earlier spine surgery is a PriorProcedure. Comorbidities:
    # NULL not recorded, ["none"] none of the list, else the conditions' keys.
    height_cm = models.FloatField(null=True, blank=True)
    weight_kg = models.FloatField(null=True, blank=True)
    smoking_status = models.CharField(
        max_length=8, blank=True, choices=list(SMOKING_STATUS.items())
    )
    comorbidities = models.JSONField(null=True, blank=True)
    # Focused exam
    motor_deficit = models.CharField(
        max_length=12,
        blank=True,
        choices=[("none", "None"), ("stable", "Stable"), ("progressive", "Progressive")],
    )
    radiculopathy_onset = models.CharField(
        max_length=8, blank=True, choices=[("acute", "Acute"), ("chronic", "Chronic")]
    )
    facet_pattern = models.BooleanField(null=True, blank=True)
    si_provocation_positive = models.PositiveSmallIntegerField(null=True, blank=True)
    ligament_tenderness = models.BooleanField(null=True, blank=True)
    range_of_motion = models.CharField(max_length=300, blank=True)
    strength = models.CharField(max_length=300, blank=True)
    # Who stated each field last, by role ({"pattern": "clinician", ...}): what a clinician
    # recorded is changed only by a clinician (PATHWAY.md section 9).
    stated_by = models.JSONField(default=dict, blank=True, editable=False)
    # One consultation per "New consultation" submission, however often it is sent.
    start_key = models.CharField(max_length=64, unique=True, null=True, editable=False)

    # Field-level history of every change: who, when, the old and the new value.
    history = HistoricalRecords(excluded_fields=["updated_at", "last_step"])

    class Meta:
        ordering = ["-assessed_on", "-id"]
        indexes = [models.Index(fields=["patient", "-assessed_on"])]
        constraints = [
            *low_back_pain_constraints("baseline"),
        ]

    @property
    def is_locked(self) -> bool:
        """Signed and not reopened: its facts are read-only until a clinician amends it."""
        return self.status == self.FINISHED

    def __str__(self) -> str:
        return f"Consultation {self.assessed_on} ({self.patient})"


class PriorProcedure(models.Model):
    """An earlier spine procedure (FHIR Procedure, status completed)."""

    KINDS = [
        ("discectomy", "Discectomy"),
        ("fusion", "Fusion"),
        ("laminectomy", "Laminectomy"),
        ("disc_replacement", "Disc replacement"),
        ("radiofrequency_ablation", "Radiofrequency ablation"),
        ("epidural_steroid", "Epidural steroid injection"),
        ("facet_steroid", "Facet steroid injection"),
        ("regenerative_injection", "Regenerative injection"),
        ("other", "Other"),
    ]
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="procedures")
    kind = models.CharField(max_length=30, choices=KINDS)
    performed_on = models.DateField()
    levels = models.JSONField(default=list, blank=True)
    improved_after = models.BooleanField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["performed_on", "id"]


class ImagingStudy(models.Model):
    """An imaging study and its report (FHIR ImagingStudy + DiagnosticReport)."""

    MODALITIES = [("MRI", "MRI"), ("CT", "CT"), ("XR", "X-ray")]
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="imaging")
    modality = models.CharField(max_length=3, choices=MODALITIES, default="MRI")
    performed_on = models.DateField("study date")
    # The MRI review is a clinician's attestation of the study as recorded: who and when.
    # Changing the date or any finding clears it; an imported study arrives unreviewed.
    reviewed = models.BooleanField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    infection = models.BooleanField(null=True, blank=True)
    malignancy = models.BooleanField(null=True, blank=True)
    fracture = models.CharField(
        max_length=8,
        blank=True,
        choices=[("none", "None"), ("healed", "Healed"), ("acute", "Acute")],
    )
    report = models.TextField(blank=True)
    # Imported from DICOM (spinepath/consultations/dicom.py): the study's identity and what
    # its files say. Its date comes from the files and is never typed.
    study_uid = models.CharField(
        "DICOM study UID", max_length=64, unique=True, null=True, blank=True
    )
    description = models.CharField(max_length=200, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    series = models.JSONField(null=True, blank=True)
    # New information does not wait for a locked record (PATHWAY.md section 9): a study dated
    # inside a signed consultation that arrives after the signature is filed into the next
    # consultation, and counts for it and every later one, never for the signed one.
    filed_into = models.ForeignKey(
        "Encounter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="studies_filed",
        editable=False,
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-performed_on", "-id"]
        constraints = [
            # A study is reviewed only with its reviewer and the time of the review.
            models.CheckConstraint(
                condition=~models.Q(reviewed=True)
                | (models.Q(reviewed_by__isnull=False) & models.Q(reviewed_at__isnull=False)),
                name="reviewed_study_names_its_reviewer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.modality} {self.performed_on}"


class LevelFinding(models.Model):
    """Per-level findings of a study (FHIR Observation, component per finding)."""

    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="levels")
    level = models.CharField(max_length=5, choices=LEVEL_CHOICES)
    pfirrmann = models.PositiveSmallIntegerField(null=True, blank=True)
    modic = models.PositiveSmallIntegerField(null=True, blank=True)
    disc_height_loss_pct = models.FloatField(null=True, blank=True)
    endplate_bone_on_bone = models.BooleanField(null=True, blank=True)
    herniation = models.CharField(
        max_length=14,
        blank=True,
        choices=[
            ("none", "None"),
            ("bulge", "Bulge"),
            ("protrusion", "Protrusion"),
            ("extrusion", "Extrusion"),
            ("sequestration", "Sequestration"),
        ],
    )
    nerve_root_compression = models.BooleanField(null=True, blank=True)
    facet_arthropathy = models.PositiveSmallIntegerField(null=True, blank=True)
    ligament_injury = models.BooleanField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["level"]
        constraints = [
            models.UniqueConstraint(fields=["study", "level"], name="one_finding_per_level")
        ]


class DiagnosticBlock(models.Model):
    """A diagnostic block or discography (FHIR Procedure with an Observation of the relief)."""

    KINDS = [
        ("medial_branch", "Medial branch block"),
        ("sacroiliac", "Sacroiliac joint block"),
        ("discography", "Provocative discography"),
    ]
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="blocks")
    kind = models.CharField(max_length=15, choices=KINDS)
    performed_on = models.DateField()
    levels = models.JSONField(default=list, blank=True)
    side = models.CharField(max_length=10, choices=SIDE_CHOICES, blank=True)
    relief_pct = models.FloatField(null=True, blank=True)
    concordant = models.BooleanField(null=True, blank=True)
    # A block confirms or excludes a pain generator, so it counts only once a clinician has
    # stated it: entered by a clinician, or an imported one a clinician has verified.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    # The form that recorded it: a repeat of one submission finds this block.
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)

    class Meta:
        ordering = ["-performed_on", "-id"]

    @property
    def is_verified(self) -> bool:
        return self.verified_by_id is not None


class SignedDecisionError(Exception):
    pass


class CandidacyDecision(models.Model):
    """A signed candidacy decision: never edited; a new review makes a new decision."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="decisions")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=20, db_index=True)
    decision_json = models.JSONField()
    workup_json = models.JSONField()
    policy_name = models.CharField(max_length=100)
    policy_version = models.CharField(max_length=50)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(auto_now_add=True)
    # One signature per review page load: a double submission signs once.
    signature_token = models.CharField(max_length=64, unique=True)
    # SHA-256 of the exact workup, policy and decision the clinician saw and signed.
    fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["patient", "-signed_at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise SignedDecisionError("a signed decision is never edited")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise SignedDecisionError("a signed decision is never deleted")


class Amendment(models.Model):
    """A signed consultation reopened by a clinician, with the reason.

    The earlier values stay in the field-level history; the amendment is closed by the next
    signed decision, and until then no plan or procedure relies on the consultation.
    """

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="amendments")
    reason = models.TextField(max_length=2000)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    # The decision signed after the amendment (NULL while the amendment is open).
    closed_by = models.ForeignKey(
        CandidacyDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter"],
                condition=models.Q(closed_by__isnull=True),
                name="one_open_amendment_per_encounter",
            )
        ]
