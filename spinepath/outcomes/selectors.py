"""The clinic's cohort, aggregated in the database: one GROUP BY over the reassessment visits.

Means and rates come from running sums (count, sum, sum of squares), so the dashboard does not
read the cohort row by row; the intervals and tests are computed from those sums (stats.py).

What counts (PATHWAY.md section 7): a visit belongs to the cohort while its course has an
injection that stands (voided entries leave it), and a measurement counts only when it was
taken inside its visit's window; answers kept outside it are exported, flagged, without a
change from baseline or a responder status.

The trials' composite endpoint at 12 and 24 months (PATHWAY.md section 10) is summed in the
same query as if nobody had been re-intervened; the few visits of courses with a
re-intervention at a treated level (spinepath/safety/selectors.py, four queries) are then read
once more and counted again by the pure rule (``composite_at_visit``): a re-intervention before
the visit is a failure, measured or not once the window has closed.

Why one module of this length: every figure on the dashboard, the exports and the what-if
comes from the same few aggregate queries and the same rules of what counts; kept together, a
rule changes in one place for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.outcomes.stats import (
    BenchmarkComparison,
    LossBounds,
    MeanInterval,
    RateInterval,
    TrendTest,
    clopper_pearson,
    compare_with_benchmark,
    loss_bounds,
    mean_interval,
    trend_test,
    wilson_interval,
)
from spinepath.pathway.completion import AGE_BANDS, OLDEST_BAND, age_band
from spinepath.pathway.instruments import odi_responder_text, pain_responder_text
from spinepath.pathway.policy import Policy
from spinepath.pathway.safety_outcomes import (
    composite_at_visit,
    composite_text,
    composite_visits,
    reintervention_cutoff,
)
from spinepath.safety.selectors import first_reinterventions
from spinepath.web.policy import clinic_policy


@dataclass(frozen=True)
class Filters:
    generator: str = ""
    prognosis: str = ""
    levels: str = ""  # "1", "2", "3+"
    material: str = ""
    clinician: int | None = None
    injected_from: date | None = None
    injected_to: date | None = None

    def apply(self, visits: QuerySet[ReassessmentVisit]) -> QuerySet[ReassessmentVisit]:
        return visits.filter(**_lookups(self))


# A visit whose course no longer has an injection that stands (every one voided) is no
# longer part of the cohort.
IN_A_COURSE = {"injected_on__isnull": False}


@dataclass(frozen=True)
class CompositeSummary:
    """The trials' composite endpoint at a visit: the share of the patients assessed (measured,
    or re-intervened before the visit and not measured once the window closed) who met it,
    with its exact interval, and the loss-to-follow-up bounds among closed windows."""

    rate: RateInterval
    loss: LossBounds
    reintervened: int  # failures by a re-intervention at a treated level before the visit


@dataclass(frozen=True)
class VisitSummary:
    key: str
    label: str
    due: int
    measured: int
    lost: int
    vas_change: MeanInterval
    odi_change: MeanInterval
    pain_responders: RateInterval
    any_pain_reduction: RateInterval
    odi_responders: RateInterval
    substantial_pain: RateInterval  # >= 50% less pain (IMMPACT 2008)
    pain_mcid: RateInterval  # >= 15 mm VAS / 2 points NRS less pain (Ostelo 2008)
    odi_mcid: RateInterval  # >= 10 points lower ODI (Ostelo 2008)
    closed: int = 0  # visits whose window has closed
    loss: LossBounds | None = None  # pain responders among closed windows, with bounds
    composite: CompositeSummary | None = None  # at the trials' visits (12 and 24 months)

    @property
    def follow_up_rate(self) -> float | None:
        return self.loss.follow_up_rate if self.loss else None

    @property
    def more_responders(self) -> tuple[RateInterval, RateInterval, RateInterval]:
        return self.substantial_pain, self.pain_mcid, self.odi_mcid


# Responder definitions reported beside the policy's own (data dictionary: each with its source).
SUBSTANTIAL_PCT = -50.0
PAIN_MCID_VAS_MM = -15.0
PAIN_MCID_NRS_MM = -20.0  # 2 points on 0-10, stored x10
ODI_MCID_POINTS = -10.0
RESPONDER_DEFINITIONS: list[tuple[str, str, str]] = [
    (
        "substantial_pain",
        "Pain at least 50% lower than baseline (substantial improvement)",
        "Dworkin RH et al. (IMMPACT), J Pain 2008;9:105-121",
    ),
    (
        "pain_mcid",
        "Pain at least 15 mm lower on the VAS (2 points on a 0-10 NRS): minimal important change",
        "Ostelo RW et al., Spine 2008;33:90-94",
    ),
    (
        "odi_mcid",
        "ODI at least 10 points lower than baseline: minimal important change",
        "Ostelo RW et al., Spine 2008;33:90-94",
    ),
]


def _squares(field: str) -> Any:
    value = Cast(field, FloatField())
    return Sum(value * value)


def _composite_met(policy: Policy) -> Q:
    """A measurement meeting the composite's measures (a re-intervention is counted apart)."""
    return Q(
        pain_change_pct__lte=-policy.composite_pain_min_pct,
        odi_change_points__lte=-policy.composite_odi_min_points,
    )


