"""Reads for consultations: the records a step page shows, and a patient's latest decision."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from spinepath.consultations.models import (
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    LevelFinding,
    PriorProcedure,
)
from spinepath.consultations.workup import PatientRecords, patient_records, workup_for_encounter
from spinepath.pathway import gates
from spinepath.pathway.gates import InForce
from spinepath.pathway.ichom import (
    age_on,
    bmi_if_known,
    comorbidity_count,
    previous_spine_surgery,
)
from spinepath.pathway.standing import (
    Consultation,
    Mri,
    Signature,
    Standing,
    advised_kinds,
    clinical_facts,
    consultations_in_review_order,
    needs_reading,
    signed_targets,
)
from spinepath.pathway.workup import InvalidWorkup, Workup
from spinepath.patients.models import Patient


def encounter_get(encounter_id: int) -> Encounter:
    return get_object_or_404(Encounter.objects.select_related("patient"), pk=encounter_id)


@dataclass(frozen=True)
class CaseMix:
    """The ICHOM case-mix of a consultation (PATHWAY.md section 11), read from what the clinic
    records: age and sex from the patient, BMI from height and weight, an earlier spine
    surgery from the earlier procedures dated on or before the review. None: not recorded."""

    age: int | None
    sex: str
    bmi: float | None
    pain_duration_months: float | None
    previous_spine_surgery: bool | None
    comorbidity_count: int | None


def casemix_of(encounter: Encounter) -> CaseMix:
    patient = encounter.patient
    kinds = PriorProcedure.objects.filter(
        patient=patient, performed_on__lte=encounter.assessed_on
    ).values_list("kind", flat=True)
    return CaseMix(
        age=age_on(patient.birth_date, encounter.assessed_on),
        sex=patient.get_sex_display() if patient.sex else "",
        bmi=bmi_if_known(encounter.height_cm, encounter.weight_kg),
        pain_duration_months=encounter.pain_duration_months,
        previous_spine_surgery=previous_spine_surgery(kinds, encounter.prior_procedures_asked),
        comorbidity_count=comorbidity_count(encounter.comorbidities),
    )


def studies_for(patient: Patient) -> QuerySet[ImagingStudy]:
    return ImagingStudy.objects.filter(patient=patient).prefetch_related("levels")


def blocks_for(patient: Patient) -> QuerySet[DiagnosticBlock]:
    return DiagnosticBlock.objects.filter(patient=patient)


def procedures_for(patient: Patient) -> QuerySet[PriorProcedure]:
    return PriorProcedure.objects.filter(patient=patient)


def latest_signed_decision(patient: Patient) -> CandidacyDecision | None:
    """The decision in force's signed record, whatever its problem (None: nothing signed).

    "Latest" follows the review date of the consultations (PATHWAY.md section 9), never the
    time of signing: a late signature of an older consultation does not take force."""
    return decision_in_force(patient).signed


def _signature(decision: CandidacyDecision) -> Signature:
    return Signature(
        decision_id=decision.pk,
        kind=decision.decision,
        signed_on=timezone.localdate(decision.signed_at),
        signed_by=decision.signed_by.get_full_name() or decision.signed_by.get_username(),
        signed_at=decision.signed_at,
        targets=signed_targets(decision.decision_json),
        facts_as_signed=clinical_facts(decision.workup_json),
        advised=advised_kinds(decision.decision_json),
    )


def facts_changed_since_signing(decision: CandidacyDecision, now: Workup | None) -> bool:
    """Whether the facts ``decision`` was signed on differ from the consultation's workup as
    recorded ``now`` (None: it cannot be read): the gate's answer, for the review page."""
    return gates.facts_changed_since_signing(now, _signature(decision))


@dataclass(frozen=True)
class ConsultationRecords:
    """What :func:`consultation_standing` reads of a patient, read once by a page that also
    shows it (the chart): the consultations, their signed decisions (with who signed) and the
    records that belong to the patient."""

    encounters: list[Encounter]
    decisions: list[CandidacyDecision]
    records: PatientRecords


