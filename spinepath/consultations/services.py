"""Writes in a consultation. Signing a decision is the one gate that guards candidacy."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from spinepath.accounts.roles import is_clinician, is_staff_member
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import (
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    LevelFinding,
    PriorProcedure,
)
from spinepath.consultations.workup import workup_for_encounter
from spinepath.pathway.decision import Decision
from spinepath.pathway.engine import decide
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import Workup
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create
from spinepath.web.policy import clinic_policy


def _require_staff(user: Any) -> None:
    if not is_staff_member(user):
        raise PermissionDenied("Only clinic staff can change a consultation.")


@transaction.atomic
def encounter_start(
    *, patient: Patient, user: Any, assessed_on: date, request: Any = None
) -> Encounter:
    _require_staff(user)
    encounter = Encounter.objects.create(
        patient=patient,
        assessed_on=assessed_on,
        clinician=user if is_clinician(user) else None,
        updated_by=user,
    )
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"consultation {assessed_on}",
        patient=patient,
    )
    return encounter


@transaction.atomic
def encounter_save(
    *, encounter: Encounter, user: Any, step: str, fields: dict[str, Any], request: Any = None
) -> Encounter:
    """Save one step's fields as they are: a half-finished consultation is never lost."""
    _require_staff(user)
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    for name, value in fields.items():
        setattr(encounter, name, value)
    encounter.last_step = step
    encounter.updated_by = user
    encounter.save()
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"consultation {encounter.assessed_on}: {step}",
        patient=encounter.patient,
    )
    return encounter


@transaction.atomic
def study_save(
    *,
    patient: Patient,
    user: Any,
    fields: dict[str, Any],
    study: ImagingStudy | None = None,
    findings: list[dict[str, Any]] | None = None,
    request: Any = None,
) -> ImagingStudy:
    _require_staff(user)
    study = study or ImagingStudy(patient=patient)
    was_reviewed = study.reviewed
    for name, value in fields.items():
        setattr(study, name, value)
    if study.reviewed and not was_reviewed:
        if not is_clinician(user):
            raise PermissionDenied("Only a clinician can mark imaging as reviewed.")
        study.reviewed_by = user
    study.save()
    for finding in findings or []:
        level = finding.pop("level")
        if all(v in (None, "") for v in finding.values()):
            LevelFinding.objects.filter(study=study, level=level).delete()
        else:
            LevelFinding.objects.update_or_create(study=study, level=level, defaults=finding)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"imaging {study.modality} {study.performed_on}",
        patient=patient,
    )
    return study


@transaction.atomic
def block_add(
    *, patient: Patient, user: Any, fields: dict[str, Any], request: Any = None
) -> DiagnosticBlock:
    _require_staff(user)
    block = DiagnosticBlock.objects.create(patient=patient, **fields)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"{block.get_kind_display()} {block.performed_on}",
        patient=patient,
    )
    return block


@transaction.atomic
def procedure_add(
    *, patient: Patient, user: Any, fields: dict[str, Any], request: Any = None
) -> PriorProcedure:
    _require_staff(user)
    procedure = PriorProcedure.objects.create(patient=patient, **fields)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"prior {procedure.get_kind_display()} {procedure.performed_on}",
        patient=patient,
    )
    return procedure


def decision_preview(encounter: Encounter, policy: Policy | None = None) -> tuple[Workup, Decision]:
    """The decision the engine makes from the consultation as recorded now (not stored)."""
    workup = workup_for_encounter(encounter)
    return workup, decide(workup, policy or clinic_policy())


def new_signature_token() -> str:
    return secrets.token_urlsafe(24)