COMPOSITE_MEASURED = Q(pain_change_pct__isnull=False, odi_change_points__isnull=False)


def visit_summaries(filters: Filters, today: date) -> list[VisitSummary]:
    """Two grouped queries: the visits (due, closed) and the measurements (scores, responders),
    each reading one table and joining only by primary key; and for the composite endpoint,
    the re-interventions (:func:`composite_corrections`)."""
    policy = clinic_policy()
    met, closed = _composite_met(policy), Q(visit__closes__lt=today)
    visits = filters.apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    counts = {
        row["key"]: row
        for row in visits.values("key").annotate(closed=Count("id", filter=Q(closes__lt=today)))
    }
    lookups = {**IN_A_COURSE, **_lookups(filters)}
    measured = OutcomeMeasurement.objects.filter(
        visit__isnull=False,
        outside_window=False,
        **{f"visit__{k}": v for k, v in lookups.items()},
    )
    scores = {
        row["visit__key"]: row
        for row in measured.values("visit__key").annotate(
            measured=Count("id"),
            measured_closed=Count("id", filter=Q(visit__closes__lt=today)),
            vas_n=Count("pain_change_mm"),
            vas_sum=Sum("pain_change_mm"),
            vas_sq=_squares("pain_change_mm"),
            odi_n=Count("odi_change_points"),
            odi_sum=Sum("odi_change_points"),
            odi_sq=_squares("odi_change_points"),
            pain_yes=Count("id", filter=Q(pain_responder=True)),
            pain_n=Count("pain_responder"),
            any_yes=Count("id", filter=Q(any_pain_reduction=True)),
            any_n=Count("any_pain_reduction"),
            odi_yes=Count("id", filter=Q(odi_responder=True)),
            odi_n2=Count("odi_responder"),
            big_yes=Count("id", filter=Q(pain_change_pct__lte=SUBSTANTIAL_PCT)),
            big_n=Count("pain_change_pct"),
            mcid_yes=Count(
                "id",
                filter=Q(pain_scale="vas", pain_change_mm__lte=PAIN_MCID_VAS_MM)
                | Q(pain_scale="nrs", pain_change_mm__lte=PAIN_MCID_NRS_MM),
            ),
            mcid_n=Count("pain_change_mm"),
            odi_mcid_yes=Count("id", filter=Q(odi_change_points__lte=ODI_MCID_POINTS)),
            closed_yes=Count("id", filter=Q(visit__closes__lt=today, pain_responder=True)),
            composite_yes=Count("id", filter=met),
            composite_n=Count("id", filter=COMPOSITE_MEASURED),
            composite_closed_yes=Count("id", filter=met & closed),
            composite_closed_n=Count("id", filter=COMPOSITE_MEASURED & closed),
        )
    }
    corrections = composite_corrections(filters, today, policy)
    summaries = []
    for visit in policy.visits:
        count = counts.get(visit.key, {"closed": 0})
        row = scores.get(visit.key) or _NO_SCORES
        lost = count["closed"] - row["measured_closed"]
        # Due as the completion page counts it (spinepath.pathway.completion): the window has
        # closed, or the visit is answered (inside its window, perhaps before its due date). So
        # due = measured + lost, and the share measured is the completion page's.
        due = count["closed"] + row["measured"] - row["measured_closed"]
        summaries.append(
            VisitSummary(
                key=visit.key,
                label=visit.label,
                due=due,
                measured=row["measured"],
                lost=lost,
                vas_change=mean_interval(row["vas_n"], row["vas_sum"] or 0, row["vas_sq"] or 0),
                odi_change=mean_interval(row["odi_n"], row["odi_sum"] or 0, row["odi_sq"] or 0),
                pain_responders=wilson_interval(row["pain_yes"], row["pain_n"]),
                any_pain_reduction=wilson_interval(row["any_yes"], row["any_n"]),
                odi_responders=wilson_interval(row["odi_yes"], row["odi_n2"]),
                substantial_pain=wilson_interval(row["big_yes"], row["big_n"]),
                pain_mcid=wilson_interval(row["mcid_yes"], row["mcid_n"]),
                odi_mcid=wilson_interval(row["odi_mcid_yes"], row["odi_n"]),
                closed=count["closed"],
                loss=loss_bounds(row["closed_yes"], row["measured_closed"], lost),
                composite=_composite(row, count["closed"], corrections.get(visit.key))
                if visit.key in corrections
                else None,
            )
        )
    return summaries


