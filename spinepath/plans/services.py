"""Writes for plans, prices and procedures. Each promise is enforced in one function here:

- no prices before a candidate decision: :func:`require_candidate`
- no injection at a target the workup has not confirmed: :func:`plan_injection_add`
- a written, accepted plan before anything happens: :func:`plan_accept`
- no injection without a recent reviewed MRI and an accepted plan: :func:`procedure_record`
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from spinepath.accounts.roles import CLINIC_ADMIN, has_role, is_clinician, is_staff_member
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import CandidacyDecision, ImagingStudy
from spinepath.consultations.selectors import latest_signed_decision
from spinepath.pathway.dates import months_before
from spinepath.pathway.plans import (
    GUIDANCE_LABELS,
    MATERIAL_LABELS,
    TARGET_OPTIONS,
    Financing,
    PlanTotals,
    PricedLine,
    ProcedureCheck,
    Target,
    coverage_for,
    financing_offer,
    plan_totals,
    planned_target_problem,
    procedure_refusals,
)
from spinepath.patients.models import Patient
from spinepath.plans.models import (
    CarePlan,
    FinancingTerms,
    PlanLine,
    PriceItem,
    PriceVersion,
    Procedure,
)
from spinepath.web.policy import clinic_policy

INJECTION_NAMES = {
    "discogenic": "Intradiscal injection",
    "facet": "Facet joint injection",
    "myoligamentous": "Ligament injection",
    "sacroiliac": "Sacroiliac joint injection",
}


class ProcedureRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


# --- The pricing gate ----------------------------------------------------------------------


def pricing_problem(patient: Patient, today: date | None = None) -> str | None:
    """Why no plan or price may be shown for ``patient`` today, or None when they may: the
    latest signed decision must be ``candidate`` and the reviewed MRI still inside its window
    (PATHWAY.md promises 1 and 4: nothing is planned or priced without a recent MRI)."""
    signed = latest_signed_decision(patient)
    if signed is None or signed.decision != "candidate":
        return "Plans and prices are available only after a candidate decision."
    today = today or timezone.localdate()
    policy = clinic_policy()
    mri = (
        ImagingStudy.objects.filter(patient=patient, modality="MRI", performed_on__lte=today)
        .order_by("-performed_on", "-id")
        .first()
    )
    if mri is None or not mri.reviewed:
        return "There is no reviewed MRI: a plan needs one."
    if mri.performed_on < months_before(today, policy.mri_max_age_months):
        return (
            f"The MRI of {mri.performed_on} is now older than {policy.mri_max_age_months} "
            "months: a new MRI and a new review come before a plan."
        )
    return None


def require_candidate(patient: Patient) -> CandidacyDecision:
    """The patient's latest signed decision, which must be ``candidate`` with the MRI still
    recent; otherwise no price, plan or PDF exists for anyone, however the address is typed
    (404, not a hint)."""
    problem = pricing_problem(patient)
    if problem is not None:
        raise Http404(problem)
    signed = latest_signed_decision(patient)
    assert signed is not None
    return signed


def decision_targets(signed: CandidacyDecision) -> frozenset[Target]:
    """The confirmed, eligible injection targets of a signed decision, as stored."""
    return frozenset(
        Target(g["generator"], g.get("level"), g.get("side"))
        for g in signed.decision_json.get("generators", [])
        if g["status"] == "confirmed" and g["eligible"] and g["generator"] in TARGET_OPTIONS
    )


# --- Price list (clinic admin) --------------------------------------------------------------


def _require_admin(user: Any) -> None:
    if not has_role(user, CLINIC_ADMIN):
        raise PermissionDenied("Only the clinic admin keeps the price list.")


@transaction.atomic
def price_set(*, item: PriceItem, amount: Decimal, user: Any) -> PriceVersion:
    """A new price for ``item``; plans already written keep the price they were written with."""
    _require_admin(user)
    if amount < 0:
        raise ValidationError({"amount": "A price cannot be negative."})
    current = item.current_version()
    if current is not None and current.amount == amount:
        return current
    return PriceVersion.objects.create(item=item, amount=amount, created_by=user)


@transaction.atomic
def financing_set(
    *, user: Any, provider: str, term_months: int, annual_rate_pct: Decimal
) -> FinancingTerms:
    _require_admin(user)
    return FinancingTerms.objects.create(
        provider=provider, term_months=term_months, annual_rate_pct=annual_rate_pct
    )


def current_financing() -> FinancingTerms:
    return FinancingTerms.objects.first() or FinancingTerms()


# --- Plans ---------------------------------------------------------------------------------


def _require_staff(user: Any) -> None:
    if not is_staff_member(user):
        raise PermissionDenied("Only clinic staff prepare plans.")


def _require_draft(plan: CarePlan) -> None:
    if plan.is_frozen:
        raise ValidationError("This plan was accepted and is frozen; make a new version instead.")


def _item(code: str) -> PriceItem:
    item = PriceItem.objects.filter(code=code, active=True).first()
    if item is None or item.current_version() is None:
        raise ValidationError(f"The price list has no active item '{code}'.")
    return item


def injection_item(generator: str, material: str) -> PriceItem:
    item = PriceItem.objects.filter(
        category="regenerative", generator=generator, material=material, active=True
    ).first()
    if item is None or item.current_version() is None:
        raise ValidationError(
            f"The price list has no active {MATERIAL_LABELS[material]} item for this target."
        )
    return item


def _line(
    plan: CarePlan,
    item: PriceItem,
    phase: str,
    description: str,
    position: int,
    quantity: int = 1,
    **target: Any,
) -> PlanLine:
    version = item.current_version()
    assert version is not None
    return PlanLine.objects.create(
        plan=plan,
        phase=phase,
        position=position,
        description=description,
        price_item=item,
        price_version=version,
        unit_price=version.amount,
        quantity=quantity,
        **target,
    )


def target_description(target: Target, material: str, guidance: str) -> str:
    where = " ".join(p for p in (target.side, target.level) if p)
    return (
        f"{INJECTION_NAMES[target.generator]} {where}".strip()
        + f": {MATERIAL_LABELS[material]}, {GUIDANCE_LABELS[guidance]} guidance"
    )


@transaction.atomic
def plan_create(*, patient: Patient, user: Any, request: Any = None) -> CarePlan:
    """A draft plan from the latest candidate decision: prepare -> inject -> follow."""
    _require_staff(user)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    signed = require_candidate(patient)
    draft = CarePlan.objects.filter(patient=patient, status=CarePlan.DRAFT).first()
    if draft is not None:
        return draft  # a second click opens the same draft
    version = (CarePlan.objects.filter(patient=patient).aggregate(v=Max("version"))["v"] or 0) + 1
    terms = current_financing()
    plan = CarePlan.objects.create(
        patient=patient,
        decision=signed,
        version=version,
        payer=patient.payer,
        financing_provider=terms.provider,
        financing_term_months=terms.term_months,
        financing_rate_pct=terms.annual_rate_pct,
        created_by=user,
    )
    _line(plan, _item("pre-procedure-visit"), "prepare", "Pre-procedure visit and consent", 10)
    position = 20
    for target in sorted(decision_targets(signed), key=lambda t: (t.generator, t.level or "")):
        materials, guidances = TARGET_OPTIONS[target.generator]
        item = injection_item(target.generator, materials[0])
        _line(
            plan,
            item,
            "inject",
            target_description(target, materials[0], guidances[0]),
            position,
            generator=target.generator,
            level=target.level or "",
            side=target.side or "",
            material=materials[0],
            guidance=guidances[0],
        )
        position += 10
    follow = _item("follow-up-visit")
    for visit in clinic_policy().visits:
        if visit.optional:
            continue
        _line(
            plan, follow, "follow", f"Reassessment at {visit.label}: pain and ODI", 100 + position
        )
        position += 10
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"plan version {plan.version}",
        patient=patient,
    )
    return plan


@transaction.atomic
def plan_injection_add(
    *,
    plan: CarePlan,
    user: Any,
    target: Target,
    material: str,
    guidance: str,
    planned_on: date | None = None,
    request: Any = None,
) -> PlanLine:
    """Add an injection session; only at a confirmed, eligible generator of the decision."""
    _require_staff(user)
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    _require_draft(plan)
    signed = require_candidate(plan.patient)
    if signed.pk != plan.decision_id:
        raise ValidationError("A newer decision was signed; start a new plan from it.")
    problem = planned_target_problem(
        signed.decision, decision_targets(signed), target, material, guidance
    )
    if problem is not None:
        raise ValidationError(problem[0].upper() + problem[1:] + ".")
    item = injection_item(target.generator, material)
    position = (plan.lines.aggregate(p=Max("position"))["p"] or 0) + 1
    line = _line(
        plan,
        item,
        "inject",
        target_description(target, material, guidance),
        position,
        generator=target.generator,
        level=target.level or "",
        side=target.side or "",
        material=material,
        guidance=guidance,
        planned_on=planned_on,
    )
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"plan v{plan.version}: added {line.description}",
        patient=plan.patient,
    )
    return line


@transaction.atomic
def plan_item_add(
    *,
    plan: CarePlan,
    user: Any,
    item: PriceItem,
    quantity: int,
    phase: str,
    request: Any = None,
) -> PlanLine:
    """Add a non-injection item (shockwave, block, visit, imaging)."""
    _require_staff(user)
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    _require_draft(plan)
    require_candidate(plan.patient)
    if item.category == "regenerative":
        raise ValidationError("Add injections as a session at a confirmed target.")
    if not 1 <= quantity <= 50:
        raise ValidationError({"quantity": "Quantity must be between 1 and 50."})
    position = (plan.lines.aggregate(p=Max("position"))["p"] or 0) + 1
    line = _line(plan, item, phase, item.name, position, quantity=quantity)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"plan v{plan.version}: added {item.name}",
        patient=plan.patient,
    )
    return line


@transaction.atomic
def plan_line_remove(*, plan: CarePlan, line_id: int, user: Any, request: Any = None) -> None:
    _require_staff(user)
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    _require_draft(plan)
    require_candidate(plan.patient)
    deleted, _ = PlanLine.objects.filter(plan=plan, pk=line_id).delete()
    if deleted:
        audit_record(
            request=request,
            user=user,
            action=AuditEvent.UPDATE,
            what=f"plan v{plan.version}: removed a line",
            patient=plan.patient,
        )


@dataclass(frozen=True)
class PlanFigures:
    lines: list[tuple[PlanLine, PricedLine]]
    totals: PlanTotals
    financing: Financing | None


def plan_figures(plan: CarePlan) -> PlanFigures:
    """Per line what the patient pays and what a payer is expected to pay; totals; financing."""
    priced = []
    for line in plan.lines.select_related("price_item"):
        coverage = coverage_for(line.price_item.category, plan.payer or None)
        priced.append(
            (line, PricedLine(line.description, line.quantity, line.unit_price, coverage))
        )
    totals = plan_totals(p for _, p in priced)
    financing = (
        financing_offer(totals.self_pay, plan.financing_term_months, plan.financing_rate_pct)
        if totals.self_pay > 0
        else None
    )
    return PlanFigures(priced, totals, financing)


def _same_name(typed: str, patient: Patient) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    return norm(typed) in {
        norm(f"{patient.given_name} {patient.family_name}"),
        norm(f"{patient.family_name} {patient.given_name}"),
        norm(f"{patient.family_name}, {patient.given_name}").replace(",", ""),
    }


@transaction.atomic
def plan_accept(*, plan: CarePlan, typed_name: str, user: Any, request: Any = None) -> CarePlan:
    """The patient accepts the written plan (name typed as signature); it is frozen from now."""
    _require_staff(user)
    plan = CarePlan.objects.select_for_update().select_related("patient").get(pk=plan.pk)
    if plan.status == CarePlan.ACCEPTED:
        return plan  # a double submission accepts once
    _require_draft(plan)
    signed = require_candidate(plan.patient)
    if signed.pk != plan.decision_id:
        raise ValidationError("A newer decision was signed since this plan was written.")
    if not plan.lines.filter(phase="inject").exists():
        raise ValidationError("The plan has no injection session to accept.")
    if not _same_name(typed_name, plan.patient):
        raise ValidationError(
            {"typed_name": "Type the patient's full name as written on the plan."}
        )
    figures = plan_figures(plan)
    for older in CarePlan.objects.filter(patient=plan.patient, status=CarePlan.ACCEPTED):
        older.status = CarePlan.SUPERSEDED
        older.save(update_fields=["status"])
    plan.status = CarePlan.ACCEPTED
    plan.accepted_at = timezone.now()
    plan.accepted_name = " ".join(typed_name.split())
    plan.accepted_address = request.META.get("REMOTE_ADDR") if request is not None else None
    plan.accepted_total = figures.totals.total
    plan.save()
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.SIGN,
        what=f"plan v{plan.version} accepted, total {figures.totals.total}",
        patient=plan.patient,
    )
    return plan


@transaction.atomic
def plan_revise(*, plan: CarePlan, user: Any, request: Any = None) -> CarePlan:
    """A new draft version of an accepted plan, at today's prices; the accepted one stays as it
    was until the new version is accepted."""
    _require_staff(user)
    signed = require_candidate(plan.patient)
    draft = CarePlan.objects.filter(patient=plan.patient, status=CarePlan.DRAFT).first()
    if draft is not None:
        return draft
    version = CarePlan.objects.filter(patient=plan.patient).aggregate(v=Max("version"))["v"] or 0
    terms = current_financing()
    try:
        new = CarePlan.objects.create(
            patient=plan.patient,
            decision=signed,
            version=version + 1,
            supersedes=plan,
            payer=plan.patient.payer,
            financing_provider=terms.provider,
            financing_term_months=terms.term_months,
            financing_rate_pct=terms.annual_rate_pct,
            created_by=user,
        )
    except IntegrityError:
        return CarePlan.objects.get(patient=plan.patient, status=CarePlan.DRAFT)
    targets = decision_targets(signed)
    for line in plan.lines.select_related("price_item"):
        if line.phase == "inject":
            target = Target(line.generator, line.level or None, line.side or None)
            if target not in targets:
                continue  # the new decision no longer confirms it
        _line(
            new,
            line.price_item,
            line.phase,
            line.description,
            line.position,
            quantity=line.quantity,
            generator=line.generator,
            level=line.level,
            side=line.side,
            material=line.material,
            guidance=line.guidance,
            planned_on=line.planned_on,
        )
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"plan version {new.version} (revises v{plan.version})",
        patient=plan.patient,
    )
    return new


def plan_changes(plan: CarePlan) -> list[str]:
    """What changed from the version this plan supersedes, in words."""
    if plan.supersedes is None:
        return []
    before = {(ln.description, ln.quantity): ln.unit_price for ln in plan.supersedes.lines.all()}
    after = {(ln.description, ln.quantity): ln.unit_price for ln in plan.lines.all()}
    changes = []
    for key in after.keys() - before.keys():
        changes.append(f"Added: {key[0]} x{key[1]} at {after[key]}")
    for key in before.keys() - after.keys():
        changes.append(f"Removed: {key[0]} x{key[1]}")
    for key in after.keys() & before.keys():
        if after[key] != before[key]:
            changes.append(f"Price of {key[0]}: {before[key]} -> {after[key]}")
    return sorted(changes)


def accepted_plan(patient: Patient) -> CarePlan | None:
    return CarePlan.objects.filter(patient=patient, status=CarePlan.ACCEPTED).first()


# --- Procedures ----------------------------------------------------------------------------


def procedure_check(*, patient: Patient, target: Target, performed_on: date) -> list[str]:
    """Every reason a procedure at ``target`` on ``performed_on`` may not be recorded."""
    signed = latest_signed_decision(patient)
    plan = accepted_plan(patient)
    plan_targets = (
        [
            Target(ln.generator, ln.level or None, ln.side or None)
            for ln in plan.lines.filter(phase="inject")
        ]
        if plan is not None
        else []
    )
    mri = (
        ImagingStudy.objects.filter(patient=patient, modality="MRI", performed_on__lte=performed_on)
        .order_by("-performed_on", "-id")
        .first()
    )
    check = ProcedureCheck(
        procedure_date=performed_on,
        target=target,
        decision_kind=signed.decision if signed is not None else "none",
        plan_accepted=plan is not None and (signed is None or plan.decision_id == signed.pk),
        plan_targets=plan_targets,
        mri_date=mri.performed_on if mri is not None else None,
        mri_reviewed=bool(mri is not None and mri.reviewed),
    )
    reasons = procedure_refusals(check, clinic_policy())
    if performed_on > timezone.localdate():
        reasons.append("a procedure is recorded on or after the day it is done, not before")
    return reasons


@transaction.atomic
def procedure_record(
    *,
    patient: Patient,
    user: Any,
    target: Target,
    performed_on: date,
    material: str,
    guidance: str,
    dose: str = "",
    volume_ml: Decimal | None = None,
    complications: str = "",
    request: Any = None,
) -> Procedure:
    """Record an image-guided injection. Refused, with every reason, unless an accepted plan
    lists the target, the MRI is reviewed and inside its window on the day, and the latest
    decision is still ``candidate``."""
    if not is_clinician(user):
        raise PermissionDenied("Only a clinician records a procedure.")
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    reasons = procedure_check(patient=patient, target=target, performed_on=performed_on)
    materials, guidances = TARGET_OPTIONS.get(target.generator, ((), ()))
    if material not in materials:
        reasons.append(
            f"{target.label} is not injected with {MATERIAL_LABELS.get(material, material)}"
        )
    if guidance not in guidances:
        reasons.append(
            f"{target.label} is not injected under {GUIDANCE_LABELS.get(guidance, guidance)}"
        )
    if reasons:
        raise ProcedureRefused(reasons)
    plan = accepted_plan(patient)
    assert plan is not None
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
        operator=user,
    )
    # The reassessment visits follow the plan's last injection (PATHWAY.md section 5).
    from spinepath.followup.services import schedule_after_procedure

    schedule_after_procedure(procedure)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"procedure {target.label} {performed_on}",
        patient=patient,
    )
    return procedure
