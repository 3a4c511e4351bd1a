"""The statistics the outcomes dashboard and the evidence library report, from scipy.

Kept apart from ``spinepath.pathway`` (which must stay light and fast) but just as pure: numbers
in, numbers and plain verdicts out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

CONFIDENCE = 0.95
# Below this many measured patients a comparison with a published rate says "too small to tell".
MIN_COHORT_FOR_VERDICT = 10
ALPHA = 0.05

Verdict = Literal["consistent", "below", "above", "too_small"]
VERDICT_TEXT: dict[str, str] = {
    "consistent": "consistent with",
    "below": "below",
    "above": "above",
    "too_small": "too few patients to tell",
}


@dataclass(frozen=True, slots=True)
class MeanInterval:
    n: int
    mean: float | None
    low: float | None
    high: float | None


def mean_interval(n: int, total: float, total_squares: float) -> MeanInterval:
    """Mean with a 95% t-interval from running sums (so a database can do the summing)."""
    if n == 0:
        return MeanInterval(0, None, None, None)
    mean = total / n
    if n == 1:
        return MeanInterval(1, mean, None, None)
    variance = max(0.0, (total_squares - n * mean * mean) / (n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * math.sqrt(variance / n)
    return MeanInterval(n, mean, mean - half, mean + half)


@dataclass(frozen=True, slots=True)
class RateInterval:
    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


def wilson_interval(successes: int, n: int) -> RateInterval:
    """A proportion with its 95% Wilson score interval."""
    if n == 0:
        return RateInterval(0, 0, None, None, None)
    ci = stats.binomtest(successes, n).proportion_ci(CONFIDENCE, method="wilson")
    return RateInterval(successes, n, successes / n, float(ci.low), float(ci.high))


@dataclass(frozen=True, slots=True)
class BenchmarkComparison:
    successes: int
    n: int
    rate: float | None
    benchmark: float
    p_value: float | None
    verdict: Verdict

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT[self.verdict]


def compare_with_benchmark(successes: int, n: int, benchmark: float) -> BenchmarkComparison:
    """The clinic's rate against a published one: exact two-sided binomial test."""
    if n < MIN_COHORT_FOR_VERDICT:
        rate = successes / n if n else None
        return BenchmarkComparison(successes, n, rate, benchmark, None, "too_small")
    p_value = float(stats.binomtest(successes, n, benchmark).pvalue)
    rate = successes / n
    verdict: Verdict = "consistent"
    if p_value < ALPHA:
        verdict = "below" if rate < benchmark else "above"
    return BenchmarkComparison(successes, n, rate, benchmark, p_value, verdict)