@dataclass
class CompositeTally:
    """Counts of the composite at one visit: assessed and met, all and in closed windows."""

    met: int = 0
    assessed: int = 0
    closed_met: int = 0
    closed_assessed: int = 0
    reintervened: int = 0

    def add(self, outcome: bool | None, window_closed: bool, sign: int = 1) -> None:
        if outcome is None:
            return
        self.met += sign * outcome
        self.assessed += sign
        if window_closed:
            self.closed_met += sign * outcome
            self.closed_assessed += sign


def _composite(row: dict[str, Any], closed: int, correction: CompositeTally | None) -> Any:
    fix = correction or CompositeTally()
    assessed = row["composite_n"] + fix.assessed
    closed_assessed = row["composite_closed_n"] + fix.closed_assessed
    return CompositeSummary(
        clopper_pearson(row["composite_yes"] + fix.met, assessed),
        loss_bounds(
            row["composite_closed_yes"] + fix.closed_met, closed_assessed, closed - closed_assessed
        ),
        fix.reintervened,
    )


def visit_composite(
    row: dict[str, Any], first_reintervention: date | None, today: date, policy: Policy
) -> tuple[bool, bool | None]:
    """Of one visit (a row of the visit's ``closes`` and its ``measurement__`` fields), given
    its course's first re-intervention at a treated level: whether that came on or before the
    visit (its answers inside the window, else the window's last day), and the composite.
    The dashboard's counts and the exported rows both ask it."""
    measured = row["measurement__measured_on"] is not None and not bool(
        row["measurement__outside_window"]
    )
    cutoff = reintervention_cutoff(
        row["measurement__measured_on"] if measured else None, row["closes"]
    )
    reintervened = first_reintervention is not None and first_reintervention <= cutoff
    return reintervened, composite_at_visit(
        row["measurement__pain_change_pct"],
        row["measurement__odi_change_points"],
        measured=measured,
        window_closed=row["closes"] < today,
        reintervened=reintervened,
        policy=policy,
    )


COMPOSITE_VISIT_FIELDS = (
    "key",
    "plan_id",
    "closes",
    "measurement__measured_on",
    "measurement__outside_window",
    "measurement__pain_change_pct",
    "measurement__odi_change_points",
)


