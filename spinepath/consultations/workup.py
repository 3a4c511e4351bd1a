"""The one mapping between the records of a consultation and the domain's Workup.

Used by the review page, the export and the import, so a round trip gives the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spinepath.consultations.models import DiagnosticBlock, Encounter, ImagingStudy, PriorProcedure
from spinepath.pathway.workup import Workup, workup_from_dict
from spinepath.patients.models import Patient


@dataclass(frozen=True)
class PatientRecords:
    """The records that belong to a patient rather than to one consultation (earlier spine
    procedures, imaging with its findings, diagnostic blocks), read once: a consultation's
    workup takes those dated on or before its review day."""

    procedures: list[PriorProcedure]
    studies: list[ImagingStudy]
    blocks: list[DiagnosticBlock]


def patient_records(patient: Patient) -> PatientRecords:
    """Four queries, whatever the length of the patient's history."""
    return PatientRecords(
        procedures=list(
            PriorProcedure.objects.filter(patient=patient).order_by("performed_on", "id")
        ),
        studies=list(
            ImagingStudy.objects.filter(patient=patient)
            .order_by("-performed_on", "-id")
            .select_related("filed_into")
            .prefetch_related("levels")
        ),
        # The models' own orderings: the workup lists records as it always has, so that a
        # signed workup compares equal to the same facts read again.
        blocks=list(
            DiagnosticBlock.objects.filter(patient=patient).order_by("-performed_on", "-id")
        ),
    )


def counts_for(study: ImagingStudy, encounter: Encounter) -> bool:
    """Whether a study dated on or before ``encounter``'s review day is part of its workup: yes,
    unless it arrived after a signature and was filed into a later consultation (PATHWAY.md
    section 9) - then it counts from that consultation on, and the signed one stays as it was
    signed."""
    filed = study.filed_into
    if filed is None:
        return True
    return (filed.assessed_on, filed.pk) <= (encounter.assessed_on, encounter.pk)


def _present(**fields: Any) -> dict[str, Any]:
    """Drop unrecorded facts (None or blank): absent means "not recorded" in the workup."""
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def workup_document(encounter: Encounter, records: PatientRecords | None = None) -> dict[str, Any]:
    patient = encounter.patient
    day = encounter.assessed_on
    records = records or patient_records(patient)
    recorded = [p for p in records.procedures if p.performed_on <= day]
    # A fact stays stated until the role that may state it changes it: earlier procedures a
    # clinician recorded are part of the workup whatever the "asked" box says (PATHWAY.md 9).
    procedures = (
        [
            _present(
                kind=p.kind,
                date=p.performed_on.isoformat(),
                levels=list(p.levels),
                improved_after=p.improved_after,
            )
            for p in recorded
        ]
        if encounter.prior_procedures_asked or recorded
        else None
    )
    studies = [s for s in records.studies if s.performed_on <= day and counts_for(s, encounter)]
    imaging = [
        _present(
            modality=s.modality,
            date=s.performed_on.isoformat(),
            reviewed=s.reviewed,
            levels=[
                _present(
                    level=f.level,
                    pfirrmann=f.pfirrmann,
                    modic=f.modic,
                    disc_height_loss_pct=f.disc_height_loss_pct,
                    endplate_bone_on_bone=f.endplate_bone_on_bone,
                    herniation=f.herniation,
                    nerve_root_compression=f.nerve_root_compression,
                    facet_arthropathy=f.facet_arthropathy,
                    ligament_injury=f.ligament_injury,
                )
                for f in s.levels.all()
            ],
            infection=s.infection,
            malignancy=s.malignancy,
            fracture=s.fracture,
        )
        for s in studies
    ]
    blocks = [
        _present(
            kind=b.kind,
            date=b.performed_on.isoformat(),
            levels=list(b.levels) if b.levels or b.kind == "discography" else None,
            side=b.side,
            relief_pct=b.relief_pct,
            concordant=b.concordant,
        )
        # Only blocks a clinician stated (entered or verified) count: a block confirms or
        # excludes a pain generator.
        for b in records.blocks
        if b.performed_on <= day and b.verified_by_id is not None
    ]
    care = _present(
        physical_therapy_weeks=encounter.physical_therapy_weeks,
        nsaid_trial=encounter.nsaid_trial,
        status=encounter.conservative_status,
    )
    history = _present(
        pain_duration_months=encounter.pain_duration_months,
        pattern=encounter.pattern,
        conservative_care=care or None,
        prior_procedures=procedures,
        medications=[m.strip() for m in encounter.medications.splitlines() if m.strip()] or None,
        goals=encounter.goals,
    )
    return _present(
        schema="spinepath.workup/1",
        patient=_present(
            id=patient.external_id or patient.mrn,
            birth_date=patient.birth_date.isoformat() if patient.birth_date else None,
            sex=patient.sex,
        ),
        assessed_on=day.isoformat(),
        history=history,
        red_flags=_present(
            cauda_equina=encounter.red_cauda_equina,
            infection=encounter.red_infection,
            malignancy=encounter.red_malignancy,
            fracture=encounter.red_fracture,
        ),
        exam=_present(
            motor_deficit=encounter.motor_deficit,
            radiculopathy_onset=encounter.radiculopathy_onset,
            facet_pattern=encounter.facet_pattern,
            si_provocation_positive=encounter.si_provocation_positive,
            ligament_tenderness=encounter.ligament_tenderness,
        ),
        imaging=imaging,
        diagnostic_blocks=blocks,
        outcomes=_present(pain_vas=encounter.pain_vas, odi_sections=encounter.odi_sections),
        payer=patient.payer,
    )


def workup_for_encounter(encounter: Encounter, records: PatientRecords | None = None) -> Workup:
    """The consultation as a checked domain Workup. Raises InvalidWorkup if it cannot be one."""
    return workup_from_dict(workup_document(encounter, records))
