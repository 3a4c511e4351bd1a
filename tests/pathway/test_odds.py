"""Honest odds: matching a candidate with the clinic's treated courses, widening one feature at a
time, exact intervals, and when the clinic's model may speak (spinepath/pathway/odds.py)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from spinepath.pathway.odds import (
    ANY,
    NO_DISC,
    PRIMARY_VISIT,
    VISITS,
    WIDEN_ORDER,
    Calibration,
    Features,
    Tally,
    course_features,
    exact_interval,
    frequency_sentence,
    group_tallies,
    match,
    model_thresholds,
    model_verdict,
)
from spinepath.pathway.policy import Policy

KINDS = ("discogenic", "facet")
TIERS = ("strongest", "typical", "weaker")
GRADES = ("3", "4", NO_DISC)
PATTERNS = ("axial", "mixed", "radicular")
AGES = ("under 40", "40-49", "50-59", "60-69", "70 and over")

features = st.builds(
    Features,
    st.sampled_from(KINDS),
    st.sampled_from(TIERS),
    st.sampled_from(GRADES),
    st.sampled_from(PATTERNS),
    st.sampled_from(AGES),
)


@st.composite
def tallies(draw: st.DrawFn) -> Tally:
    answered = draw(st.integers(0, 40))
    pain_n = draw(st.integers(0, answered))
    odi_n = draw(st.integers(0, answered))
    return Tally(
        answered,
        draw(st.integers(0, 20)),
        draw(st.integers(0, pain_n)),
        pain_n,
        draw(st.integers(0, odi_n)),
        odi_n,
    )


counts = st.dictionaries(
    features, st.fixed_dictionaries({v: tallies() for v in VISITS}), max_size=25
)


def _workup(pattern: str = "axial", **grades: int) -> dict:
    return {
        "history": {"pattern": pattern},
        "imaging": [
            {
                "modality": "MRI",
                "date": "2025-01-10",
                "levels": [{"level": "L4-L5", "pfirrmann": 2}],
            },
            {
                "modality": "MRI",
                "date": "2026-03-01",
                "levels": [
                    {"level": lv.replace("_", "-"), "pfirrmann": g} for lv, g in grades.items()
                ],
            },
            {"modality": "CT", "date": "2026-06-01", "levels": []},
        ],
    }


def test_the_grade_is_the_treated_discs_on_the_latest_mri_not_the_worst_disc_seen() -> None:
    workup = _workup(L3_L4=5, L4_L5=3)
    born = date(1970, 6, 15)
    treated = course_features(workup, "typical", [("discogenic", "L4-L5")], born, date(2026, 6, 1))
    assert treated == Features("discogenic", "typical", "3", "axial", "50-59")
    # A facet course treated no disc: its grade is not a disc grade at all.
    facet = course_features(workup, "strongest", [("facet", "L5-S1")], born, date(2026, 6, 20))
    assert (facet.kind, facet.grade, facet.age_band) == ("facet", NO_DISC, "50-59")
    both = course_features(
        workup, "weaker", [("discogenic", "L3-L4"), ("facet", "L5-S1")], None, None
    )
    assert (both.kind, both.grade, both.age_band) == ("multiple", "5", "not recorded")
    ungraded = course_features(_workup(pattern="mixed"), "", [("discogenic", "L4-L5")], born, None)
    assert (ungraded.grade, ungraded.pattern, ungraded.tier) == (
        "not recorded",
        "mixed",
        "not recorded",
    )


@settings(max_examples=200, deadline=None)
@given(counts, features, st.integers(1, 60))
def test_widening_only_adds_patients_and_never_gives_a_figure_under_the_minimum(
    data: dict, wanted: Features, minimum: int
) -> None:
    found = match(data, wanted, minimum)
    # The widened features are a prefix of the documented order, and widened in the group.
    assert found.widened == WIDEN_ORDER[: len(found.widened)]
    assert all(getattr(found.group, name) == ANY for name in found.widened)
    assert found.group.kind == wanted.kind  # the treatment is never widened
    # Each step of the widening holds every course of the step before it.
    previous = -1
    for step in range(len(WIDEN_ORDER) + 1):
        n = group_tallies(data, wanted.widened(WIDEN_ORDER[:step]))[PRIMARY_VISIT].answered
        assert n >= previous
        previous = n
        if step < len(found.widened):
            assert n < minimum  # it widened only because the narrower group was too small
    if found.enough:
        assert found.tallies[PRIMARY_VISIT].answered >= minimum
        for figures in found.figures:
            for share in (figures.pain, figures.odi):
                assert share is None or share.n >= minimum
    else:
        assert found.figures == ()
        assert found.widened == WIDEN_ORDER


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 3000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_exact_interval_contains_the_point_and_is_scipys(pair: tuple[int, int]) -> None:
    yes, n = pair
    low, high = exact_interval(yes, n)
    assert 0 <= low <= yes / n <= high <= 1
    if 0 < yes < n:
        ci = stats.binomtest(yes, n).proportion_ci(0.95, method="exact")
        assert low == pytest.approx(ci.low, abs=1e-6)
        assert high == pytest.approx(ci.high, abs=1e-6)


def test_no_interval_without_patients() -> None:
    assert exact_interval(0, 0) is None
    assert exact_interval(3, 2) is None


def test_loss_bounds_bracket_the_observed_share() -> None:
    wanted = Features("discogenic", "typical", "3", "axial", "50-59")
    data = {wanted: {"6m": Tally(), "12m": Tally(40, 10, 26, 40, 20, 38)}}
    found = match(data, wanted, 30)
    assert found.enough and found.widened == ()
    twelve = found.at("12m")
    worst, best = twelve.bounds(twelve.pain)
    assert (worst, best) == (26 / 50, 36 / 50)
    assert worst <= twelve.pain.rate <= best
    assert found.at("6m").pain is None  # nobody answered at 6 months: no figure
    assert frequency_sentence(twelve.pain, "at least 30% less pain") == (
        "Of 40 patients like you who answered, 26 had at least 30% less pain."
    )


def test_the_match_widens_age_first_and_says_so() -> None:
    wanted = Features("discogenic", "typical", "3", "axial", "50-59")
    older = Features("discogenic", "typical", "3", "axial", "60-69")
    radicular = Features("discogenic", "typical", "3", "radicular", "60-69")
    facet = Features("facet", "typical", NO_DISC, "axial", "50-59")
    data = {
        wanted: {"12m": Tally(answered=10)},
        older: {"12m": Tally(answered=15)},
        radicular: {"12m": Tally(answered=10)},
        facet: {"12m": Tally(answered=500)},
    }
    assert match(data, wanted, 25).widened == ("age_band",)
    assert match(data, wanted, 35).widened == ("age_band", "pattern")
    widest = match(data, wanted, 36)  # the facet courses never count for a disc
    assert not widest.enough and widest.widened == WIDEN_ORDER
    assert widest.tallies[PRIMARY_VISIT].answered == 35


def test_the_model_speaks_only_while_every_threshold_passes() -> None:
    thresholds = model_thresholds(Policy())
    good = Calibration(400, 1.02, -0.05, 0.71, 0.2)
    assert model_verdict(good, thresholds) == (True, [])
    shown, reasons = model_verdict(Calibration(120, 0.6, 0.4, 0.55, 0.3), thresholds)
    assert not shown and len(reasons) == 5
    assert "fitted on 120 patients, fewer than the 200" in reasons[0]
    assert model_verdict(Calibration(400, None, None, None, None), thresholds)[0] is False
    assert model_verdict(None, thresholds)[0] is False