def composite_corrections(
    filters: Filters, today: date, policy: Policy
) -> dict[str, CompositeTally]:
    """By composite visit (12 and 24 months): what the re-interventions change in the counts
    the database made as if nobody had been re-intervened. Five queries whatever the cohort:
    the courses with a re-intervention (four), and their visits at those time points (one)."""
    keys = [v.key for v in composite_visits(policy)]
    tallies = {key: CompositeTally() for key in keys}
    firsts = first_reinterventions()
    if not firsts or not keys:
        return tallies
    visits = filters.apply(
        ReassessmentVisit.objects.filter(**IN_A_COURSE, key__in=keys, plan_id__in=list(firsts))
    )
    for row in visits.values(*COMPOSITE_VISIT_FIELDS).order_by().iterator(chunk_size=2000):
        window_closed = row["closes"] < today
        _, as_counted = visit_composite(row, None, today, policy)
        reintervened, actual = visit_composite(row, firsts[row["plan_id"]], today, policy)
        tally = tallies[row["key"]]
        tally.add(as_counted, window_closed, sign=-1)
        tally.add(actual, window_closed)
        tally.reintervened += reintervened and actual is not None
    return tallies


_NO_SCORES: dict[str, Any] = dict.fromkeys(
    (
        "measured",
        "measured_closed",
        "vas_n",
        "vas_sum",
        "vas_sq",
        "odi_n",
        "odi_sum",
        "odi_sq",
        "pain_yes",
        "pain_n",
        "any_yes",
        "any_n",
        "odi_yes",
        "odi_n2",
        "big_yes",
        "big_n",
        "mcid_yes",
        "mcid_n",
        "odi_mcid_yes",
        "closed_yes",
        "composite_yes",
        "composite_n",
        "composite_closed_yes",
        "composite_closed_n",
    ),
    0,
)


def _lookups(filters: Filters) -> dict[str, Any]:
    """The filters as field lookups on a visit, to apply them through a measurement's visit."""
    lookups: dict[str, Any] = {}
    if filters.generator:
        lookups["generator"] = filters.generator
    if filters.prognosis:
        lookups["prognosis_tier"] = filters.prognosis
    if filters.levels == "3+":
        lookups["target_count__gte"] = 3
    elif filters.levels in ("1", "2"):
        lookups["target_count"] = int(filters.levels)
    if filters.material:
        lookups["material"] = filters.material
    if filters.clinician:
        lookups["clinician_id"] = filters.clinician
    if filters.injected_from:
        lookups["injected_on__gte"] = filters.injected_from
    if filters.injected_to:
        lookups["injected_on__lte"] = filters.injected_to
    return lookups


@dataclass(frozen=True)
class EvidenceComparison:
    label: str
    visit: str
    measure: str
    comparison: BenchmarkComparison
    bounds: LossBounds | None = None  # the pain responders, with the lost counted both ways

    @property
    def bounds_straddle(self) -> bool:
        return self.bounds is not None and self.bounds.straddles(self.comparison.benchmark)


MEASURES = {"pain_responder": "pain_responders", "any_pain_reduction": "any_pain_reduction"}


def evidence_comparisons(summaries: list[VisitSummary]) -> list[EvidenceComparison]:
    from spinepath.outcomes.evidence import benchmarks

    by_key = {s.key: s for s in summaries}
    result = []
    for visit, measure, label, rate in benchmarks():
        summary = by_key.get(visit)
        if summary is None or measure not in MEASURES:
            continue
        observed: RateInterval = getattr(summary, MEASURES[measure])
        result.append(
            EvidenceComparison(
                label,
                visit,
                measure,
                compare_with_benchmark(observed.successes, observed.n, rate),
                summary.loss if measure == "pain_responder" else None,
            )
        )
    return result


