"""Honest odds at the moment of consent: how patients like this one did at this clinic.

A candidate is matched with the clinic's own treated courses on five features of the treated
target and the signed decision (:class:`Features`). When too few match, the match widens one
feature at a time in a fixed order (:data:`WIDEN_ORDER`) and says which; when too few match even
with every feature but the treatment widened, no figure is given and only the published studies
are shown. What counts, in the clinic's words:

- **the features of a course** are those of its signed decision and the targets it treated
  (:func:`course_features`): the kind of target treated (the pain generator, or "multiple"), the
  decision's prognosis tier, the highest Pfirrmann grade of the treated discs on the latest MRI
  of the signed workup (none for a course that treated no disc), the pain pattern of the signed
  workup, and the age band at the first injection. A candidate's are those of the decision's
  recommended targets, aged on the day the figures are asked for;
- **the figures** at 6 and 12 months count the courses whose window for that visit had closed
  by the date of the data: *answered* inside the window, or *lost*. Each share (30% less pain;
  a meaningful ODI change, as the policy defines both) is of those answered, with its exact
  95% interval, and with the best and worst cases for those lost (all or none of them
  improved);
- **no figure from fewer patients than the minimum**: a group is used when at least
  ``minimum`` of its courses answered at 12 months, and each figure is shown only when its own
  answered count reaches the minimum.

Pure: the outcomes app counts the courses in the database by feature and visit, hands the
counts here, and shows what comes back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from spinepath.pathway.completion import NOT_RECORDED, age_band
from spinepath.pathway.policy import Policy

# The five features, in the order the match widens them: the least telling first. The kind of
# target treated is never widened: a disc's figures say nothing of a facet joint's.
FEATURES = ("kind", "tier", "grade", "pattern", "age_band")
WIDEN_ORDER: tuple[str, ...] = ("age_band", "pattern", "grade", "tier")
FEATURE_WORDS = {
    "kind": "what was treated",
    "tier": "expected result (the clinic's prognosis)",
    "grade": "disc degeneration (Pfirrmann grade)",
    "pattern": "pain pattern",
    "age_band": "age",
}
# The visits the figures are given at, and the one a group must reach the minimum at.
VISITS = ("6m", "12m")
PRIMARY_VISIT = "12m"
VISIT_WORDS = {"6m": "6 months", "12m": "12 months"}
NO_DISC = "no disc treated"
ANY = "any"

KIND_WORDS = {
    "discogenic": "an injection into a disc",
    "facet": "facet joint injections",
    "myoligamentous": "ligament injections",
    "multiple": "injections at more than one kind of target",
}
TIER_WORDS = {
    "strongest": "among the best",
    "typical": "typical",
    "weaker": "less favourable",
}
PATTERN_WORDS = {
    "axial": "back pain mainly",
    "radicular": "leg pain mainly",
    "mixed": "back and leg pain",
}

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True, order=True)
class Features:
    """A course's (or a candidate's) features, as stored words: ``grade`` is "1"-"5",
    :data:`NO_DISC` or :data:`NOT_RECORDED`; a widened feature is :data:`ANY`."""

    kind: str
    tier: str
    grade: str
    pattern: str
    age_band: str

    def widened(self, names: Iterable[str]) -> Features:
        return replace(self, **dict.fromkeys(names, ANY))

    def matches(self, other: Features) -> bool:
        """Whether ``other`` (a course's features) falls in this group."""
        return all(getattr(self, name) in (ANY, getattr(other, name)) for name in FEATURES)

    def words(self) -> list[tuple[str, str]]:
        """Each feature in words, as a patient reads them ("any" once widened)."""
        return [
            (FEATURE_WORDS[name], feature_value_words(name, getattr(self, name)))
            for name in FEATURES
        ]


def feature_values(name: str) -> tuple[str, ...]:
    """Every value a feature can be stored as, and :data:`ANY` (what a group may ask for)."""
    from spinepath.pathway.completion import AGE_BANDS, OLDEST_BAND

    values: dict[str, tuple[str, ...]] = {
        "kind": tuple(KIND_WORDS),
        "tier": tuple(TIER_WORDS),
        "grade": ("1", "2", "3", "4", "5", NO_DISC),
        "pattern": tuple(PATTERN_WORDS),
        "age_band": (*(words for *_, words in AGE_BANDS), OLDEST_BAND),
    }
    return (*values[name], NOT_RECORDED, ANY)


def feature_value_words(name: str, value: str) -> str:
    if value == ANY:
        return "any"
    if name == "kind":
        return KIND_WORDS.get(value, value or NOT_RECORDED)
    if name == "tier":
        return TIER_WORDS.get(value, value or NOT_RECORDED)
    if name == "grade":
        return f"grade {value}" if value.isdigit() else value or NOT_RECORDED
    if name == "pattern":
        return PATTERN_WORDS.get(value, value or NOT_RECORDED)
    return value or NOT_RECORDED


def _latest_mri(workup: Mapping[str, Any]) -> Mapping[str, Any] | None:
    mris = [s for s in workup.get("imaging") or [] if s.get("modality") == "MRI"]
    return max(mris, key=lambda s: str(s.get("date") or ""), default=None)


def treated_grade(workup: Mapping[str, Any], disc_levels: Iterable[str]) -> str:
    """The highest Pfirrmann grade of the treated discs on the latest MRI of the workup:
    :data:`NO_DISC` when no disc was treated, :data:`NOT_RECORDED` when the MRI does not grade
    them."""
    levels = {level for level in disc_levels if level}
    if not levels:
        return NO_DISC
    latest = _latest_mri(workup) or {}
    grades = [
        finding.get("pfirrmann")
        for finding in latest.get("levels") or []
        if finding.get("level") in levels
    ]
    known = [g for g in grades if isinstance(g, int)]
    return str(max(known)) if known else NOT_RECORDED


def decision_targets(decision_json: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A signed decision's targets (its confirmed, eligible generators, by the decision's own
    rule) as (generator, level) pairs: what a candidate would be treated at."""
    from spinepath.pathway.decision import Generator

    out: list[tuple[str, str]] = []
    for g in decision_json.get("generators") or []:
        generator = Generator(
            generator=g.get("generator"),
            status=g.get("status"),
            eligible=bool(g.get("eligible")),
            level=g.get("level"),
            side=g.get("side"),
        )
        if generator.is_target:
            out.append((generator.generator, generator.level or ""))
    return out


def kind_of(generators: Iterable[str]) -> str:
    kinds = {g for g in generators if g}
    if not kinds:
        return NOT_RECORDED
    return kinds.pop() if len(kinds) == 1 else "multiple"


def course_features(
    workup: Mapping[str, Any],
    tier: str,
    targets: Iterable[tuple[str, str]],
    born: date | None,
    on: date | None,
) -> Features:
    """The features of a treated course (or a candidate): the signed ``workup`` (its JSON),
    the signed decision's prognosis ``tier``, the ``targets`` treated (or recommended) as
    (generator, level) pairs, and the age band of someone born ``born`` on the day ``on`` (the
    first injection; for a candidate, the day asked)."""
    targets = list(targets)
    pattern = (workup.get("history") or {}).get("pattern") or NOT_RECORDED
    return Features(
        kind=kind_of(g for g, _ in targets),
        tier=tier or NOT_RECORDED,
        grade=treated_grade(workup, (level for g, level in targets if g == "discogenic")),
        pattern=str(pattern),
        age_band=age_band(born, on),
    )


# --- Counting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """At one visit, of a group of courses whose window had closed: how many answered inside it
    (``answered``), how many of those had 30% less pain (of ``pain_n`` whose pain change is
    known) and a meaningful ODI change (of ``odi_n``), and how many were lost."""

    answered: int = 0
    lost: int = 0
    pain_yes: int = 0
    pain_n: int = 0
    odi_yes: int = 0
    odi_n: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.answered + other.answered,
            self.lost + other.lost,
            self.pain_yes + other.pain_yes,
            self.pain_n + other.pain_n,
            self.odi_yes + other.odi_yes,
            self.odi_n + other.odi_n,
        )


# The counts the outcomes app hands in: by a course's features, by visit key.
Counts = Mapping[Features, Mapping[str, Tally]]


def group_tallies(counts: Counts, group: Features) -> dict[str, Tally]:
    """The tallies of every course in ``group``, by visit."""
    out = {visit: Tally() for visit in VISITS}
    for features, by_visit in counts.items():
        if group.matches(features):
            for visit in VISITS:
                tally = by_visit.get(visit)
                if tally is not None:
                    out[visit] = out[visit] + tally
    return out


# --- Exact intervals (Clopper-Pearson), in plain Python -----------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-13:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _beta_quantile(p: float, a: float, b: float) -> float:
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if beta_cdf(mid, a, b) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-10:
            break
    return (low + high) / 2


@dataclass(frozen=True, slots=True)
class Share:
    """``yes`` of ``n``, with its exact 95% interval."""

    yes: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.yes / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return exact_interval(self.yes, self.n)


def exact_interval(yes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The exact (Clopper-Pearson) interval of ``yes`` of ``n``: two-sided, except that with no
    event (or only events) its one open side is the exact one-sided limit, as the clinic's
    other exact rates report it (``spinepath.outcomes.stats.clopper_pearson``)."""
    if n <= 0 or not 0 <= yes <= n:
        return None
    alpha = 1 - confidence
    if yes == 0:
        return 0.0, 1 - alpha ** (1 / n)
    if yes == n:
        return alpha ** (1 / n), 1.0
    return (
        _beta_quantile(alpha / 2, yes, n - yes + 1),
        _beta_quantile(1 - alpha / 2, yes + 1, n - yes),
    )


# --- The figures a patient reads ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisitFigures:
    """At one visit: the courses answered and lost, and the two shares (``None`` when fewer
    than the minimum answered them)."""

    visit: str
    answered: int
    lost: int
    pain: Share | None
    odi: Share | None

    @property
    def label(self) -> str:
        return VISIT_WORDS.get(self.visit, self.visit)

    def bounds(self, share: Share | None) -> tuple[float, float] | None:
        """The share if every patient lost had not improved, and if every one had."""
        if share is None:
            return None
        total = share.n + self.lost
        return share.yes / total, (share.yes + self.lost) / total


@dataclass(frozen=True, slots=True)
class Match:
    """The group a candidate was matched with: its features (the widened ones "any"), the
    features widened in order, and its figures; ``enough`` False when even the widest group
    had fewer than the minimum answered at 12 months (no figure is then given)."""

    wanted: Features
    group: Features
    widened: tuple[str, ...]
    minimum: int
    enough: bool
    figures: tuple[VisitFigures, ...]
    tallies: Mapping[str, Tally]

    @property
    def widened_words(self) -> list[str]:
        return [FEATURE_WORDS[name] for name in self.widened]

    def at(self, visit: str) -> VisitFigures | None:
        return next((f for f in self.figures if f.visit == visit), None)


def match(counts: Counts, wanted: Features, minimum: int) -> Match:
    """The narrowest group of courses like ``wanted`` with at least ``minimum`` answered at
    12 months: all five features first, then one more feature widened at a time in
    :data:`WIDEN_ORDER`. Widening only adds courses, so each step's group holds the last."""
    widened: tuple[str, ...] = ()
    while True:
        group = wanted.widened(widened)
        tallies = group_tallies(counts, group)
        enough = tallies[PRIMARY_VISIT].answered >= minimum
        if enough or len(widened) == len(WIDEN_ORDER):
            break
        widened = WIDEN_ORDER[: len(widened) + 1]
    figures = tuple(_figures(visit, tallies[visit], minimum) for visit in VISITS) if enough else ()
    return Match(wanted, group, widened, minimum, enough, figures, tallies)


def _figures(visit: str, tally: Tally, minimum: int) -> VisitFigures:
    return VisitFigures(
        visit,
        tally.answered,
        tally.lost,
        Share(tally.pain_yes, tally.pain_n) if tally.pain_n >= minimum else None,
        Share(tally.odi_yes, tally.odi_n) if tally.odi_n >= minimum else None,
    )


def frequency_sentence(share: Share, what: str) -> str:
    """ "Of 40 patients like you who answered, 26 had ..." - the frequency format patients read
    best (Gigerenzer & Edwards, BMJ 2003;327:741)."""
    return f"Of {share.n} patients like you who answered, {share.yes} had {what}."


# --- When the clinic's model may give a patient their own estimate ---------------------------


@dataclass(frozen=True, slots=True)
class Calibration:
    """The model's out-of-sample performance (cross-validated predictions against outcomes)."""

    patients: int
    slope: float | None
    intercept: float | None
    c_statistic: float | None
    brier: float | None


@dataclass(frozen=True, slots=True)
class ModelThresholds:
    min_patients: int
    slope_low: float
    slope_high: float
    max_abs_intercept: float
    min_c_statistic: float
    max_brier: float


def model_thresholds(policy: Policy) -> ModelThresholds:
    return ModelThresholds(
        policy.model_min_patients,
        policy.model_slope_low,
        policy.model_slope_high,
        policy.model_max_abs_intercept,
        policy.model_min_c_statistic,
        policy.model_max_brier,
    )


def model_verdict(
    calibration: Calibration | None, thresholds: ModelThresholds
) -> tuple[bool, list[str]]:
    """Whether a patient may be shown the model's estimate for them, and, when not, every
    reason in words. Each threshold is the clinic's policy; a measure that could not be
    computed fails its threshold."""
    if calibration is None:
        return False, ["no model has been fitted: too few treated patients answered at 12 months"]
    reasons = []
    if calibration.patients < thresholds.min_patients:
        reasons.append(
            f"fitted on {calibration.patients} patients, fewer than the "
            f"{thresholds.min_patients} the policy asks for"
        )
    slope = calibration.slope
    if slope is None or not thresholds.slope_low <= slope <= thresholds.slope_high:
        reasons.append(
            f"calibration slope {_fmt(slope)} is outside "
            f"{thresholds.slope_low:g}-{thresholds.slope_high:g}"
        )
    intercept = calibration.intercept
    if intercept is None or abs(intercept) > thresholds.max_abs_intercept:
        reasons.append(
            f"calibration intercept {_fmt(intercept)} is further from 0 than "
            f"{thresholds.max_abs_intercept:g}"
        )
    c = calibration.c_statistic
    if c is None or c < thresholds.min_c_statistic:
        reasons.append(f"C-statistic {_fmt(c)} is under {thresholds.min_c_statistic:g}")
    brier = calibration.brier
    if brier is None or brier > thresholds.max_brier:
        reasons.append(f"Brier score {_fmt(brier)} is over {thresholds.max_brier:g}")
    return not reasons, reasons


def _fmt(value: float | None) -> str:
    """Three decimals: enough that a measure just under its threshold never reads as equal to
    it ("0.645 is under 0.65"), and no "-0.000"."""
    if value is None:
        return "not computable"
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


@dataclass(frozen=True, slots=True)
class ModelCheck:
    """One measure of the model beside the policy's threshold for it."""

    measure: str
    value: str
    threshold: str
    passed: bool


def model_checks(calibration: Calibration, thresholds: ModelThresholds) -> list[ModelCheck]:
    """Each measure with its threshold and whether it passes (as :func:`model_verdict` judges
    them: a measure that could not be computed fails)."""
    c, slope, intercept, brier = (
        calibration.c_statistic,
        calibration.slope,
        calibration.intercept,
        calibration.brier,
    )
    return [
        ModelCheck(
            "Patients (treated courses answered at 12 months)",
            str(calibration.patients),
            f"at least {thresholds.min_patients}",
            calibration.patients >= thresholds.min_patients,
        ),
        ModelCheck(
            "Calibration slope",
            _fmt(slope),
            f"between {thresholds.slope_low:g} and {thresholds.slope_high:g}",
            slope is not None and thresholds.slope_low <= slope <= thresholds.slope_high,
        ),
        ModelCheck(
            "Calibration intercept (calibration-in-the-large)",
            _fmt(intercept),
            f"within {thresholds.max_abs_intercept:g} of 0",
            intercept is not None and abs(intercept) <= thresholds.max_abs_intercept,
        ),
        ModelCheck(
            "C-statistic (discrimination)",
            _fmt(c),
            f"at least {thresholds.min_c_statistic:g}",
            c is not None and c >= thresholds.min_c_statistic,
        ),
        ModelCheck(
            "Brier score",
            _fmt(brier),
            f"at most {thresholds.max_brier:g}",
            brier is not None and brier <= thresholds.max_brier,
        ),
    ]
