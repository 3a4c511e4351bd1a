"""Writes in a consultation: who may state each fact, the MRI review, signing, amendments.

Every write asks :func:`spinepath.pathway.authority.may_state` first, whatever the route
(form, autosave, import, admin, API). A signed consultation is locked; a clinician reopens it
with an amendment, and the next signature closes it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from spinepath.accounts.roles import role_names
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.facts import ENCOUNTER_FACTS
from spinepath.consultations.models import (
    Amendment,
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    LevelFinding,
    PriorProcedure,
)
from spinepath.consultations.selectors import consultation_standing
from spinepath.consultations.workup import workup_for_encounter
from spinepath.errors import Conflict, Invalid, NotAllowed
from spinepath.pathway.authority import (
    FACT_LABELS,
    Fact,
    kept_by_clinician,
    may_change,
    may_state,
    refusal,
    stating_role,
)
from spinepath.pathway.decision import Decision
from spinepath.pathway.dicom_check import (
    RecordPatient,
    consistency_problems,
    demographic_mismatches,
    modality_problem,
    study_modality,
)
from spinepath.pathway.engine import decide
from spinepath.pathway.gates import review_date_refusal, sign_refusal
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import Workup
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create
from spinepath.web.policy import clinic_policy

if TYPE_CHECKING:
    from spinepath.consultations.dicom import Study as DicomStudy

STUDY_FIELDS = ("modality", "performed_on", "infection", "malignancy", "fracture", "report")
FINDING_FIELDS = (
    "pfirrmann",
    "modic",
    "disc_height_loss_pct",
    "endplate_bone_on_bone",
    "herniation",
    "nerve_root_compression",
    "facet_arthropathy",
    "ligament_injury",
)
EARLIEST = date(1900, 1, 1)


def require_fact(user: Any, fact: Fact) -> None:
    """Refuse (403) unless the user's role may state ``fact``."""
    if not may_state(role_names(user), fact):
        raise NotAllowed(refusal(fact))


def _require_unlocked(encounter: Encounter) -> None:
    if encounter.is_locked:
        raise Conflict(
            f"The consultation of {encounter.assessed_on} was signed and is locked. A clinician "
            "can amend it, with a reason; the earlier values are kept."
        )


def _require_open(through: Encounter | None) -> None:
    """A write made from a consultation's pages is refused while that consultation is signed
    and locked (the imaging, blocks and procedures it shows are part of what was signed)."""
    if through is not None:
        _require_unlocked(Encounter.objects.get(pk=through.pk))


def require_unsigned_day(
    patient: Patient, day: date | None, *, new_through: Encounter | None = None
) -> None:
    """A record dated on or before the review day of a signed consultation is part of what was
    signed: it changes (from any consultation's pages, or an import) only once a clinician has
    amended that consultation, with a reason.

    A *new* record (``new_through``: the consultation whose page adds it) is not refused when
    that consultation is open and the patient's most recent one: new information does not wait
    for a locked record (PATHWAY.md section 9). It goes into that consultation's workup, and the
    signed decision whose facts it changes stops counting until the newer one is signed.
    """
    if day is None:
        return
    if new_through is not None and _latest_and_open(patient, new_through):
        return
    signed = (
        Encounter.objects.filter(patient=patient, status=Encounter.FINISHED, assessed_on__gte=day)
        .order_by("assessed_on", "id")
        .first()
    )
    if signed is not None:
        raise Conflict(
            f"This record ({day}) is part of the consultation of {signed.assessed_on}, which is "
            "signed and locked: a clinician amends that consultation, with a reason, first."
        )


def _latest_and_open(patient: Patient, encounter: Encounter) -> bool:
    latest = Encounter.objects.filter(patient=patient).order_by("-assessed_on", "-id").first()
    return (
        latest is not None and latest.pk == encounter.pk and latest.status == Encounter.IN_PROGRESS
    )