def cohort_columns(policy: Policy) -> list[tuple[str, str]]:
    """The export's columns and what each means (the data dictionary)."""
    return [
        ("patient", "Record number (identified export) or pseudonym (de-identified)"),
        ("visit", "Reassessment visit: 6w, 3m, 6m, 12m, 24m"),
        ("injected_on", "Date of the first injection of the course (shifted when de-identified)"),
        ("due", "Due date of the visit (shifted when de-identified)"),
        ("measured_on", "Date the answers were given; empty if not measured"),
        (
            "status",
            "measured, measured_outside_window (kept but not counted: no change or responder "
            "status), lost (window closed without answers inside it), open, or upcoming",
        ),
        ("generator", "Treated pain generator: discogenic, facet, myoligamentous, or multiple"),
        ("prognosis", "Prognosis tier of the candidacy decision: strongest, typical, weaker"),
        ("targets", "Number of treated targets"),
        ("material", "Injected material: msc, exosome, prp"),
        ("pain_vas", "Pain, VAS 0-100 mm (NRS answers x10)"),
        ("pain_change_mm", "Change in pain from baseline, mm (negative is better)"),
        ("pain_change_pct", "Change in pain from baseline, percent"),
        ("pain_responder", f"Responder: {pain_responder_text(policy)}"),
        ("any_pain_reduction", "Any reduction in pain from baseline"),
        ("odi", "Oswestry Disability Index 0-100; empty if too many sections were blank"),
        ("odi_change", "Change in ODI from baseline, points"),
        ("odi_responder", f"Responder: {odi_responder_text(policy)} (policy)"),
        *((name, f"{text}. Source: {source}") for name, text, source in RESPONDER_DEFINITIONS),
        (
            "composite",
            "12 and 24 months only: the trials' composite endpoint, "
            f"{composite_text(policy)}. No when re-intervened before the visit, also when not "
            "measured once the window has closed; empty when not decided (not measured, a "
            "measure missing)",
        ),
        (
            "reintervened",
            "yes when a re-intervention at a treated level came on or before this visit's "
            "answers (not measured: the window's last day)",
        ),
        (
            "reintervention_on",
            "Date of the course's first re-intervention at a treated level: a spine surgery or "
            "an injection there after the course (recorded, reported by the patient, the "
            "clinic's own injection of a later course, a spine procedure a later consultation "
            "lists); empty if none (shifted when de-identified)",
        ),
        ("window_closed", "yes once the visit's window has closed (lost if not measured inside)"),
        (
            "pfirrmann",
            "Highest Pfirrmann grade of the treated discs on the latest MRI of the signed "
            "workup (1-5); 'no disc treated' when the course treated no disc",
        ),
        ("pain_pattern", "Pain pattern of the signed workup: axial, radicular, mixed"),
        ("age_band", "Age at the first injection: under 40, 40-49, 50-59, 60-69, 70 and over"),
        ("policy", "Name and version of the policy the candidacy decision was made under"),
    ]


COHORT_COLUMN_NAMES = [name for name, _ in cohort_columns(Policy())]
# Measures that compare with baseline: left empty for answers given outside the window.
_COMPARED = (
    "pain_change_mm",
    "pain_change_pct",
    "pain_responder",
    "any_pain_reduction",
    "odi_change",
    "odi_responder",
    "substantial_pain",
    "pain_mcid",
    "odi_mcid",
)


def cohort_record_numbers(filters: Filters | None = None) -> list[str]:
    """The record numbers of the patients a cohort export holds (its accounting of
    disclosures names each one)."""
    visits = (filters or Filters()).apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    numbers = visits.order_by("patient__mrn").values_list("patient__mrn", flat=True).distinct()
    return [number for number in numbers if number]


