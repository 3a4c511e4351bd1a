"""Outcome statistics checked against statsmodels and independent formulas on fixed data."""

from __future__ import annotations

import math

import pytest

# numpy, scipy and statsmodels are imported in the tests that compare with them: importing
# them costs every process that collects this module (each xdist worker) a few seconds.
from spinepath.outcomes.stats import compare_with_benchmark, mean_interval, wilson_interval

VAS_CHANGES = [-32.0, -18.5, -40.0, -5.0, 3.0, -27.0, -22.0, -15.0, -35.5, -8.0, -12.0]


def test_mean_interval_matches_a_t_interval() -> None:
    import numpy as np
    from scipy import stats as scipy_stats

    data = np.array(VAS_CHANGES)
    result = mean_interval(len(data), float(data.sum()), float((data**2).sum()))

    low, high = scipy_stats.t.interval(
        0.95, len(data) - 1, loc=data.mean(), scale=scipy_stats.sem(data)
    )
    assert result.mean == pytest.approx(data.mean())
    assert result.low == pytest.approx(low)
    assert result.high == pytest.approx(high)


def test_mean_interval_with_one_or_no_patient() -> None:
    assert mean_interval(0, 0, 0).mean is None
    single = mean_interval(1, -20, 400)
    assert single.mean == -20 and single.low is None


@pytest.mark.parametrize(("successes", "n"), [(0, 12), (7, 12), (12, 12), (78, 100), (1, 3)])
def test_wilson_interval_matches_statsmodels(successes: int, n: int) -> None:
    from statsmodels.stats.proportion import proportion_confint

    result = wilson_interval(successes, n)
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert result.low == pytest.approx(low)
    assert result.high == pytest.approx(high)
    assert result.rate == successes / n


def test_wilson_interval_of_nobody_is_empty() -> None:
    assert wilson_interval(0, 0).rate is None


def test_benchmark_comparison_uses_an_exact_binomial_test() -> None:
    result = compare_with_benchmark(40, 60, 0.78)
    expected = sum(
        math.comb(60, k) * 0.78**k * 0.22 ** (60 - k)
        for k in range(61)
        if math.comb(60, k) * 0.78**k * 0.22 ** (60 - k)
        <= math.comb(60, 40) * 0.78**40 * 0.22**20 * (1 + 1e-7)
    )
    assert result.p_value == pytest.approx(expected)
    assert result.verdict == "below"


def test_a_rate_near_the_benchmark_is_consistent() -> None:
    result = compare_with_benchmark(38, 50, 0.78)
    assert result.verdict == "consistent"
    assert result.verdict_text == "consistent with"


def test_a_high_rate_is_above() -> None:
    assert compare_with_benchmark(49, 50, 0.67).verdict == "above"


def test_a_small_cohort_is_too_small_to_tell() -> None:
    result = compare_with_benchmark(2, 4, 0.78)
    assert result.verdict == "too_small"
    assert result.p_value is None


# --- Issue 16: the trend across prognosis tiers, and loss to follow-up ----------------------


def test_trend_test_matches_the_correlation_form_of_cochran_armitage() -> None:
    import numpy as np
    from scipy import stats as scipy_stats

    from spinepath.outcomes.stats import trend_test

    groups = [(12, 40), (20, 38), (29, 41)]  # weaker, typical, strongest
    result = trend_test(groups)
    # Cochran-Armitage's z squared is N times the squared correlation of score and outcome.
    scores = np.concatenate([np.full(n, i) for i, (_, n) in enumerate(groups)])
    outcome = np.concatenate([np.r_[np.ones(r), np.zeros(n - r)] for r, n in groups])
    r = scipy_stats.pearsonr(scores, outcome).statistic
    assert result.z is not None and result.z**2 == pytest.approx(len(outcome) * r**2)
    assert result.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(result.z)))
    assert result.verdict == "separates" and result.n == 119


