"""Outcome statistics checked against statsmodels and independent formulas on fixed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from spinepath.outcomes.stats import compare_with_benchmark, mean_interval, wilson_interval

VAS_CHANGES = [-32.0, -18.5, -40.0, -5.0, 3.0, -27.0, -22.0, -15.0, -35.5, -8.0, -12.0]


def test_mean_interval_matches_a_t_interval() -> None:
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
