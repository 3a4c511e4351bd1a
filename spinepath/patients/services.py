"""Writes to patient records."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from unidecode import unidecode

from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict
from spinepath.patients.models import Patient


def fold_name(name: str) -> str:
    """A name as compared for "the same person": case, accents, punctuation and spacing
    ignored ("López-" and "lopez" are one name)."""
    letters = "".join(c if c.isalnum() else " " for c in unidecode(name or "").casefold())
    return " ".join(letters.split())


class PossibleDuplicate(Conflict):
    """A chart with the same name and birth date exists: open it, or confirm another person."""

    title = "This patient may already have a chart"

    def __init__(self, existing: Patient) -> None:
        self.existing = existing
        born = existing.birth_date.isoformat() if existing.birth_date else ""
        message = (
            f"A chart for {existing.display_name}, born {born}, already exists "
            f"({existing.mrn}). Open that chart, or confirm that this is another person."
        )
        super().__init__(message, fields={"confirm_other_person": message}, code="duplicate")


def _same_person(given: str, family: str, born: Any) -> Patient | None:
    """A chart with the same names (ignoring case and accents) and the same birth date."""
    if born is None:
        return None
    key = (fold_name(given), fold_name(family))
    for candidate in Patient.objects.filter(birth_date=born):
        if (fold_name(candidate.given_name), fold_name(candidate.family_name)) == key:
            return candidate
    return None


@transaction.atomic
def patient_create(
    *,
    request: Any = None,
    user: Any = None,
    submission_key: str | None = None,
    other_person: bool = True,
    **fields: Any,
) -> Patient:
    """A new chart, once per ``submission_key`` (a repeat returns the first). With
    ``other_person`` False (the New patient form), a chart whose names and birth date match an
    existing one is refused with that chart, until the coordinator confirms another person."""
    if submission_key is not None:
        earlier = Patient.objects.filter(submission_key=submission_key).first()
        if earlier is not None:
            return earlier
    if not other_person:
        existing = _same_person(
            fields.get("given_name", ""), fields.get("family_name", ""), fields.get("birth_date")
        )
        if existing is not None:
            raise PossibleDuplicate(existing)
    patient = Patient(submission_key=submission_key, **fields)
    patient.full_clean(exclude=["mrn", "submission_key"])
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # The same submission committed in parallel: its chart is the one.
        return Patient.objects.get(submission_key=submission_key)
    patient.mrn = f"SP{patient.pk:07d}"
    patient.save(update_fields=["mrn"])
    audit_record(
        request=request, user=user, action=AuditEvent.CREATE, what="patient record", patient=patient
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, request: Any = None, **fields: Any) -> Patient:
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.full_clean()
    patient.save()
    audit_record(request=request, action=AuditEvent.UPDATE, what="demographics", patient=patient)
    return patient
