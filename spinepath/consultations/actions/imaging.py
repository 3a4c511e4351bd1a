"""Imaging studies: recorded and read by a clinician, and the review that attests them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.actions.records import (
    FINDING_FIELDS,
    STUDY_FIELDS,
    finding_values,
    plausible_day,
    require_open,
    require_unsigned_day,
    save_stated,
    signed_covering,
    study_version,
)
from spinepath.consultations.models import (
    Encounter,
    ImagingStudy,
    LevelFinding,
)
from spinepath.errors import Conflict, Invalid
from spinepath.patients.models import Patient


@action("imaging_findings")
def study_save(
    *,
    through: Encounter | None = None,
    patient: Patient,
    actor: Actor,
    fields: dict[str, Any],
    study_id: int | None = None,
    findings: list[dict[str, Any]] | None = None,
    attest: bool = False,
    shown: str | None = None,
) -> ImagingStudy:
    """Record or change an imaging study and its findings (a clinician's facts).

    The review is an attestation of the study as recorded: changing its date or any finding
    clears it (the history keeps the earlier values), unless the clinician attests the study as
    now recorded in the same save (``attest``). The stored study is read afresh here, never
    taken from a form that may already have changed it.
    """
    require_open(through)
    if study_id is not None and shown is not None:
        current = ImagingStudy.objects.get(pk=study_id, patient=patient)
        if shown != study_version(current):
            raise Conflict(
                f"The {current.modality} of {current.performed_on} changed since this page was "
                "opened: nothing was saved. Read it again, then make your change."
            )
    if attest:
        actor.require("mri_review")
    unknown = sorted(set(fields) - set(STUDY_FIELDS))
    if unknown:
        raise Invalid(f"Not a field of an imaging study: {', '.join(unknown)}.")
    if study_id is None:
        study = ImagingStudy(patient=patient)
        before: dict[str, Any] = {}
        before_findings: dict[str, dict[str, Any]] = {}
    else:
        study = ImagingStudy.objects.select_for_update().get(pk=study_id, patient=patient)
        if study.study_uid and (
            fields.get("performed_on", study.performed_on) != study.performed_on
            or fields.get("modality", study.modality) != study.modality
        ):
            message = "The date and modality of a study imported from DICOM come from its files."
            raise Invalid(message, fields={"performed_on": message})
        before = {name: getattr(study, name) for name in STUDY_FIELDS}
        before_findings = {f.level: finding_values(f) for f in study.levels.all()}
    plausible_day("performed_on", fields.get("performed_on"), patient=patient)
    require_unsigned_day(
        patient,
        study.performed_on if study_id is not None else None,
        filed_into=study.filed_into if study_id is not None else None,
    )
    require_unsigned_day(
        patient,
        fields.get("performed_on"),
        new_through=through if study_id is None else None,
        filed_into=study.filed_into if study_id is not None else None,
    )
    for name, value in fields.items():
        setattr(study, name, value)
    # New information through a newer consultation, dated inside a signed one: it counts from
    # the newer consultation on; the signed one stays as it was signed.
    if (
        study_id is None
        and through is not None
        and study.performed_on is not None
        and signed_covering(patient, study.performed_on) is not None
    ):
        study.filed_into = through
    after_findings = dict(before_findings)
    for finding in findings or []:
        values = {k: v for k, v in finding.items() if k != "level" and v not in (None, "")}
        if values:
            after_findings[finding["level"]] = values
        else:
            after_findings.pop(finding["level"], None)
    clinical_before = {k: v for k, v in before.items() if k != "report"}
    clinical_after = {name: getattr(study, name) for name in STUDY_FIELDS if name != "report"}
    changed = study_id is not None and (
        clinical_before != clinical_after or before_findings != after_findings
    )
    events = []
    if attest:
        study.reviewed, study.reviewed_by, study.reviewed_at = True, actor.user, timezone.now()
        events.append("reviewed")
    elif study_id is None:
        study.reviewed, study.reviewed_by, study.reviewed_at = False, None, None
    elif changed and study.reviewed:
        study.reviewed, study.reviewed_by, study.reviewed_at = False, None, None
        events.append("review cleared: the study changed")
    study._history_user = actor.user  # type: ignore[attr-defined]
    study.save()
    for level in set(before_findings) | set(after_findings):
        if before_findings.get(level) == after_findings.get(level):
            continue
        existing = LevelFinding.objects.filter(study=study, level=level).first()
        if level not in after_findings:
            if existing is not None:
                existing._history_user = actor.user  # type: ignore[attr-defined]
                existing.delete()
            continue
        record = existing or LevelFinding(study=study, level=level)
        for name in FINDING_FIELDS:
            value = after_findings[level].get(name)
            setattr(record, name, "" if value is None and name == "herniation" else value)
        record._history_user = actor.user  # type: ignore[attr-defined]
        record.save()
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE if study_id is None else AuditEvent.UPDATE,
        what=" - ".join([f"imaging {study.modality} {study.performed_on}", *events]),
        patient=patient,
    )
    return study


@action("mri_review")
def study_review(
    *,
    through: Encounter | None = None,
    patient: Patient,
    study_id: int,
    actor: Actor,
    shown: str | None = None,
) -> ImagingStudy:
    """A clinician attests that they reviewed the study as it is recorded now. ``shown`` is
    the version of the study on the page the clinician read (every interactive route passes
    it): a study changed since is not reviewed."""
    require_open(through)
    study = ImagingStudy.objects.select_for_update().get(pk=study_id, patient=patient)
    require_unsigned_day(patient, study.performed_on, filed_into=study.filed_into)
    if shown is not None and shown != study_version(study):
        raise Conflict(
            f"The {study.modality} of {study.performed_on} changed since this page was opened: "
            "read it again before reviewing it."
        )
    study.reviewed, study.reviewed_by, study.reviewed_at = True, actor.user, timezone.now()
    what = f"imaging {study.modality} {study.performed_on} - reviewed"
    save_stated(study, actor=actor, patient=patient, event=AuditEvent.SIGN, what=what)
    return study
