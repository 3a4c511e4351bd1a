"""Procedures: recording an image-guided injection, and voiding a wrong entry.

The procedure gate is :func:`spinepath.pathway.gates.procedure_refusals` (promises 1 and 2,
PATHWAY.md section 7); this module gathers its facts, keeps one record per submission, and
announces every change of a plan's injections (:mod:`spinepath.plans.events`) so that the
follow-up schedule is recomputed from the injections that stand.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.actions import action, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, Refused
from spinepath.pathway.biologics import Dose, dose_problems, lot_problems
from spinepath.pathway.gates import (
    ProcedureAttempt,
    lot_refusal,
    planned_product,
    procedure_refusals,
)
from spinepath.pathway.injections import Fluoroscopy, PreProcedureChecks, record_problems
from spinepath.pathway.plans import Target
from spinepath.patients.models import Patient
from spinepath.plans.biologics import AmbiguousLot, lot_by_code
from spinepath.plans.events import injection_recorded, injections_changed
from spinepath.plans.models import CarePlan, Procedure, ProductLot
from spinepath.plans.selectors import accepted_plan, time_out_leaders
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy

# No procedure of this clinic is older than its records.
EARLIEST_YEAR = 2000
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
VOID_REASON_MAX = 2000


class ProcedureRefused(Refused):
    """The procedure gate's reasons: the form is shown again with every one of them."""

    status = 409
    title = "Procedure not recorded"


def new_submission_key() -> str:
    """The key a procedure form carries: one submission of that form, one record."""
    return secrets.token_urlsafe(24)


def _submitted(patient: Patient, key: str | None) -> Procedure | None:
    """The record an earlier copy of this submission made, if any."""
    if key is None:
        return None
    earlier = Procedure.objects.filter(submission_key=key).first()
    if earlier is not None and earlier.patient_id != patient.pk:
        raise Conflict("This form was already used for another patient: open a new form.")
    return earlier


def _lot_for(code: str, material: str, performed_on: date, dose: Dose) -> ProductLot:
    """The catalogue lot a scanned code names, checked against the injection: the same
    material, not expired on the day, and the dose its kind needs (PATHWAY.md section 10).
    Every injection names its lot."""
    if not code.strip():
        refusal = "Scan or type the code on the product's label."
        raise Invalid(refusal, fields={"lot_code": refusal})
    try:
        lot = lot_by_code(code)
    except AmbiguousLot:
        refusal = (
            f"Several lots have the lot number '{code.strip()[:80]}': scan or type the full "
            "code on the label."
        )
        raise Invalid(refusal, fields={"lot_code": refusal}) from None
    if lot is None:
        refusal = (
            f"No lot in the catalogue has the code '{code.strip()[:80]}': check the label, or "
            "ask the clinic admin to add the lot."
        )
        raise Invalid(refusal, fields={"lot_code": refusal})
    problems = lot_problems(
        kind=lot.product.kind,
        material=material,
        expires_on=lot.expires_on,
        performed_on=performed_on,
        recalled_on=lot.recalled_on,
    )
    fields = {("lot_code" if k == "lot" else k): v for k, v in problems.items()}
    fields.update(dose_problems(lot.product.kind, dose))
    if fields:
        raise Invalid(list(dict.fromkeys(fields.values())), fields=fields)
    return lot


def _time_out_leader(user_id: int | None) -> User | None:
    """The staff member named as having led the time-out: an active member of staff."""
    if user_id is None:
        return None
    leader = time_out_leaders().filter(pk=user_id).first()
    if leader is None:
        refusal = "Choose who led the time-out from the clinic's staff."
        raise Invalid(refusal, fields={"time_out_by": refusal})
    return leader


def _checked(
    *,
    code: str,
    material: str,
    guidance: str,
    performed_on: date,
    dose: Dose,
    volume_ml: Decimal | None,
    fluoroscopy: Fluoroscopy,
    checks: PreProcedureChecks,
) -> tuple[ProductLot, User]:
    """The lot and the time-out's leader, once everything the record must say is there: every
    problem at once, each on its field (PATHWAY.md section 10)."""
    fields = record_problems(
        guidance=guidance, volume_ml=volume_ml, fluoroscopy=fluoroscopy, checks=checks
    )
    # What no dose may say, whatever the lot (named even before a lot is scanned).
    fields.update(dose_problems("", dose))
    today = today_of_write()
    if performed_on > today:
        fields["performed_on"] = f"{performed_on} is in the future: record a procedure once done."
    elif performed_on.year < EARLIEST_YEAR:
        fields["performed_on"] = f"{performed_on} is not a date this clinic injected on."
    try:
        leader = _time_out_leader(checks.time_out_led_by)
        lot = _lot_for(code, material, performed_on, dose)
    except Invalid as refused:
        fields = {**refused.fields, **fields}
        raise Invalid(list(dict.fromkeys(fields.values())), fields=fields) from None
    if fields or leader is None:
        raise Invalid(list(dict.fromkeys(fields.values())), fields=fields)
    return lot, leader


