"""The clinic's model of 12-month pain response: a logistic regression on the five candidacy
features of a treated course (spinepath.pathway.odds.Features), and how well it predicts
patients it was not fitted on.

- **Who it is fitted on**: one row per treated course whose 12-month window had closed by the
  date of the data, answered inside the window with the pain response known (30% less pain, as
  the policy defines it), the answer recorded by the end of that day. Synthetic demonstration
  patients never count in what a patient is shown.
- **The design**: each feature is a set of yes/no columns, one per value but its most common
  (the reference). A column that never varies, or that the others already determine (features
  that always go together, such as facet injections and "no disc treated"), is dropped, so a
  cohort whose features are collinear still fits.
- **Out-of-sample calibration**: 5-fold cross-validation, each patient's courses in the fold
  their record id puts them in (the same folds every time). Each course is predicted by the
  model fitted on the other four folds; from those predictions come the calibration slope, the
  calibration intercept (calibration-in-the-large), the C-statistic and the Brier score
  (spinepath.pathway.odds.Calibration), which the policy's thresholds judge
  (spinepath.pathway.odds.model_verdict) before any patient is shown an estimate.

numpy, scipy, statsmodels and matplotlib are imported where they are used: most processes never
fit the model.
"""

from __future__ import annotations

import io
import math
import time
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from spinepath.followup.models import OutcomeMeasurement
from spinepath.pathway.completion import NOT_RECORDED
from spinepath.pathway.odds import (
    FEATURE_WORDS,
    FEATURES,
    PRIMARY_VISIT,
    Calibration,
    Features,
    exact_interval,
    feature_value_words,
    model_thresholds,
    model_verdict,
)
from spinepath.patients.models import SYNTHETIC_ID_PREFIX
from spinepath.web.policy import clinic_policy

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# Fewer answered courses than this, and no model is fitted at all (the policy's own minimum for
# showing an estimate, model_min_patients, is higher and judged apart).
MIN_COURSES = 50
FOLDS = 5
Z95 = 1.959963984540054
# A coefficient this large (an odds ratio over e^15) means a feature's value predicts the outcome
# perfectly: the fit has no finite answer.
SEPARATED = 15.0
# The four columns of a row: the patient's record id, its five features, the response.
Row = tuple[int, Features, bool]


class ModelFailure(Exception):
    """A fit that has no answer (perfect separation, a singular design), in words."""


@dataclass(frozen=True, slots=True)
class OddsRatio:
    """One value of a feature against the feature's reference value."""

    feature: str
    value: str
    reference: str
    ratio: float
    low: float
    high: float

    @property
    def words(self) -> str:
        return (
            f"{FEATURE_WORDS[self.feature]}: {feature_value_words(self.feature, self.value)} "
            f"rather than {feature_value_words(self.feature, self.reference)}"
        )


@dataclass(frozen=True, slots=True)
class DecilePoint:
    """A tenth of the courses by predicted risk: mean predicted, observed share and its exact
    95% interval."""

    n: int
    predicted: float
    responders: int
    low: float
    high: float

    @property
    def observed(self) -> float:
        return self.responders / self.n


@dataclass(frozen=True, slots=True)
class Estimate:
    """The model's predicted chance of 30% less pain at 12 months, with its 95% interval."""

    probability: float
    low: float
    high: float
    patients: int


