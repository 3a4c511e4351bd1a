"""Plans, coverage, financing and the procedure gate (PATHWAY.md section 4 and the promises)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spinepath.pathway.plans import (
    PricedLine,
    Target,
    coverage_for,
    financing_offer,
    plan_totals,
)

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
