"""Written plans: what may be planned, what it costs the patient, and when a procedure may happen.

PATHWAY.md section 4 and the promises: no injection without a recent reviewed MRI, no injection
at a target the workup has not confirmed, no prices before a ``candidate`` decision, and a
written, accepted plan before anything is booked. The web layer stores plans and prices; the
rules about them live here, pure, so every entry point asks the same questions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Literal

from spinepath.pathway.decision import Decision, Generator
from spinepath.pathway.policy import Policy
from spinepath.pathway.recency import mri_within_window
from spinepath.pathway.rules import GENERATOR_NAMES

CENT = Decimal("0.01")

Material = Literal["msc", "exosome", "prp"]
Guidance = Literal["fluoroscopy", "ct", "ultrasound"]
ItemCategory = Literal["regenerative", "shockwave", "diagnostic", "visit", "imaging", "other"]
CoverageStatus = Literal["self_pay", "covered", "not_covered", "verify"]

MATERIAL_LABELS: dict[str, str] = {
    "msc": "mesenchymal stem cells (MSC)",
    "exosome": "exosomes",
    "prp": "platelet-rich plasma (PRP)",
}
GUIDANCE_LABELS: dict[str, str] = {
    "fluoroscopy": "fluoroscopy (live X-ray)",
    "ct": "CT",
    "ultrasound": "ultrasound",
}
# What each target may be injected with, and how it is guided (PATHWAY.md section 1).
TARGET_OPTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "discogenic": (("msc",), ("fluoroscopy", "ct")),
    "facet": (("msc", "exosome", "prp"), ("fluoroscopy",)),
    "myoligamentous": (("prp", "exosome"), ("ultrasound",)),
    "sacroiliac": (("prp", "exosome"), ("fluoroscopy", "ultrasound")),
}
PAYER_LABELS: dict[str, str] = {
    "self_pay": "Self-pay",
    "commercial": "Commercial insurance",
    "medicare_ab_supplement": "Medicare Parts A & B with a supplement plan",
    "medicare_ab": "Medicare Parts A & B",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "other": "Other payer",
}


def money(amount: Decimal | int | str) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Coverage:
    status: CoverageStatus
    note: str


def coverage_for(category: str, payer: str | None) -> Coverage:
    """Who is expected to pay for an item of ``category`` (PATHWAY.md section 4)."""
    if category == "regenerative":
        return Coverage(
            "self_pay",
            "Regenerative treatments (MSC, exosome, PRP) are not covered by insurance.",
        )
    if payer in (None, "self_pay"):
        return Coverage("self_pay", "Self-pay.")
    if category == "shockwave":
        if payer == "medicare_ab_supplement":
            return Coverage("covered", "Covered by Medicare Parts A & B with a supplement plan.")
        if payer == "medicare_advantage":
            return Coverage("not_covered", "Not covered by Medicare Advantage.")
    return Coverage("verify", "Coverage varies: verify with the payer before the visit.")


@dataclass(frozen=True, slots=True)
class PricedLine:
    description: str
    quantity: int
    unit_price: Decimal
    coverage: Coverage

    @property
    def amount(self) -> Decimal:
        return money(self.unit_price * self.quantity)

    @property
    def payer_expected(self) -> Decimal:
        # Only a line the payer covers is counted as theirs; "verify" stays with the patient
        # until the payer confirms, so the written total never promises more than is known.
        return self.amount if self.coverage.status == "covered" else money(0)

    @property
    def patient_pays(self) -> Decimal:
        return self.amount - self.payer_expected


@dataclass(frozen=True, slots=True)
class PlanTotals:
    total: Decimal
    payer_expected: Decimal
    patient_pays: Decimal
    self_pay: Decimal  # the part that financing is offered for


def plan_totals(lines: Iterable[PricedLine]) -> PlanTotals:
    lines = list(lines)
    total = sum((line.amount for line in lines), money(0))
    payer = sum((line.payer_expected for line in lines), money(0))
    self_pay = sum(
        (line.amount for line in lines if line.coverage.status in ("self_pay", "not_covered")),
        money(0),
    )
    return PlanTotals(total, payer, total - payer, self_pay)


@dataclass(frozen=True, slots=True)
class Financing:
    principal: Decimal
    term_months: int
    annual_rate_pct: Decimal
    monthly_payment: Decimal
    final_payment: Decimal  # the last payment absorbs the rounding of the others
    total_repaid: Decimal


def financing_offer(principal: Decimal, term_months: int, annual_rate_pct: Decimal) -> Financing:
    """Equal monthly payments (standard amortisation) rounded up to the cent; the last payment
    is what is left, so the total repaid is exactly principal plus interest."""
    if term_months < 1:
        raise ValueError("term_months: must be at least 1")
    if annual_rate_pct < 0:
        raise ValueError("annual_rate_pct: must not be negative")
    principal = money(principal)
    rate = Decimal(annual_rate_pct) / Decimal(1200)
    if rate == 0:
        exact = principal / term_months
    else:
        exact = principal * rate / (1 - (1 + rate) ** -term_months)
    total = money(exact * term_months)
    payment = exact.quantize(CENT, rounding=ROUND_UP)
    final = total - payment * (term_months - 1)
    return Financing(principal, term_months, Decimal(annual_rate_pct), payment, final, total)


# --- What may be planned -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A structure to inject: a generator at a level and side (as in the decision)."""

    generator: str
    level: str | None
    side: str | None

    @classmethod
    def of(cls, generator: Generator) -> Target:
        return cls(generator.generator, generator.level, generator.side)

    @property
    def label(self) -> str:
        where = " ".join(part for part in (self.side, self.level) if part)
        name = GENERATOR_NAMES.get(self.generator, self.generator)
        return f"{where} {name}".strip()