def cohort_rows(today: date, filters: Filters | None = None) -> Iterator[dict[str, Any]]:
    """One row per patient and visit, streamed from the database in chunks (and, read once
    before them, the courses with a re-intervention at a treated level)."""
    visits = (filters or Filters()).apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    policy = clinic_policy()
    trial_visits = {v.key for v in composite_visits(policy)}
    firsts = first_reinterventions()
    fields = (
        "patient_id",
        "plan_id",
        "patient__mrn",
        "key",
        "injected_on",
        "due",
        "opens",
        "closes",
        "generator",
        "prognosis_tier",
        "target_count",
        "material",
        "measurement__measured_on",
        "measurement__pain_vas",
        "measurement__pain_change_mm",
        "measurement__pain_change_pct",
        "measurement__pain_responder",
        "measurement__any_pain_reduction",
        "measurement__odi_score",
        "measurement__odi_change_points",
        "measurement__odi_responder",
        "measurement__outside_window",
        "measurement__pain_scale",
        "patient__birth_date",
        "plan__decision_id",
        "plan__decision__policy_name",
        "plan__decision__policy_version",
        "treated_grade",
        "pain_pattern",
        "age_band",
    )
    rows = visits.order_by("patient_id", "due").values(*fields).iterator(chunk_size=2000)
    for row in rows:
        measured = row["measurement__measured_on"]
        outside = bool(row["measurement__outside_window"])
        first = firsts.get(row["plan_id"])
        reintervened, composite = visit_composite(row, first, today, policy)
        status = (
            ("measured_outside_window" if outside else "measured")
            if measured
            else "lost"
            if row["closes"] < today
            else "open"
            if row["opens"] <= today
            else "upcoming"
        )
        out = {
            "patient_id": row["patient_id"],
            "patient": row["patient__mrn"],
            "visit": row["key"],
            "injected_on": row["injected_on"],
            "due": row["due"],
            "measured_on": measured,
            "status": status,
            "generator": row["generator"],
            "prognosis": row["prognosis_tier"],
            "targets": row["target_count"],
            "material": row["material"],
            "pain_vas": row["measurement__pain_vas"],
            "pain_change_mm": row["measurement__pain_change_mm"],
            "pain_change_pct": row["measurement__pain_change_pct"],
            "pain_responder": row["measurement__pain_responder"],
            "any_pain_reduction": row["measurement__any_pain_reduction"],
            "odi": row["measurement__odi_score"],
            "odi_change": row["measurement__odi_change_points"],
            "odi_responder": row["measurement__odi_responder"],
            **more_responders(
                row["measurement__pain_change_pct"],
                row["measurement__pain_change_mm"],
                row["measurement__pain_scale"],
                row["measurement__odi_change_points"],
            ),
            "composite": composite if row["key"] in trial_visits else None,
            "reintervened": reintervened,
            "reintervention_on": first,
            "window_closed": row["closes"] < today,
            "pfirrmann": row["treated_grade"],
            "pain_pattern": row["pain_pattern"],
            "age_band": row["age_band"] or age_band(row["patient__birth_date"], row["injected_on"]),
            "policy": " ".join(
                (row["plan__decision__policy_name"], row["plan__decision__policy_version"])
            ),
        }
        if outside:
            out.update(dict.fromkeys(_COMPARED))
        yield out


def more_responders(
    pain_pct: float | None, pain_mm: float | None, scale: str | None, odi_points: float | None
) -> dict[str, bool | None]:
    """The responder definitions reported beside the policy's (RESPONDER_DEFINITIONS)."""
    mcid = PAIN_MCID_NRS_MM if scale == "nrs" else PAIN_MCID_VAS_MM
    return {
        "substantial_pain": None if pain_pct is None else pain_pct <= SUBSTANTIAL_PCT,
        "pain_mcid": None if pain_mm is None else pain_mm <= mcid,
        "odi_mcid": None if odi_points is None else odi_points <= ODI_MCID_POINTS,
    }


# --- Outcomes by candidacy features -----------------------------------------------------------

TIER_ORDER = ("weaker", "typical", "strongest")


@dataclass(frozen=True)
class FeatureRow:
    feature: str
    value: str
    pain_responders: RateInterval
    vas_change: MeanInterval
    field: str = ""  # the visit's field and its stored value: the cohort rows behind the row
    stored: str = ""


@dataclass(frozen=True)
class Breakdown:
    visit: str
    rows: list[FeatureRow]
    tiers: TrendTest


