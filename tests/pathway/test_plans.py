"""Plans, coverage, financing and the procedure gate (PATHWAY.md section 4 and the promises)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from workup_builder import decision_for, mri_levels

from spinepath.pathway.decision import Decision
from spinepath.pathway.plans import (
    MriOnFile,
    PricedLine,
    ProcedureCheck,
    Target,
    coverage_for,
    decision_targets,
    financing_offer,
    injection_problem,
    plan_totals,
    planned_target_problem,
    pricing_problem,
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
        "today": date(2027, 12, 31),
        "target": DISC,
        "material": "msc",
        "guidance": "fluoroscopy",
        "decision_kind": "candidate",
        "decision_problem": None,
        "decision_signed_on": date(2026, 9, 1),
        "plan_accepted": True,
        "plan_accepted_on": date(2026, 9, 15),
        "plan_targets": [DISC],
        "recorded_at_target": 0,
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


# --- The procedure gate: dates, counts, material (PATHWAY.md section 7) ----------------------


def test_a_procedure_dated_before_the_signed_decision_is_refused() -> None:
    reasons = procedure_refusals(check(procedure_date=date(2026, 8, 31)), Policy())
    assert "2026-08-31 is before the candidacy decision signed on 2026-09-01" in reasons


def test_a_procedure_dated_before_the_plan_was_accepted_is_refused() -> None:
    reasons = procedure_refusals(check(procedure_date=date(2026, 9, 10)), Policy())
    assert reasons == ["2026-09-10 is before the patient accepted the plan on 2026-09-15"]


def test_a_procedure_on_the_day_of_the_decision_and_the_acceptance_is_allowed() -> None:
    same_day = date(2026, 9, 15)
    facts = check(procedure_date=same_day, decision_signed_on=same_day, today=same_day)
    assert procedure_refusals(facts, Policy()) == []


def test_a_procedure_in_the_future_is_refused() -> None:
    reasons = procedure_refusals(check(today=date(2026, 11, 30)), Policy())
    assert reasons == ["2026-12-01 is in the future: a procedure is recorded once it is done"]


def test_no_more_injections_at_a_target_than_the_plan_holds() -> None:
    assert procedure_refusals(check(recorded_at_target=0), Policy()) == []
    reasons = procedure_refusals(check(recorded_at_target=1), Policy())
    assert reasons == [
        "the accepted plan holds 1 injection at L4-L5 disc and 1 injection is already recorded"
    ]


def test_a_plan_with_two_sessions_at_a_target_allows_two() -> None:
    two = check(plan_targets=[DISC, DISC], recorded_at_target=1)
    assert procedure_refusals(two, Policy()) == []
    assert procedure_refusals(check(plan_targets=[DISC, DISC], recorded_at_target=2), Policy())


def test_sessions_at_other_targets_do_not_count_for_this_one() -> None:
    facet = Target("facet", "L5-S1", "left")
    reasons = procedure_refusals(check(plan_targets=[facet, facet, DISC]), Policy())
    assert reasons == []


def test_the_material_and_guidance_are_checked_by_the_procedure_gate() -> None:
    reasons = procedure_refusals(check(material="prp", guidance="ultrasound"), Policy())
    assert reasons == [
        "L4-L5 disc is not injected with platelet-rich plasma (PRP): it is treated with "
        "mesenchymal stem cells (MSC)"
    ]
    assert procedure_refusals(check(guidance="ultrasound"), Policy()) == [
        "L4-L5 disc is not injected under ultrasound: it is injected under fluoroscopy "
        "(live X-ray) or CT"
    ]


def test_the_plan_builder_and_the_procedure_gate_share_the_material_check() -> None:
    found = problem(decision_for(), DISC, "prp", "fluoroscopy")
    assert found == injection_problem(DISC, "prp", "fluoroscopy")


def test_a_decision_that_cannot_be_relied_on_refuses_the_procedure() -> None:
    facts = check(decision_problem="The consultation of 2026-09-01 is being amended.")
    assert procedure_refusals(facts, Policy()) == [
        "the consultation of 2026-09-01 is being amended"
    ]


def test_no_signed_decision_refuses_the_procedure() -> None:
    reasons = procedure_refusals(check(decision_kind=None, decision_signed_on=None), Policy())
    assert reasons == ["no candidacy decision has been signed"]


def test_every_reason_is_given_at_once() -> None:
    facts = check(
        procedure_date=date(2028, 1, 1),
        today=date(2027, 12, 31),
        plan_accepted=False,
        material="prp",
        mri_reviewed=False,
    )
    assert len(procedure_refusals(facts, Policy())) == 5


# --- The pricing gate --------------------------------------------------------------------------

RECENT_MRI = MriOnFile(date(2026, 8, 20), reviewed=True)


def test_prices_after_a_candidate_decision_with_a_recent_reviewed_mri() -> None:
    assert pricing_problem("candidate", None, RECENT_MRI, date(2026, 11, 24), Policy()) is None


@pytest.mark.parametrize("kind", [None, "not_candidate", "needs_workup", "refer_surgical"])
def test_no_prices_without_a_candidate_decision(kind: str | None) -> None:
    found = pricing_problem(kind, None, RECENT_MRI, date(2026, 11, 24), Policy())
    assert found == "Plans and prices are available only after a candidate decision."


def test_no_prices_while_the_signed_decision_cannot_be_relied_on() -> None:
    why = "The consultation of 2026-09-01 is being amended: a new signed decision is needed first."
    assert pricing_problem("candidate", why, RECENT_MRI, date(2026, 11, 24), Policy()) == why


def test_no_prices_without_a_reviewed_mri() -> None:
    unreviewed = MriOnFile(date(2026, 8, 20), reviewed=False)
    for mri in (None, unreviewed):
        found = pricing_problem("candidate", None, mri, date(2026, 11, 24), Policy())
        assert found == "There is no reviewed MRI: a plan needs one."


def test_no_prices_once_the_mri_has_left_its_window() -> None:
    found = pricing_problem("candidate", None, RECENT_MRI, date(2027, 8, 21), Policy())
    assert found is not None and "a new MRI and a new review come before a plan" in found
    assert pricing_problem("candidate", None, RECENT_MRI, date(2027, 8, 20), Policy()) is None
