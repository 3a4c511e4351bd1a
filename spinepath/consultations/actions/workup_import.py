"""Import of a workup in the interchange format (docs/interchange.md)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import orjson
from simple_history.utils import bulk_create_with_history

from spinepath.actions import action, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.actions.blocks import block_verify
from spinepath.consultations.actions.imaging import study_review
from spinepath.consultations.actions.records import (
    EARLIEST,
    finding_values,
    plausible_day,
    require_unsigned_day,
)
from spinepath.consultations.facts import ENCOUNTER_FACTS
from spinepath.consultations.models import (
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    LevelFinding,
    PriorProcedure,
)
from spinepath.errors import Conflict, Invalid
from spinepath.pathway.authority import (
    FACT_LABELS,
    Fact,
    may_state,
    stating_role,
)
from spinepath.pathway.workup import Workup
from spinepath.patients.models import Patient
from spinepath.patients.services import Details, patient_create, patient_update

DEMOGRAPHICS = ("birth_date", "sex", "payer")


def _demographics(workup: Workup) -> dict[str, Any]:
    values = {
        "birth_date": workup.patient.birth_date,
        "sex": workup.patient.sex,
        "payer": workup.payer,
    }
    return {name: value for name, value in values.items() if value not in (None, "")}


def import_differences(patient: Patient, workup: Workup) -> dict[str, tuple[Any, Any]]:
    """The demographics where the workup differs from the chart: name -> (chart, workup)."""
    return {
        name: (getattr(patient, name), value)
        for name, value in _demographics(workup).items()
        if getattr(patient, name) != value
    }


def import_match(workup: Workup) -> Patient | None:
    """A chart whose external id or record number equals the workup's patient id."""
    return (
        Patient.objects.filter(external_id=workup.patient.id).first()
        or Patient.objects.filter(mrn=workup.patient.id).first()
    )


class ImportNeedsChoice(Conflict):
    """The workup matches an existing chart that the user did not pick."""

    title = "Choose the patient"

    def __init__(self, reasons: str, *, match: Patient) -> None:
        super().__init__(reasons, fields={"patient": reasons})
        self.match = match


class ImportNeedsConfirmation(Conflict):
    """The picked chart's demographics differ from the workup's; nothing changed yet."""

    title = "Confirm the changes"

    def __init__(
        self, reasons: str, *, differences: dict[str, tuple[Any, Any]], confirm_for: str
    ) -> None:
        super().__init__(reasons, fields={"confirm_changes": reasons})
        self.differences = differences
        self.confirm_for = confirm_for


def differences_hash(patient: Patient, differences: dict[str, tuple[Any, Any]]) -> str:
    """What a confirmation binds: these changes to this chart, and nothing else."""
    changes = {name: [str(old), str(new)] for name, (old, new) in differences.items()}
    content = {"patient": patient.pk, "changes": changes}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def import_conflicts(patient: Patient, workup: Workup) -> list[str]:
    """Imaging and blocks of the workup that the chart already has on the same day with other
    values. An import never overwrites them (they are a clinician's facts) and never drops
    them silently: it is refused, naming each one."""
    conflicts = []
    for study in workup.imaging:
        existing = ImagingStudy.objects.filter(
            patient=patient, modality=study.modality, performed_on=study.date
        ).first()
        if existing is None:
            continue
        ours = {f.level: finding_values(f) for f in existing.levels.all()}
        theirs = {
            f.level: {
                k: v for k, v in f.model_dump(exclude={"level"}).items() if v not in (None, "")
            }
            for f in study.levels
        }
        flags_ours = (existing.infection, existing.malignancy, existing.fracture or None)
        flags_theirs = (study.infection, study.malignancy, study.fracture)
        if ours != theirs or flags_ours != flags_theirs:
            conflicts.append(
                f"the {study.modality} of {study.date} is on the chart with other findings"
            )
    for block in workup.diagnostic_blocks:
        existing_block = DiagnosticBlock.objects.filter(
            patient=patient,
            kind=block.kind,
            performed_on=block.date,
            levels=list(block.levels or ()),
            side=block.side or "",
        ).first()
        if existing_block is not None and (
            existing_block.relief_pct != block.relief_pct
            or existing_block.concordant != block.concordant
        ):
            conflicts.append(
                f"the {existing_block.get_kind_display().lower()} of {block.date} is on the "
                "chart with another result"
            )
    for proc in workup.history.prior_procedures or ():
        existing_proc = PriorProcedure.objects.filter(
            patient=patient, kind=proc.kind, performed_on=proc.date, levels=list(proc.levels)
        ).first()
        if existing_proc is not None and existing_proc.improved_after != proc.improved_after:
            conflicts.append(
                f"the earlier {existing_proc.get_kind_display().lower()} of {proc.date} is on "
                "the chart with another outcome"
            )
    return conflicts


