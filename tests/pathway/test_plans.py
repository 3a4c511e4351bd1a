"""Plans, coverage, financing and the procedure gate (PATHWAY.md section 4 and the promises)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from workup_builder import decision_for, mri_levels

from spinepath.pathway.decision import Decision
from spinepath.pathway.plans import (
    PricedLine,
    ProcedureCheck,
    Target,
    coverage_for,
    decision_targets,
    financing_offer,
    plan_totals,
    planned_target_problem,
    procedure_refusals,
)
from spinepath.pathway.policy import Policy

DISC = Target("discogenic", "L4-L5", None)


def test_regenerative_care_is_self_pay_whoever_the_payer() -> None:
    for payer in ("commercial", "medicare_ab_supplement", "medicare_advantage", None):
        assert coverage_for("regenerative", payer).status == "self_pay"


def test_shockwave_coverage_follows_the_medicare_plan() -> None:
    assert coverage_for("shockwave", "medicare_ab_supplement").status == "covered"
    assert coverage_for("shockwave", "medicare_advantage").status == "not_covered"
    assert coverage_for("shockwave", "commercial").status == "verify"
    assert coverage_for("shockwave", "self_pay").status == "self_pay"


def test_totals_split_patient_and_payer() -> None:
    lines = [
        PricedLine("MSC L4-L5", 1, Decimal("6500"), coverage_for("regenerative", "commercial")),
        PricedLine(
            "Shockwave", 3, Decimal("150"), coverage_for("shockwave", "medicare_ab_supplement")
        ),
        PricedLine(
            "Follow-up", 4, Decimal("95.50"), coverage_for("visit", "medicare_ab_supplement")
        ),
    ]
    totals = plan_totals(lines)
    assert totals.total == Decimal("7332.00")
    assert totals.payer_expected == Decimal("450.00")
    assert totals.patient_pays == Decimal("6882.00")
    assert totals.self_pay == Decimal("6500.00")


def test_financing_at_zero_percent_divides_evenly() -> None:
    offer = financing_offer(Decimal("6000"), 12, Decimal("0"))
    assert offer.monthly_payment == Decimal("500.00")
    uneven = financing_offer(Decimal("8350"), 12, Decimal("0"))
    assert (uneven.monthly_payment, uneven.final_payment) == (Decimal("695.84"), Decimal("695.76"))
    assert uneven.total_repaid == Decimal("8350.00")


def test_financing_with_interest_amortises() -> None:
    offer = financing_offer(Decimal("10000"), 24, Decimal("9.99"))
    # 10,000 at 9.99% over 24 months: 461.403..., rounded up to the cent.
    assert offer.monthly_payment == Decimal("461.41")
    assert offer.total_repaid == offer.monthly_payment * 23 + offer.final_payment
    assert offer.final_payment <= offer.monthly_payment


def test_financing_rejects_a_zero_term() -> None:
    with pytest.raises(ValueError, match="term_months"):
        financing_offer(Decimal("100"), 0, Decimal("5"))


def problem(decision: Decision, target: Target, material: str, guidance: str) -> str | None:
    return planned_target_problem(
        decision.decision, decision_targets(decision), target, material, guidance
    )


def test_a_confirmed_disc_can_be_planned_with_msc_under_fluoroscopy() -> None:
    assert problem(decision_for(), DISC, "msc", "fluoroscopy") is None


def test_an_unconfirmed_level_cannot_be_planned() -> None:
    found = problem(decision_for(), Target("discogenic", "L5-S1", None), "msc", "fluoroscopy")
    assert found is not None and "not a confirmed, eligible pain generator" in found


def test_nothing_can_be_planned_from_a_decision_that_is_not_candidate() -> None:
    decision = decision_for(history__conservative_care__status="improving")
    assert problem(decision, DISC, "msc", "fluoroscopy") is not None


def test_disc_is_not_injected_with_prp() -> None:
    found = problem(decision_for(), DISC, "prp", "fluoroscopy")
    assert found is not None and "mesenchymal stem cells" in found


def test_ligament_is_injected_under_ultrasound() -> None:
    levels = mri_levels(L4_L5={"ligament_injury": True})
    decision = decision_for(
        exam__ligament_tenderness=True,
        imaging=[_mri(levels)],
    )
    target = Target("myoligamentous", None, None)
    assert problem(decision, target, "prp", "ultrasound") is None
    assert problem(decision, target, "prp", "fluoroscopy") is not None


def _mri(levels: list[dict[str, object]]) -> dict[str, object]:
    return {"modality": "MRI", "date": "2026-08-20", "reviewed": True, "levels": levels}


def check(**changes: object) -> ProcedureCheck:
    values: dict[str, object] = {
        "procedure_date": date(2026, 12, 1),
        "target": DISC,
        "decision_kind": "candidate",
        "plan_accepted": True,
        "plan_targets": [DISC],
        "mri_date": date(2026, 8, 20),
        "mri_reviewed": True,
    }
    values.update(changes)
    return ProcedureCheck(**values)  # type: ignore[arg-type]


def test_procedure_with_accepted_plan_and_recent_mri_is_allowed() -> None:
    assert procedure_refusals(check(), Policy()) == []


def test_procedure_without_accepted_plan_is_refused() -> None:
    assert procedure_refusals(check(plan_accepted=False), Policy()) == [
        "there is no written plan accepted by the patient"
    ]


def test_procedure_at_a_target_not_in_the_plan_is_refused() -> None:
    other = Target("facet", "L5-S1", "left")
    assert (
        "does not list left L5-S1 facet joint"
        in procedure_refusals(check(target=other), Policy())[0]
    )


def test_procedure_after_the_mri_expires_is_refused() -> None:
    reasons = procedure_refusals(check(procedure_date=date(2027, 8, 21)), Policy())
    assert reasons == ["the MRI of 2026-08-20 is older than 12 months on 2027-08-21"]


def test_procedure_when_decision_is_no_longer_candidate_is_refused() -> None:
    reasons = procedure_refusals(check(decision_kind="needs_workup"), Policy())
    assert reasons == ["the latest signed decision is 'needs_workup', not 'candidate'"]
