"""The price list, financing terms and the pricing gate (PATHWAY.md promises 1 and 4).

No price, plan or PDF exists for anyone until the latest signed decision is ``candidate``, can
still be relied on, and the reviewed MRI is inside its window today. The rule is
:func:`spinepath.pathway.plans.pricing_problem`; this module gathers its facts and keeps the
clinic admin's price list.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from spinepath.accounts.roles import role_names
from spinepath.consultations.models import CandidacyDecision
from spinepath.consultations.selectors import decision_in_force
from spinepath.errors import Invalid, NotAllowed, NotAvailable
from spinepath.pathway import plans as rules
from spinepath.pathway.authority import may_state, refusal
from spinepath.patients.models import Patient
from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion
from spinepath.plans.selectors import latest_mri
from spinepath.web.policy import clinic_policy


def _gate(patient: Patient, today: date | None) -> tuple[CandidacyDecision | None, str | None]:
    today = today or timezone.localdate()
    in_force = decision_in_force(patient)
    signed = in_force.signed
    problem = rules.pricing_problem(
        signed.decision if signed is not None else None,
        in_force.problem,
        latest_mri(patient, today),
        today,
        clinic_policy(),
    )
    return signed, problem


def pricing_problem(patient: Patient, today: date | None = None) -> str | None:
    """Why no plan or price may be shown for ``patient`` today, or None when they may."""
    return _gate(patient, today)[1]


def require_candidate(patient: Patient) -> CandidacyDecision:
    """The decision a plan may be written from; otherwise nothing about prices exists for
    anyone, however the address is typed (404, with the reason)."""
    signed, problem = _gate(patient, None)
    if problem is not None or signed is None:
        raise NotAvailable(problem or "Plans and prices are available only after a decision.")
    return signed


def _require_price_list_author(user: Any) -> None:
    if not may_state(role_names(user), "price_list"):
        raise NotAllowed(refusal("price_list"))


@transaction.atomic
def price_set(*, item: PriceItem, amount: Decimal, user: Any) -> PriceVersion:
    """A new price for ``item``; plans already written keep the price they were written with."""
    _require_price_list_author(user)
    if amount < 0:
        raise Invalid(
            "A price cannot be negative.", fields={"amount": "A price cannot be negative."}
        )
    current = item.current_version()
    if current is not None and current.amount == amount:
        return current
    return PriceVersion.objects.create(item=item, amount=amount, created_by=user)


@transaction.atomic
def financing_set(
    *, user: Any, provider: str, term_months: int, annual_rate_pct: Decimal
) -> FinancingTerms:
    _require_price_list_author(user)
    return FinancingTerms.objects.create(
        provider=provider, term_months=term_months, annual_rate_pct=annual_rate_pct
    )
