"""Writes to patient records."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.patients.models import Patient


@transaction.atomic
def patient_create(*, request: Any = None, user: Any = None, **fields: Any) -> Patient:
    patient = Patient(**fields)
    patient.full_clean(exclude=["mrn"])
    patient.save()
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
