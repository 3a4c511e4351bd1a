"""The price list, financing terms and the pricing gate (PATHWAY.md promises 1 and 4).

No price, plan or PDF exists for anyone until the decision in force is ``candidate``, can still
be relied on, no warning has been recorded since, and the reviewed MRI is inside its window
today. The gate is :func:`spinepath.pathway.gates.prices_refusal` over the patient's standing;
this module asks it and keeps the clinic admin's price list.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import CandidacyDecision
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.pathway import gates
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan, FinancingTerms, PriceItem, PriceVersion
from spinepath.plans.standing import patient_standing, prices_refusal
from spinepath.web.policy import clinic_policy


def pricing_problem(patient: Patient, today: date | None = None) -> str | None:
    """Why no plan or price may be shown for ``patient`` today, or None when they may."""
    refused = prices_refusal(patient, today)
    return refused.sentence if refused is not None else None


def require_candidate(patient: Patient, plan: CarePlan | None = None) -> CandidacyDecision:
    """The decision in force that a plan may be written from (and, given ``plan``, that the
    plan rests on); otherwise nothing about prices exists for anyone, however the address is
    typed (404, with the reason). The gate is :func:`spinepath.pathway.gates.plan_refusal`."""
    standing = patient_standing(patient)
    gate_plan = standing.plan(plan.pk) if plan is not None else None
    refuse(gates.plan_refusal(standing, gate_plan, clinic_policy()))
    signature = gates.decision_in_force(standing).signature
    if signature is None:  # never: the gate holds only with a candidate decision in force
        raise NotAvailable("There is no signed decision in force.", code="no_decision")
    return CandidacyDecision.objects.get(pk=signature.decision_id)


# The gates' refusals about the plan itself (what it is, not whether prices exist): a 409.
PLAN_CONFLICTS = {
    "plan_of_another_decision",
    "not_a_draft",
    "not_released",
    "not_offered",
    "product_kind_not_stated",
    "ind_required",
}


def refuse(refused: gates.Refusal | None, *, field: str | None = None) -> None:
    """Raise a plan gate's refusal: without a candidate decision in force nothing about prices
    exists for anyone (404, with the reason); a refusal about the plan itself is a conflict
    (409), named on ``field`` when a form shows it."""
    if refused is None:
        return
    fields = {field: refused.sentence} if field else None
    if refused.code in PLAN_CONFLICTS:
        raise Conflict(refused.sentence, code=refused.code, fields=fields)
    if refused.code == "no_injection":
        raise Invalid(refused.sentence, code=refused.code, fields=fields)
    raise NotAvailable(refused.sentence, code=refused.code)


def require_bookable(plan: CarePlan) -> None:
    """An injection session is booked only from the accepted plan of the decision in force,
    while the price gate holds (:func:`spinepath.pathway.gates.booking_refusal`)."""
    refused = gates.booking_refusal(patient_standing(plan.patient), plan.pk, clinic_policy())
    if refused is not None:
        raise Conflict(refused.sentence, code=refused.code)


@action("price_list")
def price_set(*, actor: Actor, item: PriceItem, amount: Decimal) -> PriceVersion:
    """A new price for ``item``; plans already written keep the price they were written with."""
    if amount < 0:
        raise Invalid(
            "A price cannot be negative.", fields={"amount": "A price cannot be negative."}
        )
    current = item.current_version()
    if current is not None and current.amount == amount:
        return current
    version = PriceVersion.objects.create(item=item, amount=amount, created_by=actor.user)
    audit_record(actor=actor, action=AuditEvent.UPDATE, what=f"price of {item.name}: {amount}")
    return version


@action("price_list")
def financing_set(
    *, actor: Actor, provider: str, term_months: int, annual_rate_pct: Decimal
) -> FinancingTerms:
    terms = FinancingTerms.objects.create(
        provider=provider, term_months=term_months, annual_rate_pct=annual_rate_pct
    )
    what = f"financing terms: {provider}, {term_months} months at {annual_rate_pct}%"
    audit_record(actor=actor, action=AuditEvent.UPDATE, what=what)
    return terms
