"""Reads for consultations: the records a step page shows, and a patient's latest decision."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from spinepath.consultations.models import (
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    PriorProcedure,
)
from spinepath.patients.models import Patient


def encounter_get(encounter_id: int) -> Encounter:
    return get_object_or_404(Encounter.objects.select_related("patient"), pk=encounter_id)


def studies_for(patient: Patient) -> QuerySet[ImagingStudy]:
    return ImagingStudy.objects.filter(patient=patient).prefetch_related("levels")


def blocks_for(patient: Patient) -> QuerySet[DiagnosticBlock]:
    return DiagnosticBlock.objects.filter(patient=patient)


def procedures_for(patient: Patient) -> QuerySet[PriorProcedure]:
    return PriorProcedure.objects.filter(patient=patient)


def latest_signed_decision(patient: Patient) -> CandidacyDecision | None:
    return (
        CandidacyDecision.objects.filter(patient=patient)
        .select_related("signed_by")
        .order_by("-signed_at", "-id")
        .first()
    )