def plausible_day(
    name: str, day: date | None, *, patient: Patient, latest: date | None = None
) -> None:
    """A clinical date is not in the future (or after ``latest``), nor before the patient was
    born, nor before 1900."""
    if day is None:
        return
    today = timezone.localdate()
    if day > today:
        raise Invalid(f"{name}: the date {day} is in the future.", fields={name: "In the future."})
    if latest is not None and day > latest:
        raise Invalid(
            f"{name}: the date {day} is after the review date {latest}.",
            fields={name: f"After the review date {latest}."},
        )
    born = patient.birth_date or EARLIEST
    if day < max(born, EARLIEST):
        raise Invalid(
            f"{name}: the date {day} is before the birth date {born}.",
            fields={name: f"Before the birth date {born}."},
        )


def _save_stated(
    record: Any, *, user: Any, patient: Patient, action: str, what: str, request: Any
) -> None:
    """Save a clinical record as ``user`` states it: the field history names them, and the
    audit log says what was done to which patient."""
    record._history_user = user
    record.save()
    audit_record(request=request, user=user, action=action, what=what, patient=patient)


@transaction.atomic
def encounter_start(
    *,
    patient: Patient,
    user: Any,
    assessed_on: date,
    start_key: str | None = None,
    request: Any = None,
) -> Encounter:
    """A new consultation. The same ``start_key`` (one per "New consultation" form) starts it
    once, however often the form is sent."""
    require_fact(user, "intake_history")
    if start_key:
        existing = Encounter.objects.filter(start_key=start_key).first()
        if existing is not None:
            if existing.patient_id != patient.pk:
                raise Conflict("This form was used for another patient; reload the page.")
            return existing
    plausible_day("assessed_on", assessed_on, patient=patient)
    # Serialised with signatures: a consultation started while an older one is being signed
    # either comes first (and the signature is refused) or after it.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    try:
        with transaction.atomic():
            encounter = Encounter(
                patient=patient,
                assessed_on=assessed_on,
                clinician=user if "clinician" in role_names(user) else None,
                updated_by=user,
                start_key=start_key or None,
            )
            encounter._history_user = user  # type: ignore[attr-defined]
            encounter.save()
    except IntegrityError:
        return Encounter.objects.get(start_key=start_key)
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
    """Save one step's fields. Each changed field must be one the user's role may state, and a
    signed consultation is locked unless an amendment is open."""
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    unknown = sorted(set(fields) - set(ENCOUNTER_FACTS))
    if unknown:
        raise Invalid(f"Not a field of a consultation: {', '.join(unknown)}.")
    changed = {name: value for name, value in fields.items() if getattr(encounter, name) != value}
    roles = role_names(user)
    stated_by = dict(encounter.stated_by or {})
    refused = {
        name: (
            refusal(ENCOUNTER_FACTS[name])
            if not may_state(roles, ENCOUNTER_FACTS[name])
            else kept_by_clinician(ENCOUNTER_FACTS[name])
        )
        for name in changed
        if not may_change(roles, ENCOUNTER_FACTS[name], stated_by.get(name))
    }
    if refused:
        raise NotAllowed(sorted(set(refused.values())), fields=refused)
    if not may_state(roles, "intake_history"):
        raise NotAllowed(refusal("intake_history"))
    if not changed:
        return encounter
    _require_unlocked(encounter)
    plausible_day("assessed_on", changed.get("assessed_on"), patient=encounter.patient)
    if "assessed_on" in changed:
        moved = review_date_refusal(
            consultation_standing(encounter.patient), encounter.pk, changed["assessed_on"]
        )
        if moved is not None:
            raise Conflict(moved.sentence, fields={"assessed_on": moved.sentence}, code=moved.code)
    for name, value in changed.items():
        setattr(encounter, name, value)
        stated_by[name] = stating_role(roles)
    encounter.stated_by = stated_by
    encounter.last_step = step
    encounter.updated_by = user
    encounter._history_user = user  # type: ignore[attr-defined]
    encounter.save()
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"consultation {encounter.assessed_on}: {step}",  # the values: field history
        patient=encounter.patient,
    )
    return encounter