def decision_sign(
    *, encounter: Encounter, user: Any, token: str, request: Any = None
) -> CandidacyDecision:
    """Sign the decision computed now from the recorded workup. Only a clinician signs.

    The decision is recomputed here, never taken from the form, and stored with the policy's
    name and version and the exact workup. Signing the same review page twice (the same
    token) returns the first signature instead of making a second decision.
    """
    if not is_clinician(user):
        raise PermissionDenied("Only a clinician can sign a candidacy decision.")
    if not token or len(token) > 64:
        raise PermissionDenied("This review page has expired; reload it and sign again.")
    existing = CandidacyDecision.objects.filter(signature_token=token).first()
    if existing is not None:
        if existing.encounter_id != encounter.pk:
            raise PermissionDenied("This signature belongs to another consultation.")
        return existing
    # Always the workup as recorded now, never a copy the caller holds.
    encounter = Encounter.objects.select_related("patient").get(pk=encounter.pk)
    policy = clinic_policy()
    workup, decision = decision_preview(encounter, policy)
    try:
        with transaction.atomic():
            signed = CandidacyDecision.objects.create(
                encounter=encounter,
                patient=encounter.patient,
                decision=decision.decision,
                decision_json=decision.to_dict(),
                workup_json=workup.to_json_dict(),
                policy_name=policy.name,
                policy_version=policy.version,
                signed_by=user,
                signature_token=token,
            )
            Encounter.objects.filter(pk=encounter.pk).update(
                status=Encounter.FINISHED, clinician=user
            )
    except IntegrityError:
        # A concurrent submission with the same token won the race: same signature.
        return CandidacyDecision.objects.get(signature_token=token)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.SIGN,
        what=f"candidacy decision: {decision.decision}",
        patient=encounter.patient,
    )
    return signed


# --- Import of a workup in the interchange format ------------------------------------------


@transaction.atomic
def workup_import(
    *, workup: Workup, user: Any, names: tuple[str, str] | None = None, request: Any = None
) -> Encounter:
    """Create or update the patient of ``workup`` (by its id) and record it as a consultation."""
    _require_staff(user)
    patient = Patient.objects.filter(external_id=workup.patient.id).first()
    if patient is None:
        patient = Patient.objects.filter(mrn=workup.patient.id).first()
    if patient is None:
        given, family = names or ("", "")
        if not given or not family:
            raise ValueError("names: a new patient needs a first and last name")
        patient = patient_create(
            request=request,
            user=user,
            given_name=given,
            family_name=family,
            external_id=workup.patient.id,
            birth_date=workup.patient.birth_date,
            sex=workup.patient.sex or "",
            payer=workup.payer or "",
        )
    else:
        changed = False
        for name, value in (
            ("birth_date", workup.patient.birth_date),
            ("sex", workup.patient.sex),
            ("payer", workup.payer),
        ):
            if value and getattr(patient, name) != value:
                setattr(patient, name, value)
                changed = True
        if changed:
            patient.save()
    _import_records(patient, workup)
    history, care = workup.history, workup.history.conservative_care
    flags, exam, outcomes = workup.red_flags, workup.exam, workup.outcomes
    encounter = Encounter.objects.create(
        patient=patient,
        assessed_on=workup.assessed_on,
        updated_by=user,
        last_step="review",
        pain_duration_months=history.pain_duration_months,
        pattern=history.pattern or "",
        physical_therapy_weeks=care.physical_therapy_weeks if care else None,
        nsaid_trial=care.nsaid_trial if care else None,
        conservative_status=(care.status or "") if care else "",
        prior_procedures_asked=history.prior_procedures is not None or None,
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
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.IMPORT,
        what=f"workup {workup.assessed_on}",
        patient=patient,
    )
    return encounter


def _import_records(patient: Patient, workup: Workup) -> None:
    """Add the workup's imaging, blocks and procedures that the patient does not have yet."""
    for proc in workup.history.prior_procedures or ():
        PriorProcedure.objects.get_or_create(
            patient=patient,
            kind=proc.kind,
            performed_on=proc.date,
            levels=list(proc.levels),
            defaults={"improved_after": proc.improved_after},
        )
    for study in workup.imaging:
        record, created = ImagingStudy.objects.get_or_create(
            patient=patient,
            modality=study.modality,
            performed_on=study.date,
            defaults={
                "reviewed": study.reviewed,
                "infection": study.infection,
                "malignancy": study.malignancy,
                "fracture": study.fracture or "",
            },
        )
        if created:
            LevelFinding.objects.bulk_create(
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
            )
    for block in workup.diagnostic_blocks:
        DiagnosticBlock.objects.get_or_create(
            patient=patient,
            kind=block.kind,
            performed_on=block.date,
            levels=list(block.levels or ()),
            side=block.side or "",
            defaults={"relief_pct": block.relief_pct, "concordant": block.concordant},
        )
