"""Plan writes: a written plan from a candidate decision, its lines and its versions.

- no prices before a candidate decision: every write first asks
  :func:`spinepath.plans.pricing.require_candidate`
- no injection at a target the workup has not confirmed: :func:`plan_injection_add`
- a written, accepted plan before anything happens: its acceptance lives in
  :mod:`spinepath.plans.acceptance`
- an accepted plan is never edited, only superseded: :func:`plan_revise`

Procedures are recorded in :mod:`spinepath.plans.procedures`, prices kept in
:mod:`spinepath.plans.pricing`, reads live in :mod:`spinepath.plans.selectors`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from spinepath.actions import action, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import CandidacyDecision
from spinepath.errors import Conflict, Invalid
from spinepath.pathway import gates
from spinepath.pathway.biologics import FIRST_KIND, normalised_ind
from spinepath.pathway.plans import (
    GUIDANCE_LABELS,
    MATERIAL_LABELS,
    TARGET_OPTIONS,
    Target,
    planned_product_problems,
)
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan, PlanLine, PriceItem, PriceVersion
from spinepath.plans.pricing import require_candidate
from spinepath.plans.selectors import (
    accepted_plan,
    current_financing,
    decision_targets,
)
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy

INJECTION_NAMES = {
    "discogenic": "Intradiscal injection",
    "facet": "Facet joint injection",
    "myoligamentous": "Ligament injection",
    "sacroiliac": "Sacroiliac joint injection",
}


def require_draft(plan: CarePlan) -> None:
    """Only the clinic's working draft is edited: a released or accepted version is frozen."""
    if plan.is_frozen:
        said = "released to the patient" if plan.status == CarePlan.RELEASED else "accepted"
        raise Conflict(
            f"This plan was {said} and is frozen; make a new version instead.",
            code="plan_frozen",
        )


def _item(code: str) -> PriceItem:
    item = PriceItem.objects.filter(code=code, active=True).first()
    if item is None or item.current_version() is None:
        raise Invalid(f"The price list has no active item '{code}'.")
    return item


