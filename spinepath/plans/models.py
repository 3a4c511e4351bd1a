"""Prices, written plans (FHIR CarePlan) and procedure records (FHIR Procedure).

A price change makes a new PriceVersion; a plan line keeps the version and amount it was
written with. An accepted plan is frozen: a change makes a new plan version that supersedes it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from spinepath.consultations.models import LEVEL_CHOICES, SIDE_CHOICES, CandidacyDecision
from spinepath.pathway.biologics import PRODUCT_KINDS, SOURCES
from spinepath.patients.models import Patient

CATEGORY_CHOICES = [
    ("regenerative", "Regenerative injection"),
    ("shockwave", "Shockwave therapy"),
    ("diagnostic", "Diagnostic block"),
    ("visit", "Visit"),
    ("imaging", "Imaging"),
    ("other", "Other"),
]
MATERIAL_CHOICES = [("msc", "MSC"), ("exosome", "Exosome"), ("prp", "PRP")]
GUIDANCE_CHOICES = [("fluoroscopy", "Fluoroscopy"), ("ct", "CT"), ("ultrasound", "Ultrasound")]
GENERATOR_CHOICES = [
    ("discogenic", "Disc"),
    ("facet", "Facet joint"),
    ("myoligamentous", "Ligament / muscle attachment"),
    ("sacroiliac", "Sacroiliac joint"),
]
PHASE_CHOICES = [("prepare", "Prepare"), ("inject", "Inject"), ("follow", "Follow")]
PRODUCT_KIND_CHOICES = list(PRODUCT_KINDS.items())
SOURCE_CHOICES = list(SOURCES.items())


class FrozenError(Exception):
    pass


class PriceItem(models.Model):
    """Something the clinic charges for (FHIR ChargeItemDefinition)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=15, choices=CATEGORY_CHOICES)
    unit = models.CharField(max_length=40, help_text="e.g. per level, per joint, per session")
    # For injections: the target it prices (the plan builder matches it to the decision).
    generator = models.CharField(max_length=15, choices=GENERATOR_CHOICES, blank=True)
    material = models.CharField(max_length=10, choices=MATERIAL_CHOICES, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name

    def current_version(self) -> PriceVersion | None:
        # Versions are only ever added: the last one written is the one in force.
        return self.versions.order_by("-id").first()


class PriceVersion(models.Model):
    item = models.ForeignKey(PriceItem, on_delete=models.PROTECT, related_name="versions")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    effective_from = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise FrozenError("a price version is never changed; add a new one")
        super().save(*args, **kwargs)


class FinancingTerms(models.Model):
    """The clinic's financing settings; the latest row is in force, plans copy it."""

    provider = models.CharField(max_length=100, default="Clinic payment plan")
    term_months = models.PositiveSmallIntegerField(default=12)
    annual_rate_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "financing terms"


class CarePlan(models.Model):
    # The clinic's working draft until a clinician releases it to the patient; only the
    # released version is offered and may be accepted (PATHWAY.md section 4).
    DRAFT = "draft"
    RELEASED = "released"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    STATUSES = [
        (DRAFT, "Draft"),
        (RELEASED, "Released to the patient"),
        (ACCEPTED, "Accepted"),
        (SUPERSEDED, "Superseded"),
    ]

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    decision = models.ForeignKey(CandidacyDecision, on_delete=models.PROTECT, related_name="plans")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=STATUSES, default=DRAFT)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    payer = models.CharField(max_length=30, blank=True)
    financing_provider = models.CharField(max_length=100, blank=True)
    financing_term_months = models.PositiveSmallIntegerField(default=12)
    financing_rate_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Released to the patient: when, by which clinician, and the content they released.
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_content_hash = models.CharField(max_length=64, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_name = models.CharField(max_length=200, blank=True)
    accepted_address = models.GenericIPAddressField(null=True, blank=True)
    accepted_total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # SHA-256 of the written plan's content as the patient read it when accepting.
    accepted_content_hash = models.CharField(max_length=64, blank=True)
    # The PDF printed at acceptance: the exact document the patient accepted, and its SHA-256.
    accepted_pdf = models.BinaryField(null=True, blank=True, editable=False)
    accepted_pdf_sha256 = models.CharField(max_length=64, blank=True)
    # Who accepted: the patient on their own pages, or in the clinic before a staff witness.
    BY_PATIENT = "patient"
    IN_PERSON = "in_person"
    accepted_by = models.CharField(
        max_length=10,
        blank=True,
        choices=[(BY_PATIENT, "By the patient, online"), (IN_PERSON, "In person, witnessed")],
    )
    accepted_witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_consent = models.TextField(blank=True)
    # "Patients like you" as the patient read them when accepting (the odds document of
    # spinepath/outcomes/odds.py): bound into the accepted content's hash and printed in the PDF.
    accepted_odds = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-version", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "version"], name="one_plan_per_version"),
            # A second click or a parallel request opens the same draft, never a second one.
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(status="draft"), name="one_draft_per_patient"
            ),
            # One version offered to the patient at a time.
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="released"),
                name="one_released_plan_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"Plan v{self.version} for {self.patient}"

    @property
    def is_frozen(self) -> bool:
        return self.status != self.DRAFT