def consultation_records(patient: Patient) -> ConsultationRecords:
    return ConsultationRecords(
        encounters=list(Encounter.objects.filter(patient=patient)),
        decisions=list(
            CandidacyDecision.objects.filter(patient=patient).select_related("signed_by")
        ),
        records=patient_records(patient),
    )


def consultation_standing(
    patient: Patient, today: date | None = None, read: ConsultationRecords | None = None
) -> Standing:
    """What stands now for ``patient`` as far as the consultations tell: every consultation in
    review order with its latest signature, the workups the gates read (the latest signed
    consultation's and every newer one's) and the MRIs on file. Six queries, whatever the
    number of consultations (none with ``read``, the same records read just before): the
    records are read once and each workup is built from them."""
    read = read or consultation_records(patient)
    encounters = read.encounters
    latest: dict[int, CandidacyDecision] = {}
    for decision in sorted(read.decisions, key=lambda d: (d.signed_at, d.pk)):
        latest[decision.encounter_id] = decision
    records = read.records
    ordered = consultations_in_review_order(
        [
            Consultation(
                id=e.pk,
                review_date=e.assessed_on,
                status=e.status,
                signature=_signature(latest[e.pk]) if e.pk in latest else None,
                workup=None,
                readable=True,
                created_at=e.created_at,
            )
            for e in encounters
        ]
    )
    to_read = needs_reading(ordered)
    by_id = {e.pk: e for e in encounters}
    consultations = []
    for c in ordered:
        if c.id not in to_read:
            consultations.append(c)
            continue
        encounter = by_id[c.id]
        encounter.patient = patient
        try:
            workup = workup_for_encounter(encounter, records)
        except InvalidWorkup:
            consultations.append(dataclasses.replace(c, readable=False))
            continue
        consultations.append(dataclasses.replace(c, workup=workup))
    mris = tuple(
        Mri(s.performed_on, bool(s.reviewed), late=s.filed_into_id is not None)
        for s in records.studies
        if s.modality == "MRI"
    )
    return Standing(
        patient_id=patient.pk,
        today=today or timezone.localdate(),
        consultations=tuple(consultations),
        mris=mris,
    )


@dataclass(frozen=True)
class DecisionInForce:
    """A patient's decision in force (its signed record) and, when it cannot be relied on now,
    why; from :func:`spinepath.pathway.gates.decision_in_force`."""

    signed: CandidacyDecision | None
    problem: str | None


def decision_record(
    in_force: InForce, known: list[CandidacyDecision] | None = None
) -> CandidacyDecision | None:
    """The signed record of the decision in force; from ``known`` (the patient's decisions
    with who signed them, read in the same request) when it is there."""
    if in_force.signature is None:
        return None
    decision_id = in_force.signature.decision_id
    found = next((d for d in known or () if d.pk == decision_id), None)
    if found is not None:
        return found
    return CandidacyDecision.objects.select_related("signed_by", "encounter").get(pk=decision_id)


def decision_in_force(
    patient: Patient,
    standing: Standing | None = None,
    known: list[CandidacyDecision] | None = None,
) -> DecisionInForce:
    """The decision a plan or a procedure may rely on (the gate's answer, with its record;
    ``known``: see :func:`decision_record`)."""
    in_force = gates.decision_in_force(standing or consultation_standing(patient))
    problem = in_force.problem
    signed = decision_record(in_force, known)
    return DecisionInForce(signed, problem.sentence if problem is not None else None)


@dataclass(frozen=True)
class FieldChange:
    """One changed field of a clinical record: who, when, the old and the new value, in words."""

    at: datetime
    user: str
    record: str
    field: str  # the field's name in the record, e.g. pain_duration_months
    label: str  # what the field is called on the forms
    old: object
    new: object
    old_text: str
    new_text: str