@action("procedure")
def procedure_record(
    *,
    patient: Patient,
    actor: Actor,
    target: Target,
    performed_on: date,
    material: str,
    guidance: str,
    dose: str = "",
    volume_ml: Decimal | None = None,
    complications: str = "",
    submission_key: str | None = None,
    lot_code: str = "",
    dose_measured: Dose | None = None,
    fluoroscopy: Fluoroscopy | None = None,
    checks: PreProcedureChecks | None = None,
) -> Procedure:
    """Record an image-guided injection, once per ``submission_key``: a repeat of the same
    submission (a double click, parallel posts) returns the first record. The clinician
    recording it (``actor``) is its operator.

    Refused, with every reason, unless the latest signed decision is ``candidate`` and still
    stands, an accepted plan lists the target with an injection left, the date is on or after
    the decision and the acceptance and not in the future, the material and guidance suit the
    target, and the MRI is reviewed and inside its window on the day. The lot scanned
    (required) is of the material, not expired, with the dose its kind needs, of the kind the
    plan gives at the target and, for a kind under an IND, given under the plan's IND number,
    which the record keeps (PATHWAY.md section 10). The record says the volume per level, the
    fluoroscopy time and air kerma of an injection under fluoroscopy (none under other
    guidance), and that the consent was confirmed, the site marked and a time-out performed,
    naming the staff member who led it.
    """
    if submission_key is not None and not SUBMISSION_KEY.fullmatch(submission_key):
        raise Invalid("This form has no valid submission key: reload the page and try again.")
    fluoroscopy = fluoroscopy or Fluoroscopy()
    checks = checks or PreProcedureChecks()
    lot, leader = _checked(
        code=lot_code,
        material=material,
        guidance=guidance,
        performed_on=performed_on,
        dose=dose_measured or Dose(),
        volume_ml=volume_ml,
        fluoroscopy=fluoroscopy,
        checks=checks,
    )
    # One writer per patient at a time: the checks below and the insert see the same record.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    earlier = _submitted(patient, submission_key)
    if earlier is not None:
        return earlier
    standing = patient_standing(patient)
    attempt = ProcedureAttempt(performed_on, target, material, guidance)
    refusals = procedure_refusals(standing, attempt, clinic_policy())
    plan = accepted_plan(patient)
    if refusals or plan is None:
        raise ProcedureRefused(
            [_sentence_part(r.sentence) for r in refusals]
            or ["there is no written plan accepted by the patient"],
            codes=[r.code for r in refusals],
        )
    kind = lot.product.kind
    lot_refused = lot_refusal(standing, target, kind, clinic_policy())
    if lot_refused is not None:
        raise Invalid(
            lot_refused.sentence, fields={"lot_code": lot_refused.sentence}, code=lot_refused.code
        )
    planned = planned_product(standing, target, kind)
    try:
        with transaction.atomic():
            procedure = Procedure.objects.create(
                patient=patient,
                plan=plan,
                performed_on=performed_on,
                generator=target.generator,
                level=target.level or "",
                side=target.side or "",
                material=material,
                guidance=guidance,
                dose=dose,
                volume_ml=volume_ml,
                complications=complications,
                operator=actor.user,
                submission_key=submission_key,
                lot=lot,
                ind_number=planned.ind_number if planned is not None else "",
                fluoroscopy_seconds=fluoroscopy.seconds,
                air_kerma_mgy=fluoroscopy.air_kerma_mgy,
                consent_confirmed=checks.consent_confirmed,
                site_marked=checks.site_marked,
                time_out_done=checks.time_out_done,
                time_out_by=leader,
                cells_million=(dose_measured or Dose()).cells_million,
                viability_pct=(dose_measured or Dose()).viability_pct,
                platelets_k_per_ul=(dose_measured or Dose()).platelets_k_per_ul,
                leukocytes_k_per_ul=(dose_measured or Dose()).leukocytes_k_per_ul,
            )
    except IntegrityError:
        # The same submission committed in parallel, past the lock (a database without row
        # locks): its record is the one.
        return Procedure.objects.get(submission_key=submission_key)
    injections_changed.send(sender=CarePlan, plan=plan)
    injection_recorded.send(sender=CarePlan, procedure=procedure)
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"procedure {target.label} {performed_on}",
        patient=patient,
    )
    return procedure


@action("procedure_void")
def procedure_void(*, procedure: Procedure, actor: Actor, reason: str) -> Procedure:
    """Void a wrong entry, with the reason: it stays on the record (who, when, why), and the
    follow-up schedule and the outcomes go on without it. Voiding twice voids once."""
    reason = reason.strip()
    if not reason:
        message = "Say why this entry is wrong: the reason stays on the record."
        raise Invalid(message, fields={"reason": message})
    if len(reason) > VOID_REASON_MAX:
        message = f"Keep the reason under {VOID_REASON_MAX} characters."
        raise Invalid(message, fields={"reason": message})
    Patient.objects.select_for_update().filter(pk=procedure.patient_id).first()
    procedure = Procedure.objects.select_for_update().select_related("plan").get(pk=procedure.pk)
    if procedure.is_voided:
        return procedure
    procedure.voided_at = timezone.now()
    procedure.voided_by = actor.user
    procedure.void_reason = reason
    procedure.save(update_fields=["voided_at", "voided_by", "void_reason"])
    injections_changed.send(sender=CarePlan, plan=procedure.plan)
    target = Target(procedure.generator, procedure.level or None, procedure.side or None)
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"procedure {target.label} {procedure.performed_on} voided: {reason}",
        patient=procedure.patient,
    )
    return procedure


def _sentence_part(sentence: str) -> str:
    """A full sentence as one reason among others: lower-case start, no final stop."""
    return (sentence[:1].lower() + sentence[1:]).rstrip(".")
