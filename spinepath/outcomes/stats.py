"""The statistics the outcomes dashboard and the evidence library report, from scipy.

Kept apart from ``spinepath.pathway`` (which must stay light and fast) but just as pure: numbers
in, numbers and plain verdicts out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

# scipy is imported where it is used (it costs a process a second or more to import, and most
# processes - the command line, a server's start, most pages - never compute an interval).

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
    from scipy import stats

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
    from scipy import stats

    ci = stats.binomtest(successes, n).proportion_ci(CONFIDENCE, method="wilson")
    return RateInterval(successes, n, successes / n, float(ci.low), float(ci.high))


def clopper_pearson(successes: int, n: int) -> RateInterval:
    """A proportion with its exact (Clopper-Pearson) 95% interval: for rare events (adverse
    events, re-interventions) and the trials' composite endpoint, where Wilson's
    approximation is loosest.

    With no event (or only events) the interval has one side only, so its bound is the exact
    one-sided 95% limit, 1 - 0.05^(1/n): what the rule of three (3/n) approximates, as
    "nothing happened in n" is usually reported (Hanley & Lippman-Hand, JAMA 1983;249:1743).
    In between it is scipy's two-sided exact interval."""
    if n == 0:
        return RateInterval(0, 0, None, None, None)
    if successes == 0:
        return RateInterval(0, n, 0.0, 0.0, 1 - (1 - CONFIDENCE) ** (1 / n))
    if successes == n:
        return RateInterval(n, n, 1.0, (1 - CONFIDENCE) ** (1 / n), 1.0)
    from scipy import stats

    ci = stats.binomtest(successes, n).proportion_ci(CONFIDENCE, method="exact")
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
    from scipy import stats

    p_value = float(stats.binomtest(successes, n, benchmark).pvalue)
    rate = successes / n
    verdict: Verdict = "consistent"
    if p_value < ALPHA:
        verdict = "below" if rate < benchmark else "above"
    return BenchmarkComparison(successes, n, rate, benchmark, p_value, verdict)


# --- Loss to follow-up ---------------------------------------------------------------------

FOLLOW_UP_WARNING = 0.80


@dataclass(frozen=True, slots=True)
class LossBounds:
    """A responder rate as observed, and what it would be if every patient lost to follow-up
    had not responded (worst case) or had (best case)."""

    successes: int
    measured: int
    lost: int
    observed: float | None
    worst: float | None
    best: float | None

    @property
    def follow_up_rate(self) -> float | None:
        total = self.measured + self.lost
        return self.measured / total if total else None

    @property
    def low_follow_up(self) -> bool:
        rate = self.follow_up_rate
        return rate is not None and rate < FOLLOW_UP_WARNING

    def straddles(self, published: float) -> bool:
        return (
            self.worst is not None
            and self.best is not None
            and self.worst <= published <= self.best
        )


def loss_bounds(successes: int, measured: int, lost: int) -> LossBounds:
    total = measured + lost
    if total == 0:
        return LossBounds(successes, measured, lost, None, None, None)
    observed = successes / measured if measured else None
    return LossBounds(
        successes, measured, lost, observed, successes / total, (successes + lost) / total
    )


# --- Do the prognosis tiers separate outcomes? ------------------------------------------------

# Below this many measured patients (across the tiers) the trend test says "too few to tell".
MIN_PATIENTS_FOR_TREND = 30


@dataclass(frozen=True, slots=True)
class TrendTest:
    """Cochran-Armitage test for a trend in responder rates across ordered groups."""

    n: int
    z: float | None
    p_value: float | None
    verdict: Literal["separates", "reversed", "no_evidence", "too_few"]

    @property
    def verdict_text(self) -> str:
        return {
            "separates": "the tiers separate outcomes: responder rates rise with the tier",
            "reversed": "the tiers are reversed: responder rates fall as the tier rises",
            "no_evidence": "no evidence that the tiers separate outcomes",
            "too_few": f"too few patients to tell (fewer than {MIN_PATIENTS_FOR_TREND})",
        }[self.verdict]


def trend_test(groups: list[tuple[int, int]], scores: list[float] | None = None) -> TrendTest:
    """``groups``: (responders, measured) per group, in order (e.g. weaker, typical,
    strongest). Two-sided Cochran-Armitage trend test (normal approximation)."""
    scores = scores or [float(i) for i in range(len(groups))]
    n = sum(m for _, m in groups)
    successes = sum(r for r, _ in groups)
    if n < MIN_PATIENTS_FOR_TREND:
        return TrendTest(n, None, None, "too_few")
    p = successes / n
    t = sum(s * (r - m * p) for s, (r, m) in zip(scores, groups, strict=True))
    mean_score = sum(s * m for s, (_, m) in zip(scores, groups, strict=True)) / n
    variance = (
        p
        * (1 - p)
        * sum(m * (s - mean_score) ** 2 for s, (_, m) in zip(scores, groups, strict=True))
    )
    if variance <= 0:
        return TrendTest(n, None, None, "no_evidence")
    z = t / math.sqrt(variance)
    from scipy import stats

    p_value = float(2 * stats.norm.sf(abs(z)))
    verdict: Literal["separates", "reversed", "no_evidence"] = "no_evidence"
    if p_value < ALPHA:
        verdict = "separates" if z > 0 else "reversed"
    return TrendTest(n, z, p_value, verdict)