_HISTORY_SKIP = {"id", "history_id", "history_date", "history_change_reason", "history_type"}
_HISTORY_SKIP |= {"history_user", "history_user_id", "updated_at", "last_step", "start_key"}
_HISTORY_SKIP |= {"patient", "patient_id", "study", "study_id", "updated_by", "updated_by_id"}
_HISTORY_SKIP |= {"recorded_by_id", "stated_by"}


def _record_label(model: str, row: Any) -> str:
    if model == "Encounter":
        return f"consultation {row.assessed_on}"
    if model == "ImagingStudy":
        return f"{row.modality} {row.performed_on}"
    if model == "LevelFinding":
        return f"{row.level} findings"
    if model == "DiagnosticBlock":
        return f"{row.get_kind_display()} {row.performed_on}"
    return f"earlier {row.get_kind_display().lower()} {row.performed_on}"


def _in_words(field: Any, value: object, users: dict[int, str]) -> str:
    if value is None or value == "":
        return "not recorded"
    if field.is_relation:
        return users.get(value, f"#{value}") if isinstance(value, int) else str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join("-" if v is None else str(v) for v in value) or "none"
    choices = dict(field.flatchoices) if field.choices else {}
    return str(choices.get(value, value))


def field_changes(patient: Patient, *, per_record_type: int = 200) -> list[FieldChange]:
    """The field-level history of a patient's clinical records, newest first, in words.

    One query per kind of record (and one for the names of the people), whatever the number of
    changes: consecutive versions of each record are compared here. A record's first version
    is its creation, not a change.
    """
    sources: list[tuple[str, Any]] = [
        ("Encounter", Encounter.history.filter(patient_id=patient.pk)),
        ("ImagingStudy", ImagingStudy.history.filter(patient_id=patient.pk)),
        ("LevelFinding", LevelFinding.history.filter(study__patient_id=patient.pk)),
        ("DiagnosticBlock", DiagnosticBlock.history.filter(patient_id=patient.pk)),
        ("PriorProcedure", PriorProcedure.history.filter(patient_id=patient.pk)),
    ]
    raw: list[tuple[Any, Any, Any, str]] = []
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
            if before is not None and row.history_type == "~":
                raw.append((before, row, model, _record_label(model, row)))
    user_ids = set()
    changes_raw = []
    for before, row, _model, record in raw:
        for field in row._meta.fields:
            name = field.attname
            if name in _HISTORY_SKIP:
                continue
            old, new = getattr(before, name), getattr(row, name)
            if old != new:
                changes_raw.append((row, record, field, old, new))
                if field.is_relation:
                    user_ids.update(v for v in (old, new) if isinstance(v, int))
    users = {
        u.pk: (u.get_full_name() or u.get_username())
        for u in get_user_model().objects.filter(pk__in=user_ids)
    }
    changes = [
        FieldChange(
            at=row.history_date,
            user=(
                row.history_user.get_full_name() or row.history_user.get_username()
                if row.history_user
                else "(system)"
            ),
            record=record,
            field=field.attname,
            label=str(field.verbose_name).replace("_", " "),
            old=old,
            new=new,
            old_text=_in_words(field, old, users),
            new_text=_in_words(field, new, users),
        )
        for row, record, field, old, new in changes_raw
    ]
    changes.sort(key=lambda c: c.at, reverse=True)
    return changes


def candidate_odds(
    *, decision_json: dict[str, Any], workup_json: dict[str, Any], born: date | None, on: date
) -> dict[str, Any] | None:
    """A candidate's "patients like you" figures, from the app that counts the clinic's
    treated courses (consultations/events.py); None for any other decision, or with no
    answer."""
    from spinepath.consultations.events import odds_asked

    if decision_json.get("decision") != "candidate":
        return None
    for _, answer in odds_asked.send(
        sender=CandidacyDecision,
        decision_json=decision_json,
        workup_json=workup_json,
        born=born,
        on=on,
    ):
        if answer is not None:
            return dict(answer)
    return None