def decision_targets(decision: Decision) -> frozenset[Target]:
    return frozenset(Target.of(g) for g in decision.targets)


def injection_problem(target: Target, material: str, guidance: str) -> str | None:
    """Why ``target`` is not injected with ``material`` under ``guidance`` (PATHWAY.md section 1);
    None when it is. The plan builder and the procedure gate both ask this, and only this."""
    if target.generator not in TARGET_OPTIONS:
        return f"{target.label} is not treated with an injection here"
    materials, guidances = TARGET_OPTIONS[target.generator]
    if material not in materials:
        allowed = " or ".join(MATERIAL_LABELS[m] for m in materials)
        chosen = MATERIAL_LABELS.get(material, material)
        return f"{target.label} is not injected with {chosen}: it is treated with {allowed}"
    if guidance not in guidances:
        allowed = " or ".join(GUIDANCE_LABELS[g] for g in guidances)
        chosen = GUIDANCE_LABELS.get(guidance, guidance)
        return f"{target.label} is not injected under {chosen}: it is injected under {allowed}"
    return None


def planned_target_problem(
    decision_kind: str,
    targets: Collection[Target],
    target: Target,
    material: str,
    guidance: str,
) -> str | None:
    """Why this injection cannot be in a plan made from a decision of ``decision_kind`` whose
    confirmed, eligible targets are ``targets``; None when it can."""
    if decision_kind != "candidate":
        return "the latest signed decision is not 'candidate'"
    if target not in targets:
        return f"{target.label} is not a confirmed, eligible pain generator in the decision"
    return injection_problem(target, material, guidance)


# --- The pricing gate ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MriOnFile:
    """The latest MRI on or before a day, as the gates read it."""

    performed_on: date
    reviewed: bool