class PlanLine(models.Model):
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="lines")
    phase = models.CharField(max_length=8, choices=PHASE_CHOICES)
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=200)
    price_item = models.ForeignKey(PriceItem, on_delete=models.PROTECT, related_name="+")
    price_version = models.ForeignKey(PriceVersion, on_delete=models.PROTECT, related_name="+")
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveSmallIntegerField(default=1)
    # An injection session: the target as confirmed in the decision.
    generator = models.CharField(max_length=15, choices=GENERATOR_CHOICES, blank=True)
    level = models.CharField(max_length=5, choices=LEVEL_CHOICES, blank=True)
    side = models.CharField(max_length=10, choices=SIDE_CHOICES, blank=True)
    material = models.CharField(max_length=10, choices=MATERIAL_CHOICES, blank=True)
    guidance = models.CharField(max_length=12, choices=GUIDANCE_CHOICES, blank=True)
    planned_on = models.DateField(null=True, blank=True)
    # The product of an injection (PATHWAY.md section 10): its kind (empty on lines written
    # before plans named it: not stated) and, for a kind given under an IND, the IND number
    # ("IND 012345"). The route of the kind is the clinic's policy.
    product_kind = models.CharField(max_length=16, choices=PRODUCT_KIND_CHOICES, blank=True)
    ind_number = models.CharField("IND number", max_length=12, blank=True)
    # The "add" form that made it: a double click or parallel posts add one line, not two.
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)

    class Meta:
        ordering = ["plan", "position", "id"]


class BiologicProduct(models.Model):
    """A product in the clinic's catalogue (FHIR BiologicallyDerivedProduct's definition): what
    it is, where it comes from, who made or processed it. Kept by the clinic admin; never
    deleted once a lot of it was used."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=PRODUCT_KIND_CHOICES)
    source = models.CharField(max_length=12, choices=SOURCE_CHOICES)
    establishment = models.CharField(
        max_length=160, help_text="The establishment that made or processed it, with its FEI."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductLot(models.Model):
    """A lot of a product: its distinct identification code (scanned from the label), the lot
    number and the expiry. Which patients received it is one query (the look-back)."""

    product = models.ForeignKey(BiologicProduct, on_delete=models.PROTECT, related_name="lots")
    lot = models.CharField(max_length=60)
    code = models.CharField(
        "distinct identification code", max_length=80, unique=True, help_text="As on the label."
    )
    expires_on = models.DateField()
    donor = models.CharField(max_length=60, blank=True, help_text="Donor id, for allogeneic.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Recalled by its maker or the clinic (PATHWAY.md section 10): never injected again; the
    # look-back finds who received it.
    recalled_on = models.DateField(null=True, blank=True)
    recall_reason = models.TextField(blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product", "expires_on", "lot"]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot"], name="one_lot_number_per_product")
        ]

    def __str__(self) -> str:
        return f"{self.product.name}, lot {self.lot} (expires {self.expires_on})"


class ProcedureQuerySet(models.QuerySet["Procedure"]):
    def not_voided(self) -> ProcedureQuerySet:
        return self.filter(voided_at__isnull=True)


class Procedure(models.Model):
    """An image-guided injection as performed (FHIR Procedure).

    A wrong entry is voided with a reason, never deleted (PATHWAY.md section 7): it stays on
    the record, struck through, and leaves the follow-up schedule and the outcomes.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="regen_procedures")
    plan = models.ForeignKey(CarePlan, on_delete=models.PROTECT, related_name="procedures")
    performed_on = models.DateField()
    generator = models.CharField(max_length=15, choices=GENERATOR_CHOICES)
    level = models.CharField(max_length=5, choices=LEVEL_CHOICES, blank=True)
    side = models.CharField(max_length=10, choices=SIDE_CHOICES, blank=True)
    material = models.CharField(max_length=10, choices=MATERIAL_CHOICES)
    dose = models.CharField(max_length=100, blank=True, help_text="e.g. 10 million cells")
    # The volume given at the level (ml per level); empty on records made before it was asked.
    volume_ml = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    guidance = models.CharField(max_length=12, choices=GUIDANCE_CHOICES)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    complications = models.TextField(blank=True)
    # The biologic injected (PATHWAY.md section 10): the lot of a catalogue product (every
    # record names one since issue 26; empty on records made before the catalogue), and the
    # dose as measured.
    lot = models.ForeignKey(
        ProductLot, null=True, blank=True, on_delete=models.PROTECT, related_name="injections"
    )
    cells_million = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    viability_pct = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    platelets_k_per_ul = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    leukocytes_k_per_ul = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    # The IND the injection was given under, copied from the accepted plan's line.
    ind_number = models.CharField("IND number", max_length=12, blank=True)
    # Fluoroscopy as the machine reports it (PATHWAY.md section 10): screening time and the
    # cumulative air kerma at the interventional reference point. Empty under other guidance.
    fluoroscopy_seconds = models.PositiveIntegerField(null=True, blank=True)
    air_kerma_mgy = models.DecimalField(
        "air kerma (mGy)", max_digits=7, decimal_places=2, null=True, blank=True
    )
    # The pre-procedure checks, confirmed by the operator, and who led the time-out. Null on
    # records made before they were asked.
    consent_confirmed = models.BooleanField(null=True, blank=True)
    site_marked = models.BooleanField(null=True, blank=True)
    time_out_done = models.BooleanField(null=True, blank=True)
    time_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # The key rendered into the form that recorded it: a repeat of one submission (a double
    # click, a resent request) finds this record instead of making a second one.
    submission_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    void_reason = models.TextField(blank=True)

    objects = ProcedureQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["submission_key"], name="one_procedure_per_submission"),
            # Voided says who, when and why, all three or none.
            models.CheckConstraint(
                condition=(
                    models.Q(voided_at__isnull=True, voided_by__isnull=True, void_reason="")
                    | (
                        models.Q(voided_at__isnull=False, voided_by__isnull=False)
                        & ~models.Q(void_reason="")
                    )
                ),
                name="void_names_who_when_why",
            ),
        ]

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None