def injection_item(generator: str, material: str) -> PriceItem:
    item = PriceItem.objects.filter(
        category="regenerative", generator=generator, material=material, active=True
    ).first()
    if item is None or item.current_version() is None:
        raise Invalid(
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
    version: PriceVersion | None = item.current_version()
    if version is None:
        raise Invalid(f"The price list has no price for '{item.name}'.")
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


def _submitted_line(plan: CarePlan, key: str | None) -> PlanLine | None:
    """The line an earlier copy of this submission added (the plan's row lock is held, so a
    parallel copy waits for it)."""
    if key is None:
        return None
    earlier = PlanLine.objects.filter(submission_key=key).first()
    if earlier is not None and earlier.plan_id != plan.pk:
        raise Conflict("This form was already used for another plan: reload the page.")
    return earlier


def target_description(target: Target, material: str, guidance: str) -> str:
    where = " ".join(p for p in (target.side, target.level) if p)
    return (
        f"{INJECTION_NAMES[target.generator]} {where}".strip()
        + f": {MATERIAL_LABELS[material]}, {GUIDANCE_LABELS[guidance]} guidance"
    )


def _new_plan(
    patient: Patient, signed: CandidacyDecision, actor: Actor, supersedes: CarePlan | None = None
) -> CarePlan | None:
    """A new draft version, or None when a parallel request made the patient's draft first
    (the partial unique constraint allows one draft per patient). The savepoint keeps the
    surrounding transaction usable after the refused insert."""
    version = CarePlan.objects.filter(patient=patient).aggregate(v=Max("version"))["v"] or 0
    terms = current_financing()
    try:
        with transaction.atomic():
            return CarePlan.objects.create(
                patient=patient,
                decision=signed,
                version=version + 1,
                supersedes=supersedes,
                payer=patient.payer,
                financing_provider=terms.provider,
                financing_term_months=terms.term_months,
                financing_rate_pct=terms.annual_rate_pct,
                created_by=actor.user,
            )
    except IntegrityError:
        return None


def _offered(patient: Patient) -> CarePlan | None:
    """The version released to the patient, else the accepted one (the newest that stands)."""
    return CarePlan.objects.filter(
        patient=patient, status=CarePlan.RELEASED
    ).first() or accepted_plan(patient)


def _draft(patient: Patient) -> CarePlan | None:
    return CarePlan.objects.filter(patient=patient, status=CarePlan.DRAFT).first()


@action("plan")
def plan_create(*, patient: Patient, actor: Actor) -> CarePlan:
    """A draft plan from the latest candidate decision: prepare -> inject -> follow."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    signed = require_candidate(patient)
    draft = _draft(patient)
    if draft is not None:
        return draft  # a second click opens the same draft
    # A plan written while another is released or accepted is its next version: it
    # supersedes that one once it is released in its turn.
    plan = _new_plan(patient, signed, actor, supersedes=_offered(patient))
    if plan is None:
        return CarePlan.objects.get(patient=patient, status=CarePlan.DRAFT)
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
            product_kind=FIRST_KIND[materials[0]],
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
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"plan version {plan.version}",
        patient=patient,
    )
    return plan


@action("plan")
def plan_injection_add(
    *,
    plan: CarePlan,
    actor: Actor,
    target: Target,
    material: str,
    guidance: str,
    product_kind: str = "",
    ind_number: str = "",
    planned_on: date | None = None,
    submission_key: str | None = None,
) -> PlanLine:
    """Add an injection session; only at a confirmed, eligible generator of the decision, with
    the kind of product it gives (a kind of its material) and, for a kind the policy gives
    under an IND, the IND number (PATHWAY.md section 10). Once per ``submission_key``: a repeat
    returns the line the first one added."""
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    earlier = _submitted_line(plan, submission_key)
    if earlier is not None:
        return earlier
    require_draft(plan)
    require_candidate(plan.patient, plan)
    today = today_of_write()
    if planned_on is not None and not today <= planned_on <= today + timedelta(days=730):
        message = "A session is planned from today and within two years."
        raise Invalid(message, fields={"planned_on": message})
    refused = gates.planned_target_refusal(
        patient_standing(plan.patient), target, material, guidance, clinic_policy()
    )
    if refused is not None:
        raise Invalid(refused.sentence, code=refused.code)
    problems = planned_product_problems(
        kind=product_kind, material=material, ind_text=ind_number, policy=clinic_policy()
    )
    if problems:
        raise Invalid(list(problems.values()), fields=problems)
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
        product_kind=product_kind,
        ind_number=normalised_ind(ind_number) or "",
        planned_on=planned_on,
        submission_key=submission_key,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"plan v{plan.version}: added {line.description}",
        patient=plan.patient,
    )
    return line


@action("plan")
def plan_item_add(
    *,
    plan: CarePlan,
    actor: Actor,
    item: PriceItem,
    quantity: int,
    phase: str,
    submission_key: str | None = None,
) -> PlanLine:
    """Add a non-injection item (shockwave, block, visit, imaging), once per
    ``submission_key``."""
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    earlier = _submitted_line(plan, submission_key)
    if earlier is not None:
        return earlier
    require_draft(plan)
    require_candidate(plan.patient)
    if item.category == "regenerative":
        raise Invalid("Add injections as a session at a confirmed target.")
    if not 1 <= quantity <= 50:
        message = "Quantity must be between 1 and 50."
        raise Invalid(message, fields={"quantity": message})
    position = (plan.lines.aggregate(p=Max("position"))["p"] or 0) + 1
    line = _line(
        plan, item, phase, item.name, position, quantity=quantity, submission_key=submission_key
    )
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"plan v{plan.version}: added {item.name}",
        patient=plan.patient,
    )
    return line


@action("plan")
def plan_line_remove(*, plan: CarePlan, line_id: int, actor: Actor) -> None:
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    require_draft(plan)
    require_candidate(plan.patient)
    deleted, _ = PlanLine.objects.filter(plan=plan, pk=line_id).delete()
    if deleted:
        audit_record(
            actor=actor,
            action=AuditEvent.UPDATE,
            what=f"plan v{plan.version}: removed a line",
            patient=plan.patient,
        )


@action("plan")
def plan_revise(*, plan: CarePlan, actor: Actor) -> CarePlan:
    """A new draft version of a released or accepted plan, at today's prices; the released
    or accepted one stays as it was until the new version is released (and then accepted)."""
    Patient.objects.select_for_update().filter(pk=plan.patient_id).first()
    signed = require_candidate(plan.patient)
    draft = _draft(plan.patient)
    if draft is not None:
        return draft
    new = _new_plan(plan.patient, signed, actor, supersedes=plan)
    if new is None:
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
            product_kind=line.product_kind,
            ind_number=line.ind_number,
            planned_on=line.planned_on,
        )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"plan version {new.version} (revises v{plan.version})",
        patient=plan.patient,
    )
    return new
