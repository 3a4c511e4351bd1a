"""Written plans: what may be planned, what it costs the patient, and when a procedure may happen.

PATHWAY.md section 4: what a plan costs (coverage, totals, financing) and what may be injected
where. The gates that decide when a plan, a price, a booking or a procedure may happen are in
:mod:`spinepath.pathway.gates`, over one standing of the patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Literal

from spinepath.pathway.biologics import (
    IND_EXPECTED,
    KIND_MATERIAL,
    PRODUCT_KINDS,
    needs_ind,
    normalised_ind,
)
from spinepath.pathway.decision import Decision, Generator
from spinepath.pathway.policy import Policy
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


def planned_product_problems(
    *, kind: str, material: str, ind_text: str, policy: Policy
) -> dict[str, str]:
    """Why an injection line may not name this kind of product with this IND number, by form
    field: a kind is stated and suits the line's material, and a kind under an IND carries its
    number (PATHWAY.md section 10)."""
    problems: dict[str, str] = {}
    if kind not in PRODUCT_KINDS:
        problems["product_kind"] = "Choose the kind of product this injection gives."
    elif KIND_MATERIAL[kind] != material:
        chosen = MATERIAL_LABELS.get(material, material)
        problems["product_kind"] = (
            f"{PRODUCT_KINDS[kind][:1].upper()}{PRODUCT_KINDS[kind][1:]} is not {chosen}: "
            "choose a kind of the injection's material."
        )
    found = normalised_ind(ind_text)
    if found is None:
        problems["ind_number"] = IND_EXPECTED
    elif not found and "product_kind" not in problems and needs_ind(kind, policy):
        problems["ind_number"] = (
            f"An IND number is required for {PRODUCT_KINDS[kind]}: the FDA regulates it as a "
            f"drug or biologic. {IND_EXPECTED}"
        )
    return problems