@dataclass(frozen=True)
class ModelResult:
    """A fit (or why there is none). Plain floats and tuples: it is kept in the shared cache."""

    as_of: date
    include_synthetic: bool
    courses: int
    responders: int
    reason: str = ""
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    columns: tuple[tuple[str, str], ...] = ()
    kept: tuple[int, ...] = ()
    params: tuple[float, ...] = ()
    covariance: tuple[tuple[float, ...], ...] = ()
    row_space: tuple[tuple[float, ...], ...] = ()
    odds_ratios: tuple[OddsRatio, ...] = ()
    dropped: tuple[str, ...] = ()
    calibration: Calibration | None = None
    deciles: tuple[DecilePoint, ...] = ()
    seconds: float = 0.0

    @property
    def fitted(self) -> bool:
        return not self.reason

    def gaps(self, features: Features) -> list[str]:
        """Why the model gives no estimate for ``features`` (empty when it gives one)."""
        if not self.fitted:
            return [self.reason]
        unseen = [
            f"{FEATURE_WORDS[name]} {feature_value_words(name, getattr(features, name))!r} "
            "was never seen in the courses the model is fitted on"
            for name in FEATURES
            if getattr(features, name) not in self.levels.get(name, ())
        ]
        if unseen:
            return unseen
        if not self._estimable(self._full_row(features)):
            return [
                "this combination of features was never seen in a way the model can tell apart "
                "from the others (features that always went together)"
            ]
        return []

    def estimate(self, features: Features) -> Estimate | None:
        """The predicted probability with its 95% interval by the delta method on the linear
        predictor; ``None`` when :meth:`gaps` says why not."""
        if self.gaps(features):
            return None
        full = self._full_row(features)
        x = [full[i] for i in self.kept]
        eta = sum(a * b for a, b in zip(x, self.params, strict=True))
        variance = sum(
            x[i] * self.covariance[i][j] * x[j] for i in range(len(x)) for j in range(len(x))
        )
        half = Z95 * math.sqrt(max(variance, 0.0))
        return Estimate(_expit(eta), _expit(eta - half), _expit(eta + half), self.courses)

    def _full_row(self, features: Features) -> list[float]:
        return [1.0] + [
            1.0 if getattr(features, name) == value else 0.0 for name, value in self.columns
        ]

    def _estimable(self, x: list[float]) -> bool:
        """Whether ``x`` lies in the row space of the design (its prediction does not depend on
        which of the collinear columns were dropped)."""
        projected = [0.0] * len(x)
        for basis in self.row_space:
            dot = sum(a * b for a, b in zip(basis, x, strict=True))
            projected = [p + dot * b for p, b in zip(projected, basis, strict=True)]
        return sum((a - b) ** 2 for a, b in zip(x, projected, strict=True)) < 1e-8


def _expit(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    e = math.exp(value)
    return e / (1.0 + e)


# --- The data ---------------------------------------------------------------------------------


def population(as_of: date, *, include_synthetic: bool = False) -> QuerySet[OutcomeMeasurement]:
    """The 12-month answers the model is fitted on, as they stood at the end of ``as_of``."""
    end_of_day = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), clock_time.min))
    answers = OutcomeMeasurement.objects.filter(
        visit__key=PRIMARY_VISIT,
        visit__injected_on__isnull=False,
        visit__closes__lte=as_of,
        outside_window=False,
        pain_responder__isnull=False,
        created_at__lt=end_of_day,
    )
    if not include_synthetic:
        answers = answers.exclude(Q(patient__external_id__startswith=SYNTHETIC_ID_PREFIX))
    return answers.order_by()


def model_rows(as_of: date, *, include_synthetic: bool = False) -> list[Row]:
    """One row per course: one query."""
    rows = population(as_of, include_synthetic=include_synthetic).values_list(
        "patient_id",
        "visit__generator",
        "visit__prognosis_tier",
        "visit__treated_grade",
        "visit__pain_pattern",
        "visit__age_band",
        "pain_responder",
        "visit_id",
    )
    return [
        (patient, Features(*(value or NOT_RECORDED for value in values)), bool(responder))
        for patient, *values, responder, _visit in sorted(rows, key=lambda r: r[-1])
    ]


def fold_of(patient_id: int) -> int:
    """The cross-validation fold of a patient's courses: the same every run (a multiplicative
    hash of the record id, so that neighbouring ids spread over the folds)."""
    return (patient_id * 2654435761) % 2**32 % FOLDS


# --- The fit ----------------------------------------------------------------------------------


def fit_model(as_of: date, *, include_synthetic: bool = False) -> ModelResult:
    return fit_rows(
        model_rows(as_of, include_synthetic=include_synthetic),
        as_of,
        include_synthetic=include_synthetic,
    )