def finding_values(finding: LevelFinding | None) -> dict[str, Any]:
    if finding is None:
        return {}
    values = {name: getattr(finding, name) for name in FINDING_FIELDS}
    return {k: v for k, v in values.items() if v not in (None, "")}


@transaction.atomic
def study_save(
    *,
    through: Encounter | None = None,
    patient: Patient,
    user: Any,
    fields: dict[str, Any],
    study_id: int | None = None,
    findings: list[dict[str, Any]] | None = None,
    attest: bool = False,
    shown: str | None = None,
    request: Any = None,
) -> ImagingStudy:
    """Record or change an imaging study and its findings (a clinician's facts).

    The review is an attestation of the study as recorded: changing its date or any finding
    clears it (the history keeps the earlier values), unless the clinician attests the study as
    now recorded in the same save (``attest``). The stored study is read afresh here, never
    taken from a form that may already have changed it.
    """
    require_fact(user, "imaging_findings")
    _require_open(through)
    if study_id is not None and shown is not None:
        current = ImagingStudy.objects.get(pk=study_id, patient=patient)
        if shown != study_version(current):
            raise Conflict(
                f"The {current.modality} of {current.performed_on} changed since this page was "
                "opened: nothing was saved. Read it again, then make your change."
            )
    if attest:
        require_fact(user, "mri_review")
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
    require_unsigned_day(patient, study.performed_on if study_id is not None else None)
    require_unsigned_day(
        patient,
        fields.get("performed_on"),
        new_through=through if study_id is None else None,
    )
    for name, value in fields.items():
        setattr(study, name, value)
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
        study.reviewed, study.reviewed_by, study.reviewed_at = True, user, timezone.now()
        events.append("reviewed")
    elif study_id is None:
        study.reviewed, study.reviewed_by, study.reviewed_at = False, None, None
    elif changed and study.reviewed:
        study.reviewed, study.reviewed_by, study.reviewed_at = False, None, None
        events.append("review cleared: the study changed")
    study._history_user = user  # type: ignore[attr-defined]
    study.save()
    for level in set(before_findings) | set(after_findings):
        if before_findings.get(level) == after_findings.get(level):
            continue
        existing = LevelFinding.objects.filter(study=study, level=level).first()
        if level not in after_findings:
            if existing is not None:
                existing._history_user = user  # type: ignore[attr-defined]
                existing.delete()
            continue
        record = existing or LevelFinding(study=study, level=level)
        for name in FINDING_FIELDS:
            value = after_findings[level].get(name)
            setattr(record, name, "" if value is None and name == "herniation" else value)
        record._history_user = user  # type: ignore[attr-defined]
        record.save()
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE if study_id is None else AuditEvent.UPDATE,
        what=" - ".join([f"imaging {study.modality} {study.performed_on}", *events]),
        patient=patient,
    )
    return study


def study_version(study: ImagingStudy) -> str:
    """SHA-256 of a study's clinical content as recorded (date, flags, every finding): the
    review button carries it, so a review attests what the clinician saw."""
    content = {
        "study": {name: str(getattr(study, name)) for name in STUDY_FIELDS if name != "report"},
        "findings": {f.level: finding_values(f) for f in study.levels.all()},
    }
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


@transaction.atomic
def study_review(
    *,
    through: Encounter | None = None,
    patient: Patient,
    study_id: int,
    user: Any,
    shown: str | None = None,
    request: Any = None,
) -> ImagingStudy:
    """A clinician attests that they reviewed the study as it is recorded now. ``shown`` is
    the version of the study on the page the clinician read (every interactive route passes
    it): a study changed since is not reviewed."""
    require_fact(user, "mri_review")
    _require_open(through)
    study = ImagingStudy.objects.select_for_update().get(pk=study_id, patient=patient)
    require_unsigned_day(patient, study.performed_on)
    if shown is not None and shown != study_version(study):
        raise Conflict(
            f"The {study.modality} of {study.performed_on} changed since this page was opened: "
            "read it again before reviewing it."
        )
    study.reviewed, study.reviewed_by, study.reviewed_at = True, user, timezone.now()
    what = f"imaging {study.modality} {study.performed_on} - reviewed"
    _save_stated(
        study, user=user, patient=patient, action=AuditEvent.SIGN, what=what, request=request
    )
    return study