def pricing_problem(
    decision_kind: str | None,
    decision_problem: str | None,
    mri: MriOnFile | None,
    today: date,
    policy: Policy,
) -> str | None:
    """Why no plan or price may be shown today, or None when they may (promises 1 and 4).

    ``decision_kind`` is the latest signed decision's (None: nothing signed);
    ``decision_problem`` says why that decision cannot be relied on now (a consultation being
    amended, facts changed since signing); ``mri`` is the latest MRI on or before ``today``.
    """
    if decision_kind != "candidate":
        return "Plans and prices are available only after a candidate decision."
    if decision_problem is not None:
        return decision_problem
    if mri is None or not mri.reviewed:
        return "There is no reviewed MRI: a plan needs one."
    if not mri_within_window(mri.performed_on, today, policy):
        return (
            f"The MRI of {mri.performed_on} is now older than {policy.mri_max_age_months} "
            "months: a new MRI and a new review come before a plan."
        )
    return None


# --- The procedure gate --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcedureCheck:
    """The facts the procedure gate needs, gathered by the caller on the procedure day."""

    procedure_date: date
    today: date
    target: Target
    material: str
    guidance: str
    decision_kind: str | None  # the latest signed decision's; None when nothing is signed
    decision_problem: str | None  # why the signed decision cannot be relied on now
    decision_signed_on: date | None
    plan_accepted: bool
    plan_accepted_on: date | None
    # One entry per planned injection: a line of quantity 2 at a target counts twice.
    plan_targets: Sequence[Target]
    # Injections already recorded, and not voided, at ``target`` in this plan's course.
    recorded_at_target: int
    mri_date: date | None
    mri_reviewed: bool


def _sentence_part(sentence: str) -> str:
    """A full sentence as one reason among others: lower-case start, no final stop."""
    return (sentence[:1].lower() + sentence[1:]).rstrip(".")


def procedure_refusals(check: ProcedureCheck, policy: Policy) -> list[str]:
    """Every reason a procedure may not be recorded; an empty list means it may.

    PATHWAY.md section 7: a procedure is dated on or after the signed decision and the plan's
    acceptance, never in the future, and no target gets more injections than the accepted plan
    holds; promise 1: the MRI is reviewed and inside its window on the day.
    """
    reasons = []
    day = check.procedure_date
    if day > check.today:
        reasons.append(f"{day} is in the future: a procedure is recorded once it is done")
    if check.decision_kind is None:
        reasons.append("no candidacy decision has been signed")
    elif check.decision_kind != "candidate":
        reasons.append(f"the latest signed decision is '{check.decision_kind}', not 'candidate'")
    elif check.decision_problem is not None:
        reasons.append(_sentence_part(check.decision_problem))
    if check.decision_signed_on is not None and day < check.decision_signed_on:
        reasons.append(
            f"{day} is before the candidacy decision signed on {check.decision_signed_on}"
        )
    if not check.plan_accepted:
        reasons.append("there is no written plan accepted by the patient")
    else:
        if check.plan_accepted_on is not None and day < check.plan_accepted_on:
            reasons.append(
                f"{day} is before the patient accepted the plan on {check.plan_accepted_on}"
            )
        planned = sum(1 for t in check.plan_targets if t == check.target)
        if planned == 0:
            reasons.append(f"the accepted plan does not list {check.target.label}")
        elif check.recorded_at_target >= planned:
            reasons.append(
                f"the accepted plan holds {_injections(planned)} at {check.target.label} and "
                f"{_injections(check.recorded_at_target)} {_are(check.recorded_at_target)} "
                "already recorded"
            )
    problem = injection_problem(check.target, check.material, check.guidance)
    if problem is not None:
        reasons.append(problem)
    if check.mri_date is None:
        reasons.append("there is no MRI on file")
    else:
        if not mri_within_window(check.mri_date, day, policy):
            reasons.append(
                f"the MRI of {check.mri_date} is older than {policy.mri_max_age_months} months "
                f"on {day}"
            )
        if not check.mri_reviewed:
            reasons.append(f"the MRI of {check.mri_date} has not been reviewed")
    return reasons


def _injections(count: int) -> str:
    return f"{count} injection" if count == 1 else f"{count} injections"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"