@action("workup_import")
def workup_import(
    *,
    workup: Workup,
    actor: Actor,
    names: tuple[str, str] | None = None,
    patient: Patient | None = None,
    confirm_changes: bool = False,
    confirm_for: str | None = None,
) -> Encounter:
    """Record a workup as a consultation: of a new patient, or of the one the user picked.

    A workup whose id matches an existing chart is refused unless that chart was picked, so a
    file never lands in the wrong chart by its id alone. Differences in demographics change the
    chart only when confirmed, and the audit keeps them. Imported studies arrive unreviewed and
    imported blocks unverified: a clinician states those facts here.
    """
    _plausible_import_dates(workup)
    changes: dict[str, tuple[Any, Any]] = {}
    if patient is None:
        match = import_match(workup)
        if match is not None:
            raise ImportNeedsChoice(
                f"A chart with the id {workup.patient.id} already exists: "
                f"{match.display_name} (record {match.mrn}, born {match.birth_date}). Choose "
                "that patient to add the workup to their chart, or change the id in the file.",
                match=match,
            )
        given, family = names or ("", "")
        if not given.strip() or not family.strip():
            missing = {
                name: "A new patient needs a first and a last name."
                for name, value in (("given_name", given), ("family_name", family))
                if not value.strip()
            }
            raise Invalid("A new patient needs a first and a last name.", fields=missing)
        patient = patient_create(
            actor=actor,
            details={
                "given_name": given.strip(),
                "family_name": family.strip(),
                "external_id": workup.patient.id,
                "birth_date": workup.patient.birth_date,
                "sex": workup.patient.sex or "",
                "payer": workup.payer or "",
            },
        )
    else:
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        conflicts = import_conflicts(patient, workup)
        if conflicts:
            raise Conflict(
                f"Not imported: {'; '.join(conflicts)}. A clinician corrects the chart's record "
                "on the imaging page, or the file is corrected; an import never overwrites it.",
                fields={"file": "The file's imaging or blocks differ from the chart's."},
            )
        changes = import_differences(patient, workup)
        shown = differences_hash(patient, changes)
        if changes and (not confirm_changes or confirm_for not in (None, shown)):
            listed = "; ".join(
                f"{k}: {old or 'blank'} -> {new}" for k, (old, new) in changes.items()
            )
            raise ImportNeedsConfirmation(
                f"The workup differs from {patient.display_name}'s chart ({listed}). Confirm "
                "to change the chart, or correct the file.",
                differences=changes,
                confirm_for=shown,
            )
        if changes:
            details: Details = {name: new for name, (_old, new) in changes.items()}  # type: ignore[assignment]
            patient = patient_update(actor=actor, patient=patient, details=details)
    for name, day in _workup_dates(workup):
        plausible_day(name, day, patient=patient, latest=workup.assessed_on)
    _refuse_new_records_in_a_signed_workup(patient, workup)
    _import_records(patient, workup, actor)
    encounter = _import_encounter(patient, workup, actor)
    changed = "; ".join(f"{k} {old or 'blank'} -> {new}" for k, (old, new) in changes.items())
    audit_record(
        actor=actor,
        action=AuditEvent.IMPORT,
        what=f"workup {workup.assessed_on} (id {workup.patient.id})"
        + (f"; chart changed: {changed}" if changed else ""),
        patient=patient,
    )
    return encounter


def _plausible_import_dates(workup: Workup) -> None:
    """A workup's review day is not in the future nor before 1900 (the domain checks the
    rest: no record after the review day, none before the birth date)."""
    today = today_of_write()
    born = workup.patient.birth_date
    if born is not None and not EARLIEST <= born <= today:
        reason = "in the future" if born > today else "before 1900"
        raise Invalid(
            f"patient.birth_date: {born} is {reason}.",
            fields={"file": f"The workup's birth date {born} is {reason}."},
        )
    _refuse_duplicates(workup)
    day = workup.assessed_on
    if day > today or day < EARLIEST:
        reason = "in the future" if day > today else "before 1900"
        raise Invalid(
            f"assessed_on: the review date {day} is {reason}.",
            fields={"file": f"The workup's review date {day} is {reason}."},
        )