def test_trend_test_says_too_few_below_its_threshold_and_no_evidence_when_flat() -> None:
    from spinepath.outcomes.stats import MIN_PATIENTS_FOR_TREND, trend_test

    assert trend_test([(1, 5), (2, 5), (3, 5)]).verdict == "too_few"
    assert MIN_PATIENTS_FOR_TREND == 30
    flat = trend_test([(10, 20), (10, 20), (10, 20)])
    assert flat.verdict == "no_evidence" and flat.z == pytest.approx(0)
    falling = trend_test([(30, 40), (20, 40), (10, 40)])
    assert falling.verdict == "reversed" and falling.z is not None and falling.z < 0
    assert "fall" in falling.verdict_text


def test_loss_bounds_on_hand_made_cohorts() -> None:
    from spinepath.outcomes.stats import loss_bounds

    none_lost = loss_bounds(6, 10, 0)
    assert none_lost.observed == none_lost.worst == none_lost.best == 0.6
    assert none_lost.follow_up_rate == 1 and not none_lost.low_follow_up
    all_lost = loss_bounds(0, 0, 8)
    assert all_lost.observed is None and (all_lost.worst, all_lost.best) == (0, 1)
    assert all_lost.follow_up_rate == 0 and all_lost.low_follow_up
    some = loss_bounds(6, 10, 5)
    assert (some.observed, some.worst, some.best) == (0.6, 6 / 15, 11 / 15)
    assert some.low_follow_up  # 10 of 15 followed up: under 80%
    assert some.straddles(0.5) and not some.straddles(0.8)
    assert loss_bounds(0, 0, 0).follow_up_rate is None


# --- Issue 26: exact intervals for rare events and the composite endpoint --------------------


@pytest.mark.parametrize(("successes", "n"), [(1, 12), (7, 12), (3, 500), (13, 2372), (1, 3)])
def test_clopper_pearson_matches_statsmodels_exact_interval(successes: int, n: int) -> None:
    from statsmodels.stats.proportion import proportion_confint

    from spinepath.outcomes.stats import clopper_pearson

    result = clopper_pearson(successes, n)
    low, high = proportion_confint(successes, n, alpha=0.05, method="beta")
    assert result.low == pytest.approx(low)
    assert result.high == pytest.approx(high)
    assert result.rate == successes / n


@pytest.mark.parametrize("n", [100, 300, 2372])
def test_no_event_in_n_has_an_exact_upper_bound_near_the_rule_of_three(n: int) -> None:
    from statsmodels.stats.proportion import proportion_confint

    from spinepath.outcomes.stats import clopper_pearson

    result = clopper_pearson(0, n)
    assert (result.rate, result.low) == (0.0, 0.0)
    # The exact one-sided 95% limit (the two-sided 90% interval's upper end) ...
    assert result.high == pytest.approx(proportion_confint(0, n, alpha=0.10, method="beta")[1])
    # ... which the rule of three approximates (-ln 0.05 = 2.996: within 2% from n = 100 on).
    assert result.high == pytest.approx(3 / n, rel=0.02)


def test_every_event_in_n_has_the_mirror_bound_and_nobody_has_no_interval() -> None:
    from spinepath.outcomes.stats import clopper_pearson

    every = clopper_pearson(40, 40)
    nothing = clopper_pearson(0, 40)
    assert every.high == 1.0 and every.low == pytest.approx(1 - (nothing.high or 0))
    assert clopper_pearson(0, 0).rate is None


def test_a_rare_rate_keeps_its_decimals_on_the_page() -> None:
    from spinepath.outcomes.templatetags.outcomes_tags import percent, thousands

    assert [percent(v) for v in (0.0055, 0.037, 0.42, 0.0, 1.0, None)] == [
        "0.55%",
        "3.7%",
        "42%",
        "0%",
        "100%",
        "-",
    ]
    assert thousands(2372) == "2,372"