def fit_rows(rows: list[Row], as_of: date, *, include_synthetic: bool = False) -> ModelResult:
    """The model on ``rows``, its odds ratios and its cross-validated calibration; a result
    that says why when there is none."""
    started = time.perf_counter()
    responders = sum(1 for _, _, y in rows if y)
    base = ModelResult(as_of, include_synthetic, len(rows), responders)

    def without(reason: str) -> ModelResult:
        return _replace(base, reason=reason, seconds=time.perf_counter() - started)

    if len(rows) < MIN_COURSES:
        return without(
            f"only {len(rows)} treated courses answered at 12 months; the model needs "
            f"at least {MIN_COURSES}"
        )
    if responders in (0, len(rows)):
        return without("every course answered alike at 12 months: there is nothing to predict")
    import numpy as np

    levels = _levels(rows)
    columns = tuple((name, value) for name in FEATURES for value in levels[name][1:])
    design = _design(rows, columns)
    outcome = np.array([float(y) for _, _, y in rows])
    kept = _independent(design)
    names = [("", ""), *columns]
    alike = _answered_alike(design, outcome, kept)
    if alike:
        return without(
            "perfect separation: every course with "
            + ", ".join(
                f"{FEATURE_WORDS[names[i][0]]} {feature_value_words(*names[i])}" for i in alike
            )
            + " answered alike, so the model cannot estimate its odds"
        )
    try:
        params, covariance = _logistic(design[:, kept], outcome)
        predicted = _cross_validated(rows, design, outcome, kept)
    except ModelFailure as failure:
        return without(str(failure))
    ratios = []
    for position, index in enumerate(kept):
        if index == 0:
            continue
        name, value = names[index]
        se = math.sqrt(max(covariance[position][position], 0.0))
        beta = params[position]
        ratios.append(
            OddsRatio(
                name,
                value,
                levels[name][0],
                math.exp(beta),
                math.exp(beta - Z95 * se),
                math.exp(beta + Z95 * se),
            )
        )
    dropped = tuple(
        f"{FEATURE_WORDS[names[i][0]]}: {feature_value_words(*names[i])}"
        for i in range(1, len(names))
        if i not in kept
    )
    return _replace(
        base,
        levels=levels,
        columns=columns,
        kept=tuple(kept),
        params=tuple(float(p) for p in params),
        covariance=tuple(tuple(float(c) for c in row) for row in covariance),
        row_space=_row_space(design),
        odds_ratios=tuple(ratios),
        dropped=dropped,
        calibration=_calibration(predicted, outcome),
        deciles=_deciles(predicted, outcome),
        seconds=time.perf_counter() - started,
    )


def _replace(result: ModelResult, **changes: Any) -> ModelResult:
    from dataclasses import replace

    return replace(result, **changes)


def _levels(rows: list[Row]) -> dict[str, tuple[str, ...]]:
    """Each feature's values, the most common (the reference) first, then by name."""
    from collections import Counter

    out = {}
    for name in FEATURES:
        counts = Counter(getattr(features, name) for _, features, _ in rows)
        out[name] = tuple(sorted(counts, key=lambda value: (-counts[value], value)))
    return out


def _design(rows: list[Row], columns: tuple[tuple[str, str], ...]) -> NDArray[np.float64]:
    import numpy as np

    matrix = np.zeros((len(rows), len(columns) + 1))
    matrix[:, 0] = 1.0
    for i, (_, features, _) in enumerate(rows):
        for j, (name, value) in enumerate(columns, start=1):
            if getattr(features, name) == value:
                matrix[i, j] = 1.0
    return matrix


def _independent(design: NDArray[np.float64]) -> list[int]:
    """The columns kept, in order: each one that adds to the rank of those before it (a column
    that never varies, or that others determine, adds nothing)."""
    import numpy as np

    gram = design.T @ design
    kept: list[int] = []
    for j in range(design.shape[1]):
        trial = [*kept, j]
        if np.linalg.matrix_rank(gram[np.ix_(trial, trial)]) == len(trial):
            kept.append(j)
    return kept


def _answered_alike(
    design: NDArray[np.float64], outcome: NDArray[np.float64], columns: list[int]
) -> list[int]:
    """The value columns (not the intercept) whose courses all answered alike: each alone
    separates the outcome perfectly, and its odds ratio has no finite estimate."""
    out = []
    for j in columns:
        if j == 0:
            continue
        answers = outcome[design[:, j] == 1.0]
        if len(answers) and answers.min() == answers.max():
            out.append(j)
    return out


