"""MRI studies from DICOM files: unreviewed, dated by their files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import (
    Encounter,
    ImagingStudy,
)
from spinepath.errors import Conflict, Invalid
from spinepath.pathway.dicom_check import (
    RecordPatient,
    consistency_problems,
    demographic_mismatches,
    modality_problem,
    study_modality,
)
from spinepath.patients.models import Patient

if TYPE_CHECKING:
    from spinepath.consultations.dicom import Study as DicomStudy
from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.consultations.actions.records import (
    latest_and_open,
    next_consultation,
    plausible_day,
    require_open,
    signed_covering,
)


@action("dicom_import")
def dicom_study_import(
    *,
    patient: Patient,
    study: DicomStudy,
    actor: Actor,
    through: Encounter | None = None,
) -> tuple[ImagingStudy, bool]:
    """Record a study read from DICOM files: unreviewed, dated by its files, with its UID,
    description, body part and series. The files' patient must be this patient. The same study
    imported again changes nothing. Returns (the study, whether it was created now).

    New information does not wait for a locked record (PATHWAY.md section 9): a study dated
    inside a signed consultation - imported from its own page, the PACS or the command line -
    is filed into the next consultation (the open one after it, or one opened today)."""
    if through is not None and Encounter.objects.get(pk=through.pk).status == Encounter.FINISHED:
        through = None  # from a signed consultation's page: it arrives on the record
    require_open(through)
    problems = demographic_mismatches(
        study.patient,
        RecordPatient(patient.family_name, patient.given_name, patient.birth_date, patient.sex),
    )
    problems += consistency_problems(study.patients or {study.patient}, study.dates)
    modality = modality_problem(study.modalities)
    if modality:
        problems.append(modality)
    if study.study_date is None:
        problems.append("study date: the DICOM files carry no study date")
    if not study.uid or len(study.uid) > 64:
        problems.append("study UID: the DICOM files carry no valid study instance UID")
    if problems:
        raise Invalid(problems, fields={"files": " ".join(problems)})
    existing = ImagingStudy.objects.filter(study_uid=study.uid).first()
    if existing is not None:
        if existing.patient_id != patient.pk:
            raise Conflict("This study is already on another patient's record.")
        return existing, False
    plausible_day("performed_on", study.study_date, patient=patient)
    # A study dated inside a signed consultation that never saw it is filed into the next
    # consultation (joined, or opened today); the signed one stays as it was signed.
    filed_into = None
    if signed_covering(patient, study.study_date) is not None:
        if through is not None and latest_and_open(patient, through):
            filed_into = through
        else:
            filed_into = next_consultation(patient, actor)
    record = ImagingStudy(
        patient=patient,
        modality=study_modality(study.modalities),
        performed_on=study.study_date,
        reviewed=False,
        study_uid=study.uid,
        description=study.description,
        body_part=study.body_part,
        series=study.series_list(),
        filed_into=filed_into,
    )
    record._history_user = actor.user  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # the same study, imported in parallel a moment ago
        return ImagingStudy.objects.get(study_uid=study.uid), False
    filed = (
        f", filed into the consultation of {filed_into.assessed_on} (the one it dates from is "
        "signed)"
        if filed_into is not None
        else ""
    )
    audit_record(
        actor=actor,
        action=AuditEvent.IMPORT,
        what=f"imaging {record.modality} {record.performed_on} from DICOM "
        f"({len(record.series or [])} series){filed}",
        patient=patient,
    )
    return record, True
