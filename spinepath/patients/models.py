"""The patient (FHIR Patient, with the payer as a FHIR Coverage type)."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords
from unidecode import unidecode

SEX_CHOICES = [("female", "Female"), ("male", "Male"), ("other", "Other"), ("unknown", "Unknown")]
PAYER_CHOICES = [
    ("self_pay", "Self-pay"),
    ("commercial", "Commercial insurance"),
    ("medicare_ab_supplement", "Medicare Parts A & B with supplement"),
    ("medicare_ab", "Medicare Parts A & B"),
    ("medicare_advantage", "Medicare Advantage"),
    ("medicaid", "Medicaid"),
    ("other", "Other"),
]


# Patients made by `spinepath demo-data` (a synthetic cohort for the outcomes dashboard and
# benchmarks) have record ids starting with this; lists show the clinic's own patients first.
SYNTHETIC_ID_PREFIX = "synthetic-"


_DROPPED = re.compile(r"[\'’`.]")  # O'Brien -> obrien, St. John -> st john
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def search_form(text: str) -> str:
    """A name as the search compares it: transliterated to ASCII (Zoë -> zoe, Łukasz ->
    lukasz, Иванова -> ivanova), lower case, apostrophes and dots dropped, hyphens and other
    punctuation as spaces. Stored names and typed queries both go through it."""
    folded = _DROPPED.sub("", unidecode(text).lower())
    return " ".join(_SEPARATORS.sub(" ", folded).split())


def name_key(first: str, second: str) -> str:
    return f"{search_form(first)} {search_form(second)}".strip()


class Patient(models.Model):
    # The clinic's record number (FHIR Patient.identifier), assigned on creation.
    mrn = models.CharField("record number", max_length=20, unique=True, null=True)
    # The id the patient has in imported workups (spinepath.workup/1 patient.id).
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The "New patient" form that created the chart: a repeat of one submission finds it.
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)
    given_name = models.CharField("first name", max_length=100)
    family_name = models.CharField("last name", max_length=100)
    birth_date = models.DateField("date of birth", null=True, blank=True, db_index=True)
    sex = models.CharField(max_length=10, choices=SEX_CHOICES, blank=True)
    email = models.EmailField(blank=True)
    # Stored in E.164 (+15550100123): written by staff in the clinic's own format and parsed
    # by :func:`spinepath.patients.phones.e164`.
    phone = models.CharField(max_length=40, blank=True)
    # A coordinator's call found the number wrong: no texts or calls to it until it changes.
    phone_wrong_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The postal address, for the reminder letter (and the distance band of the follow-up
    # completion, from the ZIP code's centre to the clinic's).
    address_line = models.CharField("street address", max_length=200, blank=True)
    address_city = models.CharField("city", max_length=100, blank=True)
    address_state = models.CharField("state", max_length=2, blank=True)
    postcode = models.CharField("ZIP code", max_length=10, blank=True)
    distance_km = models.FloatField(null=True, blank=True, editable=False)
    # How the patient agreed to be reminded of follow-up check-ins (PATHWAY.md section 11):
    # asked when they accept their plan, changed on their own pages.
    remind_by_email = models.BooleanField("email", default=True)
    remind_by_sms = models.BooleanField("text message", default=True)
    remind_by_call = models.BooleanField("phone call", default=True)
    remind_by_letter = models.BooleanField("letter by post", default=True)
    reminder_choices_at = models.DateTimeField(null=True, blank=True, editable=False)
    payer = models.CharField(max_length=30, choices=PAYER_CHOICES, blank=True)
    # Staff changed the email or phone: no link to the patient's own pages or questionnaires
    # goes out until the patient confirms the change from the address on file before it
    # (``contact_previous_email``), or another staff member confirms it in person.
    contact_held_at = models.DateTimeField(null=True, blank=True, editable=False)
    contact_held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    contact_previous_email = models.EmailField(blank=True, editable=False)
    # Everyone who changed the email or phone while the hold stood (user ids): none of them
    # confirms the change in person.
    contact_changed_by = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Lower-cased "family given" and "given family": indexed prefix search by name.
    family_key = models.CharField(max_length=201, db_index=True, editable=False)
    given_key = models.CharField(max_length=201, db_index=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at", "family_key", "given_key"])

    class Meta:
        ordering = ["family_key", "id"]

    def clean(self) -> None:
        from spinepath.patients.phones import address_problems, e164

        problems = address_problems(self)
        if self.phone:
            try:
                self.phone = e164(self.phone)
            except ValueError as exc:
                problems["phone"] = str(exc)
        if problems:
            raise ValidationError(problems)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.family_key = name_key(self.family_name, self.given_name)
        self.given_key = name_key(self.given_name, self.family_name)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def is_synthetic(self) -> bool:
        return (self.external_id or "").startswith(SYNTHETIC_ID_PREFIX)

    @property
    def contact_version(self) -> str:
        """What a confirmation of changed contact details binds: the hold and the details
        held (a confirmation from a page shown before a later change is refused)."""
        held = self.contact_held_at.isoformat() if self.contact_held_at else ""
        address = "|".join(
            (self.address_line, self.address_city, self.address_state, self.postcode)
        )
        text = f"{held}|{self.email}|{self.phone}|{address}"
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def has_postal_address(self) -> bool:
        return bool(self.address_line and self.address_city and self.postcode)

    @property
    def postal_lines(self) -> list[str]:
        place = " ".join(p for p in (self.address_city + ",", self.address_state, self.postcode))
        return [self.display_name, self.address_line, place.strip(" ,")]

    @property
    def reminder_choices(self) -> dict[str, bool]:
        return {
            "email": self.remind_by_email,
            "sms": self.remind_by_sms,
            "call": self.remind_by_call,
            "letter": self.remind_by_letter,
        }

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


# The clinic's own record number, as FHIR names it (Patient.identifier.system).
MRN_SYSTEM = "urn:spinepath:mrn"


def identifier_system(system: str) -> str:
    """A system as kept: without surrounding spaces or a trailing /, and an address's scheme and
    host in lower case (they are the same address in any case)."""
    system = system.strip().rstrip("/")
    parts = urlsplit(system)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        system = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()
    return system


class PatientIdentifier(models.Model):
    """An identifier the patient has in another system - the EHR's patient id, another
    clinic's record number - as FHIR names one: a system (a URI) and a value. Staff add them;
    CDS Hooks find the chart by them; the FHIR API carries them. One system's value names one
    chart."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="identifiers")
    system = models.CharField(max_length=255)
    value = models.CharField(max_length=64)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["system", "value"]
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="one_chart_per_identifier")
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"