@transaction.atomic
def block_add(
    *,
    through: Encounter | None = None,
    patient: Patient,
    user: Any,
    fields: dict[str, Any],
    submission_key: str | None = None,
    request: Any = None,
) -> DiagnosticBlock:
    """A diagnostic block or discography, stated (and so verified) by the clinician; once per
    ``submission_key`` (a double click or parallel posts of one form record one block)."""
    require_fact(user, "diagnostic_block")
    _require_open(through)
    if submission_key is not None:
        earlier = DiagnosticBlock.objects.filter(submission_key=submission_key).first()
        if earlier is not None:
            if earlier.patient_id != patient.pk:
                raise Conflict("This form was already used for another patient: reload it.")
            return earlier
    plausible_day("performed_on", fields.get("performed_on"), patient=patient)
    require_unsigned_day(patient, fields.get("performed_on"), new_through=through)
    block = DiagnosticBlock(
        patient=patient,
        recorded_by=user,
        verified_by=user,
        verified_at=timezone.now(),
        submission_key=submission_key,
        **fields,
    )
    what = f"{block.get_kind_display()} {block.performed_on}"
    try:
        with transaction.atomic():
            _save_stated(
                block,
                user=user,
                patient=patient,
                action=AuditEvent.CREATE,
                what=what,
                request=request,
            )
    except IntegrityError:
        if submission_key is None:
            raise
        # The same submission committed in parallel: its block is the one.
        return DiagnosticBlock.objects.get(submission_key=submission_key)
    return block


@transaction.atomic
def block_verify(
    *,
    through: Encounter | None = None,
    patient: Patient,
    block_id: int,
    user: Any,
    request: Any = None,
) -> DiagnosticBlock:
    """A clinician verifies an imported block: from now on it counts in the workup."""
    require_fact(user, "diagnostic_block")
    _require_open(through)
    block = DiagnosticBlock.objects.select_for_update().get(pk=block_id, patient=patient)
    if block.verified_by_id is None:
        require_unsigned_day(patient, block.performed_on)
        block.verified_by, block.verified_at = user, timezone.now()
        what = f"{block.get_kind_display()} {block.performed_on} - verified"
        _save_stated(
            block, user=user, patient=patient, action=AuditEvent.SIGN, what=what, request=request
        )
    return block


@transaction.atomic
def procedure_add(
    *,
    through: Encounter | None = None,
    patient: Patient,
    user: Any,
    fields: dict[str, Any],
    request: Any = None,
) -> PriorProcedure:
    require_fact(user, "prior_procedure")
    _require_open(through)
    plausible_day("performed_on", fields.get("performed_on"), patient=patient)
    require_unsigned_day(patient, fields.get("performed_on"), new_through=through)
    procedure = PriorProcedure(patient=patient, **fields)
    what = f"prior {procedure.get_kind_display()} {procedure.performed_on}"
    _save_stated(
        procedure, user=user, patient=patient, action=AuditEvent.CREATE, what=what, request=request
    )
    return procedure


@dataclass(frozen=True)
class Review:
    """What the review page shows, and the fingerprint a signature must carry."""

    workup: Workup
    decision: Decision
    policy: Policy

    @property
    def fingerprint(self) -> str:
        return review_fingerprint(self.workup, self.policy, self.decision)