def _refuse_duplicates(workup: Workup) -> None:
    """Two studies of one kind on one day, or two identical blocks, in one file: the chart
    keeps one record of each, so the file is refused rather than one of them dropped."""
    seen: set[tuple[object, ...]] = set()
    for index, study in enumerate(workup.imaging):
        key = ("study", study.modality, study.date)
        if key in seen:
            raise Invalid(
                f"imaging[{index}]: a second {study.modality} on {study.date} in one file.",
                fields={"file": f"Two {study.modality} studies on {study.date}: keep one."},
            )
        seen.add(key)
    for index, block in enumerate(workup.diagnostic_blocks):
        key = ("block", block.kind, block.date, tuple(block.levels or ()), block.side)
        if key in seen:
            raise Invalid(
                f"diagnostic_blocks[{index}]: the same block twice on {block.date}.",
                fields={"file": f"The same block twice on {block.date}: keep one."},
            )
        seen.add(key)


def _workup_dates(workup: Workup) -> list[tuple[str, date]]:
    dates = [(f"imaging[{i}].date", s.date) for i, s in enumerate(workup.imaging)]
    dates += [
        (f"diagnostic_blocks[{i}].date", b.date) for i, b in enumerate(workup.diagnostic_blocks)
    ]
    dates += [
        (f"history.prior_procedures[{i}].date", p.date)
        for i, p in enumerate(workup.history.prior_procedures or ())
    ]
    return dates


def unstated_on_import(actor: Actor) -> list[str]:
    """The clinical facts a workup file carries that this importer may not state: they are left
    unrecorded, for a clinician to record (an import is no route around the role table)."""
    roles = actor.roles
    facts: list[Fact] = [
        "red_flag_screen",
        "neurological_exam",
        "pain_pattern",
        "prior_procedure",
        "imaging_findings",
    ]
    return [FACT_LABELS[fact] for fact in facts if not may_state(roles, fact)]


def _refuse_new_records_in_a_signed_workup(patient: Patient, workup: Workup) -> None:
    """An import adds no study, block or procedure to what a signed consultation relied on
    (the records the chart already has are not added again, so they are no change)."""
    for study in workup.imaging:
        if not ImagingStudy.objects.filter(
            patient=patient, modality=study.modality, performed_on=study.date
        ).exists():
            require_unsigned_day(patient, study.date)
    for block in workup.diagnostic_blocks:
        if not DiagnosticBlock.objects.filter(
            patient=patient,
            kind=block.kind,
            performed_on=block.date,
            levels=list(block.levels or ()),
            side=block.side or "",
        ).exists():
            require_unsigned_day(patient, block.date)
    for proc in workup.history.prior_procedures or ():
        if not PriorProcedure.objects.filter(
            patient=patient, kind=proc.kind, performed_on=proc.date, levels=list(proc.levels)
        ).exists():
            require_unsigned_day(patient, proc.date)


def _import_encounter(patient: Patient, workup: Workup, actor: Actor) -> Encounter:
    history, care = workup.history, workup.history.conservative_care
    flags, exam, outcomes = workup.red_flags, workup.exam, workup.outcomes
    roles = actor.roles
    if not may_state(roles, "red_flag_screen"):
        flags = type(flags)()
    if not may_state(roles, "neurological_exam"):
        exam = type(exam)()
    pattern = history.pattern if may_state(roles, "pain_pattern") else None
    asked = history.prior_procedures is not None and may_state(roles, "prior_procedure")
    # The review day decides which imaging and blocks count: a clinician's to set. A
    # coordinator's import starts a consultation of today.
    day = workup.assessed_on if may_state(roles, "review_date") else today_of_write()
    encounter = Encounter(
        patient=patient,
        assessed_on=day,
        updated_by=actor.user,
        last_step="review",
        pain_duration_months=history.pain_duration_months,
        pattern=pattern or "",
        physical_therapy_weeks=care.physical_therapy_weeks if care else None,
        nsaid_trial=care.nsaid_trial if care else None,
        conservative_status=(care.status or "") if care else "",
        prior_procedures_asked=asked or None,
        medications="\n".join(history.medications),
        goals=history.goals or "",
        red_cauda_equina=flags.cauda_equina,
        red_infection=flags.infection,
        red_malignancy=flags.malignancy,
        red_fracture=flags.fracture,
        pain_vas=outcomes.pain_vas,
        odi_sections=list(outcomes.odi_sections) if outcomes.odi_sections else None,
        motor_deficit=exam.motor_deficit or "",
        radiculopathy_onset=exam.radiculopathy_onset or "",
        facet_pattern=exam.facet_pattern,
        si_provocation_positive=exam.si_provocation_positive,
        ligament_tenderness=exam.ligament_tenderness,
    )
    role = stating_role(roles)
    encounter.stated_by = {
        name: role
        for name in ENCOUNTER_FACTS
        if getattr(encounter, name) not in (None, "", []) and name != "assessed_on"
    }
    encounter._history_user = actor.user  # type: ignore[attr-defined]
    encounter.save()
    return encounter


