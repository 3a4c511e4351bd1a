"""Reads for consultations: the records a step page shows, and a patient's latest decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from spinepath.consultations.models import (
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    LevelFinding,
    PriorProcedure,
)
from spinepath.consultations.workup import workup_for_encounter
from spinepath.pathway.workup import InvalidWorkup
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


# The parts of a workup the candidacy decision reads. A change in any of them after signing
# means the signed decision no longer describes the consultation as it stands; demographics
# and the payer do not change a decision.
CLINICAL_KEYS = ("assessed_on", "history", "red_flags", "exam", "imaging", "diagnostic_blocks")


@dataclass(frozen=True)
class DecisionInForce:
    """A patient's latest signed decision and, when it cannot be relied on now, why."""

    signed: CandidacyDecision | None
    problem: str | None

    @property
    def is_candidate(self) -> bool:
        return self.problem is None and self.signed is not None and self.signed.is_candidate


def clinical_facts(workup_json: dict[str, Any]) -> dict[str, Any]:
    return {key: workup_json.get(key) for key in CLINICAL_KEYS}


def decision_in_force(patient: Patient) -> DecisionInForce:
    """The decision a plan or a procedure may rely on: the latest signed one, provided the
    consultation it was made from still stands as signed (no open amendment, no fact changed
    since - an edited MRI, a block added before the review day)."""
    signed = latest_signed_decision(patient)
    if signed is None:
        return DecisionInForce(None, "No candidacy decision has been signed.")
    encounter = signed.encounter
    if encounter.status == Encounter.AMENDING:
        return DecisionInForce(
            signed,
            f"The consultation of {encounter.assessed_on} is being amended: a new signed "
            "decision is needed first.",
        )
    try:
        now = workup_for_encounter(encounter).to_json_dict()
    except InvalidWorkup:
        now = None
    if now is None or clinical_facts(now) != clinical_facts(signed.workup_json):
        return DecisionInForce(
            signed,
            f"The facts of the consultation of {encounter.assessed_on} changed after it was "
            "signed: a clinician amends it and signs a new decision first.",
        )
    return DecisionInForce(signed, None)


@dataclass(frozen=True)
class FieldChange:
    """One changed field of a clinical record: who, when, the old and the new value."""

    at: datetime
    user: str
    record: str
    field: str
    old: object
    new: object


_HISTORY_SKIP = {"id", "history_id", "history_date", "history_change_reason", "history_type"}
_HISTORY_SKIP |= {"history_user", "history_user_id", "updated_at", "last_step", "start_key"}
_HISTORY_SKIP |= {"patient", "patient_id", "study", "study_id", "updated_by", "updated_by_id"}


def _record_label(model: str, row: Any) -> str:
    if model == "Encounter":
        return f"consultation {row.assessed_on}"
    if model == "ImagingStudy":
        return f"{row.modality} {row.performed_on}"
    if model == "LevelFinding":
        return f"finding {row.level} (study {row.study_id})"
    if model == "DiagnosticBlock":
        return f"{row.get_kind_display()} {row.performed_on}"
    return f"prior {row.get_kind_display()} {row.performed_on}"


def field_changes(patient: Patient, *, per_record_type: int = 200) -> list[FieldChange]:
    """The field-level history of a patient's clinical records, newest first.

    One query per kind of record, whatever the number of changes: consecutive versions of
    each record are compared here. A record's first version is its creation, not a change.
    """
    sources: list[tuple[str, Any]] = [
        ("Encounter", Encounter.history.filter(patient_id=patient.pk)),
        ("ImagingStudy", ImagingStudy.history.filter(patient_id=patient.pk)),
        ("LevelFinding", LevelFinding.history.filter(study__patient_id=patient.pk)),
        ("DiagnosticBlock", DiagnosticBlock.history.filter(patient_id=patient.pk)),
        ("PriorProcedure", PriorProcedure.history.filter(patient_id=patient.pk)),
    ]
    changes: list[FieldChange] = []
    for model, rows in sources:
        recent = list(
            rows.select_related("history_user").order_by("-history_date", "-history_id")[
                :per_record_type
            ]
        )
        recent.reverse()
        previous: dict[int, Any] = {}
        for row in recent:
            before = previous.get(row.id)
            previous[row.id] = row
            if before is None or row.history_type != "~":
                continue
            user = row.history_user.get_username() if row.history_user else "(system)"
            for field in row._meta.fields:
                name = field.attname
                if name in _HISTORY_SKIP:
                    continue
                old, new = getattr(before, name), getattr(row, name)
                if old != new:
                    changes.append(
                        FieldChange(
                            row.history_date, user, _record_label(model, row), name, old, new
                        )
                    )
    changes.sort(key=lambda c: c.at, reverse=True)
    return changes