def review_fingerprint(workup: Workup, policy: Policy, decision: Decision) -> str:
    """SHA-256 of the exact workup, policy (every number) and decision of a review."""
    document = {
        "workup": workup.to_json_dict(),
        "policy": policy.fingerprint_data(),
        "decision": decision.to_dict(),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def decision_review(encounter: Encounter, policy: Policy | None = None) -> Review:
    """The decision the engine makes from the consultation as recorded now (not stored)."""
    policy = policy or clinic_policy()
    workup = workup_for_encounter(encounter)
    return Review(workup, decide(workup, policy), policy)


def decision_preview(encounter: Encounter, policy: Policy | None = None) -> tuple[Workup, Decision]:
    review = decision_review(encounter, policy)
    return review.workup, review.decision


def new_signature_token() -> str:
    return secrets.token_urlsafe(24)


class ReviewChanged(Conflict):
    """The workup, policy or decision changed since the review page was opened."""

    title = "The workup changed"


def _signed(decision: CandidacyDecision, created: bool) -> CandidacyDecision:
    # Whether this call signed something new (False: a repeat, or nothing had changed).
    decision.newly_signed = created  # type: ignore[attr-defined]
    return decision


def decision_sign(
    *,
    encounter: Encounter,
    user: Any,
    token: str,
    fingerprint: str | None = None,
    request: Any = None,
) -> CandidacyDecision:
    """Sign the decision the clinician saw. Only a clinician signs.

    The decision is recomputed here from the consultation as recorded now; its fingerprint
    must be the one the review page showed, or the signature is refused (the workup, policy or
    decision changed meanwhile). The same page signed twice (its token) signs once; signing a
    locked consultation whose review has not changed is a no-op that says so.

    Every interactive route passes the ``fingerprint`` of the page it showed (the web view
    refuses a form without one); ``None`` is for loaders that sign what they compute here
    (the demo clinic, tests).
    """
    require_fact(user, "decision")
    if fingerprint is not None and len(fingerprint) != 64:
        raise Invalid("This review page is incomplete; reload it and sign again.")
    if not token or len(token) > 64:
        raise Invalid("This review page is incomplete or has expired; reload it and sign again.")
    existing = CandidacyDecision.objects.filter(signature_token=token).first()
    if existing is not None:
        if existing.encounter_id != encounter.pk:
            raise Conflict("This signature belongs to another consultation.")
        return _signed(existing, False)
    try:
        with transaction.atomic():
            encounter = (
                Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
            )
            # The policy in force now, read in this transaction (not a worker's copy of a
            # moment ago): a policy adopted since the page was shown changes the fingerprint.
            review = decision_review(encounter, clinic_policy(fresh=True))
            fingerprint = fingerprint or review.fingerprint
            if review.fingerprint != fingerprint:
                raise ReviewChanged(
                    "The workup changed since you opened this review. The review below is the "
                    "new one: read it, then sign again."
                )
            last = encounter.decisions.order_by("-signed_at", "-id").first()
            if last is not None and last.fingerprint == fingerprint:
                # Nothing changed since the last signature (an amendment that changed
                # nothing is closed by it): the same review is never signed twice.
                _close_amendment(encounter, last, user, new=False)
                return _signed(last, False)
            # One signer per patient at a time, and never an older consultation once a newer
            # one exists (PATHWAY.md section 9): its decision would not be the one in force.
            Patient.objects.select_for_update().filter(pk=encounter.patient_id).first()
            refused = sign_refusal(consultation_standing(encounter.patient), encounter.pk)
            if refused is not None:
                raise Conflict(refused.sentence, code=refused.code)
            if encounter.is_locked:
                raise Conflict(
                    "This consultation is signed and locked; amend it, with a reason, to sign "
                    "a new decision."
                )
            signed = CandidacyDecision.objects.create(
                encounter=encounter,
                patient=encounter.patient,
                decision=review.decision.decision,
                decision_json=review.decision.to_dict(),
                workup_json=review.workup.to_json_dict(),
                policy_name=review.policy.name,
                policy_version=review.policy.version,
                signed_by=user,
                signature_token=token,
                fingerprint=review.fingerprint,
            )
            _close_amendment(encounter, signed, user, new=True)
    except IntegrityError:
        # A concurrent submission with the same token won the race: same signature.
        return _signed(CandidacyDecision.objects.get(signature_token=token), False)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.SIGN,
        what=f"candidacy decision: {signed.decision} ({fingerprint[:12]})",
        patient=encounter.patient,
    )
    return _signed(signed, True)


