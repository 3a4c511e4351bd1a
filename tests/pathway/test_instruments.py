"""ODI v2.1a, pain VAS/NRS and responder classification (PATHWAY.md section 5)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spinepath.pathway.instruments import (
    ODI_SECTIONS,
    Response,
    choose_baseline,
    classify_response,
    odi_band,
    odi_responder_text,
    odi_responder_threshold,
    odi_score,
    pain_from_nrs,
    pain_from_vas,
    pain_responder_text,
    pain_responder_threshold,
)
from spinepath.pathway.policy import Policy

POLICY = Policy()


def test_odi_all_zeros_scores_zero() -> None:
    score = odi_score([0] * 10, POLICY)
    assert (score.score, score.band) == (0, "minimal")


def test_odi_all_fives_scores_a_hundred() -> None:
    score = odi_score([5] * 10, POLICY)
    assert (score.score, score.band) == (100, "bed-bound or exaggerated")


def test_one_missing_section_is_scored_over_nine() -> None:
    score = odi_score([3, 2, 3, 2, 3, 2, 2, None, 2, 3], POLICY)
    assert score.score == pytest.approx(100 * 22 / 45)
    assert (score.answered, score.missing) == (9, 1)


def test_two_missing_sections_give_no_score_under_default_policy() -> None:
    score = odi_score([3, 2, None, 2, 3, 2, 2, None, 2, 3], POLICY)
    assert score.score is None and score.band is None
    assert score.reason is not None and "2 sections unanswered" in score.reason


def test_two_missing_sections_are_scored_when_policy_allows() -> None:
    policy = Policy(name="lenient", version="1", odi_max_missing_sections=2)
    score = odi_score([4, 4, None, 4, 4, 4, 4, None, 4, 4], policy)
    assert score.score == 80 and score.band == "crippling"


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (20, "minimal"),
        (20.5, "moderate"),
        (40, "moderate"),
        (41, "severe"),
        (60, "severe"),
        (61, "crippling"),
        (80, "crippling"),
        (81, "bed-bound or exaggerated"),
    ],
)
def test_odi_band_edges(score: float, band: str) -> None:
    assert odi_band(score) == band


def test_invalid_section_names_the_section() -> None:
    with pytest.raises(ValueError, match="section 3: must be 0-5"):
        odi_score([0, 0, 6, 0, 0, 0, 0, 0, 0, 0], POLICY)
    with pytest.raises(ValueError, match="10 sections"):
        odi_score([0] * 9, POLICY)


def test_odi_wording_has_six_answers_per_section() -> None:
    assert len(ODI_SECTIONS) == 10
    assert all(len(section.options) == 6 for section in ODI_SECTIONS)


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=10, max_size=10))
def test_odi_score_is_always_between_0_and_100(sections: list[int | None]) -> None:
    score = odi_score(sections, POLICY)
    assert score.score is None or 0 <= score.score <= 100


def test_nrs_is_stored_as_nrs_and_compared_times_ten() -> None:
    pain = pain_from_nrs(7)
    assert (pain.scale, pain.raw, pain.value_mm) == ("nrs", 7, 70)


def test_out_of_range_pain_is_refused() -> None:
    with pytest.raises(ValueError, match="0-100"):
        pain_from_vas(101)
    with pytest.raises(ValueError, match="0-10"):
        pain_from_nrs(11)


def response(
    pain_before: float,
    pain_after: float,
    visit: str | None = "6m",
    odi_before: list[int | None] | None = None,
    odi_after: list[int | None] | None = None,
) -> Response:
    base_odi = odi_score(odi_before, POLICY) if odi_before else None
    follow_odi = odi_score(odi_after, POLICY) if odi_after else None
    return classify_response(
        pain_from_vas(pain_before), pain_from_vas(pain_after), base_odi, follow_odi, POLICY, visit
    )


def test_exactly_thirty_percent_less_pain_is_a_responder() -> None:
    result = response(70, 49)
    assert result.pain_responder is True and result.status == "responder"


def test_twenty_nine_percent_less_is_partial_at_six_months() -> None:
    result = response(100, 71)
    assert result.pain_responder is False and result.any_pain_reduction is True
    assert result.status == "partial"


def test_no_change_at_three_months_is_too_early_to_judge() -> None:
    assert response(60, 60, visit="3m").status == "too_early_to_judge"


def test_no_change_at_twelve_months_is_a_non_responder() -> None:
    assert response(60, 60, visit="12m").status == "non_responder"


def test_baseline_of_zero_cannot_be_judged() -> None:
    result = response(0, 10)
    assert result.pain_change_pct is None and result.status == "not_measured"


def test_ten_odi_points_is_a_responder_even_under_thirty_percent() -> None:
    result = response(60, 50, odi_before=[4] * 10, odi_after=[3] * 10)  # 80 -> 60: 20 points, 25%
    assert result.odi_responder is True


def test_odi_rule_both_needs_percent_and_points() -> None:
    policy = Policy(name="strict", version="1", odi_responder_rule="both")
    before, after = odi_score([4] * 10, policy), odi_score([3] * 10, policy)
    result = classify_response(pain_from_vas(60), pain_from_vas(50), before, after, policy, "6m")
    assert result.odi_responder is False


def test_baseline_is_the_last_measurement_before_the_injection_within_30_days() -> None:
    measurements = [
        (date(2026, 1, 1), "old"),
        (date(2026, 2, 20), "recent"),
        (date(2026, 3, 2), "after"),
    ]
    assert choose_baseline(measurements, date(2026, 3, 1), POLICY) == (date(2026, 2, 20), "recent")
    assert choose_baseline(measurements[:1], date(2026, 3, 1), POLICY) is None


# --- One responder threshold, used by the classification, the chart and the reports ---------


def test_the_pain_threshold_is_thirty_percent_below_baseline() -> None:
    threshold = pain_responder_threshold(70, POLICY)
    assert threshold == pytest.approx(49)
    assert pain_responder_threshold(0, POLICY) is None


def test_the_odi_threshold_takes_the_easier_of_percent_and_points_by_default() -> None:
    assert odi_responder_threshold(80, POLICY) == pytest.approx(70)  # 10 points beats 30%
    assert odi_responder_threshold(20, POLICY) == pytest.approx(14)  # 30% (6 points) is easier
    assert odi_responder_threshold(50, POLICY) == pytest.approx(40)


def test_the_odi_threshold_follows_the_policy_rule() -> None:
    both = Policy(name="strict", version="1", odi_responder_rule="both")
    pct = Policy(name="pct", version="1", odi_responder_rule="pct")
    points = Policy(name="points", version="1", odi_responder_rule="points")
    assert odi_responder_threshold(80, both) == pytest.approx(56)
    assert odi_responder_threshold(80, pct) == pytest.approx(56)
    assert odi_responder_threshold(80, points) == pytest.approx(70)
    assert odi_responder_threshold(0, pct) is None


@pytest.mark.parametrize("rule", ["either", "both", "pct", "points"])
@pytest.mark.parametrize("before", [[4] * 10, [2] * 10, [1] * 10, [5] * 10])
@pytest.mark.parametrize("after", [[3] * 10, [1] * 10, [0] * 10, [4] * 10])
def test_the_classification_agrees_with_the_threshold(
    rule: str, before: list[int | None], after: list[int | None]
) -> None:
    policy = Policy(name="r", version="1", odi_responder_rule=rule)
    base, follow = odi_score(before, policy), odi_score(after, policy)
    assert base.score is not None and follow.score is not None
    result = classify_response(pain_from_vas(60), pain_from_vas(50), base, follow, policy, "6m")
    threshold = odi_responder_threshold(base.score, policy)
    assert result.odi_responder == (threshold is not None and follow.score <= threshold + 1e-9)


def test_the_responder_rules_read_from_the_policy() -> None:
    assert pain_responder_text(POLICY) == "pain at least 30% lower than baseline"
    assert odi_responder_text(POLICY) == "ODI 30% or 10 points lower than baseline"
    both = Policy(name="strict", version="1", odi_responder_rule="both")
    assert odi_responder_text(both) == "ODI 30% and 10 points lower than baseline"