def _import_records(patient: Patient, workup: Workup, actor: Actor) -> None:
    """Add the workup's imaging, blocks and procedures that the patient does not have yet.

    Studies arrive unreviewed and blocks unverified, whoever imports them: the review of an
    MRI and a block's result are a clinician's statements, made on the imaging page.
    """
    may_record_procedures = may_state(actor.roles, "prior_procedure")
    # Level findings are a clinician's statements: from another role's import a study arrives
    # with its date only, for a clinician to read (it could otherwise replace, as the newest
    # MRI, the findings a clinician recorded).
    may_record_findings = may_state(actor.roles, "imaging_findings")
    for proc in (workup.history.prior_procedures or ()) if may_record_procedures else ():
        same = PriorProcedure.objects.filter(
            patient=patient, kind=proc.kind, performed_on=proc.date, levels=list(proc.levels)
        )
        if not same.exists():  # the chart may already hold it (even twice): never again
            record = PriorProcedure(
                patient=patient,
                kind=proc.kind,
                performed_on=proc.date,
                levels=list(proc.levels),
                improved_after=proc.improved_after,
            )
            record._history_user = actor.user  # type: ignore[attr-defined]
            record.save()
    for study in workup.imaging:
        existing = ImagingStudy.objects.filter(
            patient=patient, modality=study.modality, performed_on=study.date
        ).first()
        created = existing is None
        if existing is None:
            # The study's red flags (infection, malignancy, fracture) are imaging findings too:
            # from another role's import they are left unrecorded, for a clinician to read.
            existing = ImagingStudy(
                patient=patient,
                modality=study.modality,
                performed_on=study.date,
                reviewed=False,
                infection=study.infection if may_record_findings else None,
                malignancy=study.malignancy if may_record_findings else None,
                fracture=(study.fracture or "") if may_record_findings else "",
            )
            existing._history_user = actor.user  # type: ignore[attr-defined]
            existing.save()
        record = existing
        if created and may_record_findings:
            # With their history, so a later edit shows what the finding was before it.
            bulk_create_with_history(
                [
                    LevelFinding(
                        study=record,
                        level=f.level,
                        pfirrmann=f.pfirrmann,
                        modic=f.modic,
                        disc_height_loss_pct=f.disc_height_loss_pct,
                        endplate_bone_on_bone=f.endplate_bone_on_bone,
                        herniation=f.herniation or "",
                        nerve_root_compression=f.nerve_root_compression,
                        facet_arthropathy=f.facet_arthropathy,
                        ligament_injury=f.ligament_injury,
                    )
                    for f in study.levels
                ],
                LevelFinding,
                default_user=actor.user,
            )
    for block in workup.diagnostic_blocks:
        same = {
            "patient": patient,
            "kind": block.kind,
            "performed_on": block.date,
            "levels": list(block.levels or ()),
            "side": block.side or "",
        }
        if not DiagnosticBlock.objects.filter(**same).exists():
            record = DiagnosticBlock(
                **same,
                relief_pct=block.relief_pct,
                concordant=block.concordant,
                recorded_by=actor.user,
            )
            record._history_user = actor.user  # type: ignore[attr-defined]
            record.save()


def attest_imported(*, encounter: Encounter, actor: Actor) -> None:
    """A clinician reviews every study and verifies every block of a consultation's workup, as
    each one is recorded (used where a clinician has read them all, e.g. the demo clinic)."""
    day = encounter.assessed_on
    for study in ImagingStudy.objects.filter(patient=encounter.patient, performed_on__lte=day):
        if not study.reviewed:
            study_review(patient=encounter.patient, study_id=study.pk, actor=actor)
    for block in DiagnosticBlock.objects.filter(
        patient=encounter.patient, performed_on__lte=day, verified_by__isnull=True
    ):
        block_verify(patient=encounter.patient, block_id=block.pk, actor=actor)