def _close_amendment(
    encounter: Encounter, signed: CandidacyDecision, user: Any, *, new: bool
) -> None:
    """The consultation is signed (again): locked, and any open amendment closed by it. A new
    signature names its clinician; confirming the last one changes nothing else."""
    Amendment.objects.filter(encounter=encounter, closed_by__isnull=True).update(closed_by=signed)
    if encounter.status == Encounter.FINISHED and not new:
        return
    encounter.status = Encounter.FINISHED
    if new:
        encounter.clinician = user
    encounter._history_user = user  # type: ignore[attr-defined]
    encounter.save(update_fields=["status", "clinician", "updated_at"])


@transaction.atomic
def encounter_amend(
    *, encounter: Encounter, user: Any, reason: str, request: Any = None
) -> Amendment:
    """Reopen a signed consultation with a reason. Opening it twice opens one amendment."""
    require_fact(user, "amendment")
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise Invalid(
            "reason: say why the signed consultation is changed.",
            fields={"reason": "Say why the signed consultation is changed."},
        )
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    if encounter.status == Encounter.AMENDING:
        return Amendment.objects.get(encounter=encounter, closed_by__isnull=True)
    if encounter.status != Encounter.FINISHED:
        raise Conflict("Only a signed consultation is amended; this one can still be edited.")
    amendment = Amendment.objects.create(encounter=encounter, reason=reason[:2000], opened_by=user)
    encounter.status = Encounter.AMENDING
    encounter._history_user = user  # type: ignore[attr-defined]
    encounter.save(update_fields=["status", "updated_at"])
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"consultation {encounter.assessed_on}: amendment opened ({reason[:200]})",
        patient=encounter.patient,
    )
    return amendment


# --- Import of a workup in the interchange format ------------------------------------------

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


@transaction.atomic
def workup_import(
    *,
    workup: Workup,
    user: Any,
    names: tuple[str, str] | None = None,
    patient: Patient | None = None,
    confirm_changes: bool = False,
    confirm_for: str | None = None,
    request: Any = None,
) -> Encounter:
    """Record a workup as a consultation: of a new patient, or of the one the user picked.

    A workup whose id matches an existing chart is refused unless that chart was picked, so a
    file never lands in the wrong chart by its id alone. Differences in demographics change the
    chart only when confirmed, and the audit keeps them. Imported studies arrive unreviewed and
    imported blocks unverified: a clinician states those facts here.
    """
    require_fact(user, "workup_import")
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
            request=request,
            user=user,
            given_name=given.strip(),
            family_name=family.strip(),
            external_id=workup.patient.id,
            birth_date=workup.patient.birth_date,
            sex=workup.patient.sex or "",
            payer=workup.payer or "",
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
            require_fact(user, "demographics")
            for name, (_old, new) in changes.items():
                setattr(patient, name, new)
            patient._history_user = user  # type: ignore[attr-defined]
            patient.save()
    for name, day in _workup_dates(workup):
        plausible_day(name, day, patient=patient, latest=workup.assessed_on)
    _refuse_new_records_in_a_signed_workup(patient, workup)
    _import_records(patient, workup, user)
    encounter = _import_encounter(patient, workup, user)
    changed = "; ".join(f"{k} {old or 'blank'} -> {new}" for k, (old, new) in changes.items())
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.IMPORT,
        what=f"workup {workup.assessed_on} (id {workup.patient.id})"
        + (f"; chart changed: {changed}" if changed else ""),
        patient=patient,
    )
    return encounter


def _plausible_import_dates(workup: Workup) -> None:
    """A workup's review day is not in the future nor before 1900 (the domain checks the
    rest: no record after the review day, none before the birth date)."""
    today = timezone.localdate()
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


def unstated_on_import(user: Any) -> list[str]:
    """The clinical facts a workup file carries that this importer may not state: they are left
    unrecorded, for a clinician to record (an import is no route around the role table)."""
    roles = role_names(user)
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