# The features of the breakdown: (heading, the visit's field, the odds module's feature name).
BREAKDOWN_FEATURES: tuple[tuple[str, str, str], ...] = (
    ("Age band (at the first injection)", "age_band", "age_band"),
    ("Generator (what was treated)", "generator", "kind"),
    ("Material", "material", ""),
    ("Pain pattern (signed workup)", "pain_pattern", "pattern"),
    ("Pfirrmann grade (treated discs, latest MRI)", "treated_grade", "grade"),
    ("Prognosis tier (signed decision)", "prognosis_tier", "tier"),
    ("Treated targets", "target_count", ""),
)
MATERIAL_WORDS = {"msc": "MSC", "exosome": "exosomes", "prp": "PRP"}


def breakdown_value_words(field: str, value: Any) -> str:
    """A feature's stored value as the breakdown (and the cohort rows behind it) show it."""
    from spinepath.pathway.odds import feature_value_words

    if field == "target_count":
        return "3 or more" if (value or 0) >= 3 else str(value or 0)
    if field == "material":
        return MATERIAL_WORDS.get(value, value or "not recorded")
    if field == "prognosis_tier":  # the clinic's own words for its tiers, as staff know them
        return str(value or "not recorded")
    odds_name = next((name for _, f, name in BREAKDOWN_FEATURES if f == field), "")
    return feature_value_words(odds_name, value or "") if odds_name else str(value)


def feature_breakdown(visit_key: str) -> Breakdown:
    """Pain responders and mean pain change at one visit, by each candidacy feature of the
    treated course (the features stored on its visits: those of the treated targets and the
    signed decision), and the trend test across prognosis tiers (measurements inside their
    windows). One grouped query; each feature's rows are the sums of its groups."""
    fields = [f for _, f, _ in BREAKDOWN_FEATURES]
    grouped = (
        OutcomeMeasurement.objects.filter(
            visit__key=visit_key,
            visit__injected_on__isnull=False,
            outside_window=False,
            pain_responder__isnull=False,
        )
        .values(*(f"visit__{f}" for f in fields))
        .annotate(
            n=Count("id"),
            yes=Count("id", filter=Q(pain_responder=True)),
            change_n=Count("pain_change_mm"),
            change_sum=Sum("pain_change_mm"),
            change_sq=_squares("pain_change_mm"),
        )
        .order_by()
    )
    groups: dict[tuple[str, str], list[float]] = {}
    for row in grouped:
        for heading, field, _ in BREAKDOWN_FEATURES:
            value = row[f"visit__{field}"]
            value = (min(value or 0, 3) if field == "target_count" else value) or ""
            g = groups.setdefault((heading, field, value), [0, 0, 0, 0.0, 0.0])
            g[0] += row["n"]
            g[1] += row["yes"]
            g[2] += row["change_n"]
            g[3] += row["change_sum"] or 0
            g[4] += row["change_sq"] or 0
    out = [
        FeatureRow(
            heading,
            breakdown_value_words(field, value),
            wilson_interval(int(g[1]), int(g[0])),
            mean_interval(int(g[2]), g[3], g[4]),
            field=field,
            stored=str(value),
        )
        for (heading, field, value), g in sorted(groups.items(), key=_feature_order)
    ]
    tier = BREAKDOWN_FEATURES[5][0]
    tiers = trend_test(
        [
            (
                int(groups.get((tier, "prognosis_tier", t), [0, 0])[1]),
                int(groups.get((tier, "prognosis_tier", t), [0, 0])[0]),
            )
            for t in TIER_ORDER
        ]
    )
    return Breakdown(visit_key, out, tiers)


_AGE_ORDER = {label: i for i, (_, _, label) in enumerate(AGE_BANDS)} | {OLDEST_BAND: 9}


def _feature_order(item: tuple[tuple[str, str, Any], Any]) -> tuple[str, int, str]:
    """Features in name order; age bands youngest first, tiers weakest first, grades and
    target counts by number."""
    (heading, field, value), _ = item
    if field == "age_band":
        return heading, _AGE_ORDER.get(value, 99), str(value)
    if field == "prognosis_tier" and value in TIER_ORDER:
        return heading, TIER_ORDER.index(value), value
    if field in ("treated_grade", "target_count") and str(value).isdigit():
        return heading, int(value), str(value)
    return heading, 50, str(value)