def _row_space(design: NDArray[np.float64]) -> tuple[tuple[float, ...], ...]:
    import numpy as np

    _, singular, vt = np.linalg.svd(design, full_matrices=False)
    rank = int((singular > singular[0] * 1e-10).sum()) if singular.size else 0
    return tuple(tuple(float(v) for v in vt[i]) for i in range(rank))


def _logistic(
    design: NDArray[np.float64],
    outcome: NDArray[np.float64],
    offset: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Maximum likelihood logistic regression: the coefficients and their covariance."""
    import numpy as np
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fit = sm.GLM(outcome, design, family=sm.families.Binomial(), offset=offset).fit()
            params, covariance = np.asarray(fit.params), np.asarray(fit.cov_params())
        except (PerfectSeparationError, PerfectSeparationWarning) as exc:
            raise ModelFailure(
                "a feature's value predicts the outcome perfectly (perfect separation)"
            ) from exc
        except ConvergenceWarning as exc:
            raise ModelFailure("the fit did not converge") from exc
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelFailure(f"the fit failed: {exc}") from exc
    if not (np.isfinite(params).all() and np.isfinite(covariance).all()):
        raise ModelFailure("the fit has no finite answer (a singular design)")
    if (np.abs(params) > SEPARATED).any():
        raise ModelFailure("a feature's value predicts the outcome perfectly (perfect separation)")
    return params, covariance


def _cross_validated(
    rows: list[Row],
    design: NDArray[np.float64],
    outcome: NDArray[np.float64],
    kept: list[int],
) -> NDArray[np.float64]:
    """Each course's predicted chance from the model fitted without its fold. A column that does
    not vary within a fold's training courses, or whose training courses all answered alike
    (a rare value), is left out of that fold's fit: its courses are then predicted as the
    reference value's, as a new value would be."""
    import numpy as np

    folds = np.array([fold_of(patient) for patient, _, _ in rows])
    predicted = np.empty(len(rows))
    for k in range(FOLDS):
        test = folds == k
        if not test.any():
            continue
        train = ~test
        if outcome[train].min() == outcome[train].max():
            raise ModelFailure(f"cross-validation fold {k + 1} has no outcome variation")
        inner = [kept[i] for i in _independent(design[np.ix_(train, kept)])]
        alike = set(_answered_alike(design[train], outcome[train], inner))
        inner = [i for i in inner if i not in alike]
        try:
            params, _ = _logistic(design[np.ix_(train, inner)], outcome[train])
        except ModelFailure as failure:
            raise ModelFailure(f"cross-validation fold {k + 1}: {failure}") from failure
        eta = design[np.ix_(test, inner)] @ params
        predicted[test] = 1.0 / (1.0 + np.exp(-eta))
    return predicted


def _calibration(predicted: NDArray[np.float64], outcome: NDArray[np.float64]) -> Calibration:
    import numpy as np

    clipped = np.clip(predicted, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    ones = np.ones((len(outcome), 1))
    slope: float | None
    intercept: float | None
    try:
        slope = float(_logistic(np.column_stack([ones, logit]), outcome)[0][1])
    except ModelFailure:
        slope = None
    try:
        intercept = float(_logistic(ones, outcome, offset=logit)[0][0])
    except ModelFailure:
        intercept = None
    return Calibration(
        patients=len(outcome),
        slope=slope,
        intercept=intercept,
        c_statistic=c_statistic(predicted, outcome),
        brier=float(np.mean((predicted - outcome) ** 2)),
    )


def c_statistic(predicted: NDArray[np.float64], outcome: NDArray[np.float64]) -> float | None:
    """The chance that a course that responded was given a higher prediction than one that did
    not (ties count half): the area under the ROC curve, from the ranks (Mann-Whitney)."""
    from scipy.stats import rankdata

    positives = int(outcome.sum())
    negatives = len(outcome) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(predicted)
    rank_sum = float(ranks[outcome == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _deciles(
    predicted: NDArray[np.float64], outcome: NDArray[np.float64]
) -> tuple[DecilePoint, ...]:
    import numpy as np

    order = np.argsort(predicted, kind="stable")
    points = []
    for group in np.array_split(order, 10):
        if not len(group):
            continue
        yes, n = int(outcome[group].sum()), len(group)
        low, high = exact_interval(yes, n) or (0.0, 1.0)
        points.append(DecilePoint(n, float(predicted[group].mean()), yes, low, high))
    return tuple(points)


# --- The clinic's model, and what a patient is shown ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelCohort:
    """The cache key's choice: whether the synthetic demonstration patients are counted."""

    include_synthetic: bool = False


def clinic_model(as_of: date, *, include_synthetic: bool = False) -> ModelResult:
    """The model as of ``as_of``: fitted once a day, by the first request that asks, and kept
    for every server (spinepath/outcomes/daily.py), so an estimate a patient read is the one
    they accept."""
    from spinepath.outcomes.daily import of_the_day

    who = "all" if include_synthetic else "own"
    return of_the_day(
        f"model:{who}", as_of, lambda: fit_model(as_of, include_synthetic=include_synthetic)
    )


def patient_estimate(features: Features, as_of: date) -> tuple[Estimate | None, bool, list[str]]:
    """A patient's own estimate, only while the model's cross-validated calibration passes every
    threshold of the clinic's policy (never fitted on synthetic patients). ``None`` with the
    reasons when it is not shown."""
    result = clinic_model(as_of)
    shown, reasons = model_verdict(result.calibration, model_thresholds(clinic_policy()))
    if not shown:
        return None, False, reasons
    estimate = result.estimate(features)
    if estimate is None:
        return None, False, result.gaps(features)
    return estimate, True, []


def draft_population(no_longer_candidate: set[str], as_of: date) -> dict[str, int]:
    """How a draft policy would change the model's population: of the courses the clinic's model
    is fitted on, how many are of patients whose latest signed decision would no longer be
    ``candidate`` under the draft (the what-if's rescreen), and how many would remain."""
    records = list(population(as_of).values_list("patient__mrn", flat=True))
    moved = sum(1 for mrn in records if mrn in no_longer_candidate)
    return {"fitted_on": len(records), "no_longer_candidate": moved, "remain": len(records) - moved}


# --- The calibration plot ----------------------------------------------------------------------


def plot_description(result: ModelResult) -> str:
    """The plot's figures in words (its alt text)."""
    if not result.fitted or result.calibration is None:
        return f"No calibration plot: {result.reason}."
    cal = result.calibration
    points = "; ".join(
        f"predicted {p.predicted:.0%}, observed {p.responders} of {p.n} ({p.observed:.0%})"
        for p in result.deciles
    )
    return (
        f"Calibration plot of {result.courses} courses, data as of {result.as_of.isoformat()}: "
        f"observed against cross-validated predicted share with 30% less pain at 12 months, by "
        f"tenth of predicted chance. Slope {_fmt(cal.slope)}, intercept {_fmt(cal.intercept)}, "
        f"C-statistic {_fmt(cal.c_statistic)}, Brier score {_fmt(cal.brier)}. {points}."
    )


def _fmt(value: float | None) -> str:
    return "not computable" if value is None else f"{value:.2f}"


def calibration_png(result: ModelResult) -> bytes:
    """Observed against predicted by tenth of predicted chance, with exact intervals and the
    diagonal, titled with the number of courses and the date of the data."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 5.0), dpi=100)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#5b6b76", linewidth=1, label="Perfect")
    if result.deciles:
        xs = [p.predicted for p in result.deciles]
        ys = [p.observed for p in result.deciles]
        below = [p.observed - p.low for p in result.deciles]
        above = [p.high - p.observed for p in result.deciles]
        ax.errorbar(
            xs,
            ys,
            yerr=[below, above],
            marker="o",
            linestyle="none",
            capsize=3,
            color="#1f6f8b",
            label="Observed, exact 95% CI",
        )
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    else:
        ax.text(0.5, 0.5, "No model", ha="center", va="center")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Predicted chance of 30% less pain (cross-validated)")
    ax.set_ylabel("Observed share")
    ax.set_title(f"{result.courses} courses, data as of {result.as_of.isoformat()}", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    out = io.BytesIO()
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out.getvalue()