def _import_encounter(patient: Patient, workup: Workup, user: Any) -> Encounter:
    history, care = workup.history, workup.history.conservative_care
    flags, exam, outcomes = workup.red_flags, workup.exam, workup.outcomes
    roles = role_names(user)
    if not may_state(roles, "red_flag_screen"):
        flags = type(flags)()
    if not may_state(roles, "neurological_exam"):
        exam = type(exam)()
    pattern = history.pattern if may_state(roles, "pain_pattern") else None
    asked = history.prior_procedures is not None and may_state(roles, "prior_procedure")
    # The review day decides which imaging and blocks count: a clinician's to set. A
    # coordinator's import starts a consultation of today.
    day = workup.assessed_on if may_state(roles, "review_date") else timezone.localdate()
    encounter = Encounter(
        patient=patient,
        assessed_on=day,
        updated_by=user,
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
    encounter._history_user = user  # type: ignore[attr-defined]
    encounter.save()
    return encounter


def _import_records(patient: Patient, workup: Workup, user: Any) -> None:
    """Add the workup's imaging, blocks and procedures that the patient does not have yet.

    Studies arrive unreviewed and blocks unverified, whoever imports them: the review of an
    MRI and a block's result are a clinician's statements, made on the imaging page.
    """
    may_record_procedures = may_state(role_names(user), "prior_procedure")
    # Level findings are a clinician's statements: from another role's import a study arrives
    # with its date only, for a clinician to read (it could otherwise replace, as the newest
    # MRI, the findings a clinician recorded).
    may_record_findings = may_state(role_names(user), "imaging_findings")
    for proc in (workup.history.prior_procedures or ()) if may_record_procedures else ():
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
                "reviewed": False,
                "infection": study.infection,
                "malignancy": study.malignancy,
                "fracture": study.fracture or "",
            },
        )
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
                default_user=user,
            )
    for block in workup.diagnostic_blocks:
        DiagnosticBlock.objects.get_or_create(
            patient=patient,
            kind=block.kind,
            performed_on=block.date,
            levels=list(block.levels or ()),
            side=block.side or "",
            defaults={
                "relief_pct": block.relief_pct,
                "concordant": block.concordant,
                "recorded_by": user,
            },
        )


def attest_imported(*, encounter: Encounter, user: Any, request: Any = None) -> None:
    """A clinician reviews every study and verifies every block of a consultation's workup, as
    each one is recorded (used where a clinician has read them all, e.g. the demo clinic)."""
    day = encounter.assessed_on
    for study in ImagingStudy.objects.filter(patient=encounter.patient, performed_on__lte=day):
        if not study.reviewed:
            study_review(patient=encounter.patient, study_id=study.pk, user=user, request=request)
    for block in DiagnosticBlock.objects.filter(
        patient=encounter.patient, performed_on__lte=day, verified_by__isnull=True
    ):
        block_verify(patient=encounter.patient, block_id=block.pk, user=user, request=request)


# --- MRI studies from DICOM -------------------------------------------------------------------


@transaction.atomic
def dicom_study_import(
    *,
    patient: Patient,
    study: DicomStudy,
    user: Any,
    through: Encounter | None = None,
    request: Any = None,
) -> tuple[ImagingStudy, bool]:
    """Record a study read from DICOM files: unreviewed, dated by its files, with its UID,
    description, body part and series. The files' patient must be this patient. The same study
    imported again changes nothing. Returns (the study, whether it was created now)."""
    require_fact(user, "dicom_import")
    _require_open(through)
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
    require_unsigned_day(patient, study.study_date, new_through=through)
    record = ImagingStudy(
        patient=patient,
        modality=study_modality(study.modalities),
        performed_on=study.study_date,
        reviewed=False,
        study_uid=study.uid,
        description=study.description,
        body_part=study.body_part,
        series=study.series_list(),
    )
    record._history_user = user  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # the same study, imported in parallel a moment ago
        return ImagingStudy.objects.get(study_uid=study.uid), False
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.IMPORT,
        what=f"imaging {record.modality} {record.performed_on} from DICOM "
        f"({len(record.series or [])} series)",
        patient=patient,
    )
    return record, True
