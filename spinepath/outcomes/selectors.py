"""The clinic's cohort, aggregated in the database: one GROUP BY over the reassessment visits.

Means and rates come from running sums (count, sum, sum of squares), so the dashboard does not
read the cohort row by row; the intervals and tests are computed from those sums (stats.py).

What counts (PATHWAY.md section 7): a visit belongs to the cohort while its course has an
injection that stands (voided entries leave it), and a measurement counts only when it was
taken inside its visit's window; answers kept outside it are exported, flagged, without a
change from baseline or a responder status.
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
    MeanInterval,
    RateInterval,
    compare_with_benchmark,
    mean_interval,
    wilson_interval,
)
from spinepath.pathway.instruments import odi_responder_text, pain_responder_text
from spinepath.pathway.policy import Policy
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


def _squares(field: str) -> Any:
    value = Cast(field, FloatField())
    return Sum(value * value)


def visit_summaries(filters: Filters, today: date) -> list[VisitSummary]:
    """Two grouped queries: the visits (due, closed) and the measurements (scores, responders),
    each reading one table and joining only by primary key."""
    visits = filters.apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    counts = {
        row["key"]: row
        for row in visits.values("key").annotate(
            due=Count("id", filter=Q(due__lte=today)),
            closed=Count("id", filter=Q(closes__lt=today)),
        )
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
        )
    }
    summaries = []
    for visit in clinic_policy().visits:
        count = counts.get(visit.key, {"due": 0, "closed": 0})
        row = scores.get(visit.key) or _NO_SCORES
        summaries.append(
            VisitSummary(
                key=visit.key,
                label=visit.label,
                due=count["due"],
                measured=row["measured"],
                lost=count["closed"] - row["measured_closed"],
                vas_change=mean_interval(row["vas_n"], row["vas_sum"] or 0, row["vas_sq"] or 0),
                odi_change=mean_interval(row["odi_n"], row["odi_sum"] or 0, row["odi_sq"] or 0),
                pain_responders=wilson_interval(row["pain_yes"], row["pain_n"]),
                any_pain_reduction=wilson_interval(row["any_yes"], row["any_n"]),
                odi_responders=wilson_interval(row["odi_yes"], row["odi_n2"]),
            )
        )
    return summaries


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
                label, visit, measure, compare_with_benchmark(observed.successes, observed.n, rate)
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
)


def cohort_record_numbers(filters: Filters | None = None) -> list[str]:
    """The record numbers of the patients a cohort export holds (its accounting of
    disclosures names each one)."""
    visits = (filters or Filters()).apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    numbers = visits.order_by("patient__mrn").values_list("patient__mrn", flat=True).distinct()
    return [number for number in numbers if number]


def cohort_rows(today: date, filters: Filters | None = None) -> Iterator[dict[str, Any]]:
    """One row per patient and visit, streamed from the database in chunks."""
    visits = (filters or Filters()).apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    fields = (
        "patient_id",
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
    )
    for row in visits.order_by("patient_id", "due").values(*fields).iterator(chunk_size=2000):
        measured = row["measurement__measured_on"]
        outside = bool(row["measurement__outside_window"])
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
        }
        if outside:
            out.update(dict.fromkeys(_COMPARED))
        yield out
