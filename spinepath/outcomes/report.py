"""The publishable outcomes report: a PDF a clinic can hand out or post.

Built from the de-identified cohort rows only (spinepath/outcomes/exports.py: pseudonyms,
shifted dates; the patient id is dropped before anything here sees a row), with the same
statistics as the dashboard - a test holds the two to the same numbers. The safety section is
the dashboard's event rates, aggregated per material and per product; not per lot, since an
autologous lot is one patient's own material (a row per lot would be a row per patient). The
follow-up completion of each visit (PATHWAY.md section 11) is counted from the same rows as the
completion page counts it in the database (a test holds them together), with the warning under
the clinic's target at 12 months beside the loss-to-follow-up bounds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from spinepath.outcomes import charts, exports, safety_rates, selectors
from spinepath.outcomes.selectors import (
    RESPONDER_DEFINITIONS,
    TIER_ORDER,
    CompositeSummary,
    CompositeTally,
    EvidenceComparison,
    VisitSummary,
)
from spinepath.outcomes.stats import (
    FOLLOW_UP_WARNING,
    TrendTest,
    clopper_pearson,
    loss_bounds,
    mean_interval,
    trend_test,
    wilson_interval,
)
from spinepath.pathway.completion import (
    TARGET_VISIT,
    Tally,
    completion_sentence,
    completion_warning,
    tally,
    target_text,
)
from spinepath.pathway.instruments import odi_responder_text, pain_responder_text
from spinepath.pathway.policy import Policy
from spinepath.pathway.safety_outcomes import composite_text, composite_visits


@dataclass
class _Sums:
    opened: int = 0
    measured: int = 0
    closed: int = 0
    measured_closed: int = 0
    closed_yes: int = 0
    # Follow-up completion (PATHWAY.md section 11): due once the window closed or answered.
    completion_due: int = 0

    def __post_init__(self) -> None:
        self.composite = CompositeTally()
        self.means: dict[str, list[float]] = {k: [0, 0.0, 0.0] for k in ("vas", "odi")}
        self.rates: dict[str, list[int]] = {
            k: [0, 0]
            for k in (
                "pain_responder",
                "any_pain_reduction",
                "odi_responder",
                "substantial_pain",
                "pain_mcid",
                "odi_mcid",
            )
        }

    def add_mean(self, key: str, value: float | None) -> None:
        if value is not None:
            m = self.means[key]
            m[0] += 1
            m[1] += value
            m[2] += value * value

    def add_rate(self, key: str, value: bool | None) -> None:
        if value is not None:
            self.rates[key][0] += 1
            self.rates[key][1] += int(value)

    def rate(self, key: str) -> Any:
        n, yes = self.rates[key]
        return wilson_interval(yes, n)

    def mean(self, key: str) -> Any:
        n, total, squares = self.means[key]
        return mean_interval(int(n), total, squares)

    def add_composite(self, row: dict[str, Any]) -> None:
        closed = bool(row["window_closed"])
        self.composite.add(row["composite"], closed)
        self.composite.reintervened += bool(row["reintervened"]) and row["composite"] is not None

    def composite_summary(self) -> CompositeSummary:
        c = self.composite
        return CompositeSummary(
            clopper_pearson(c.met, c.assessed),
            loss_bounds(c.closed_met, c.closed_assessed, self.closed - c.closed_assessed),
            c.reintervened,
        )


@dataclass(frozen=True)
class VisitCompletionLine:
    """A visit's follow-up completion as the report states it."""

    label: str
    tally: Tally


@dataclass(frozen=True)
class Report:
    summaries: list[VisitSummary]
    comparisons: list[EvidenceComparison]
    tiers: list[tuple[str, Any]]
    trend: TrendTest
    judged_visit: str
    patients: int
    policies: list[tuple[str, int]]
    first: date | None
    last: date | None
    completion: list[VisitCompletionLine] = field(default_factory=list)
    completion_sentence: str = ""  # the 12-month completion against the target
    completion_warning: str | None = None
    completion_target: str = ""  # "80%"

    @property
    def follow_up_lines(self) -> list[tuple[VisitSummary, VisitCompletionLine]]:
        return list(zip(self.summaries, self.completion, strict=True))


def report_from_rows(rows: Iterable[dict[str, Any]], policy: Policy) -> Report:
    """The report's figures from de-identified cohort rows (``patient_id`` already removed)."""
    sums: dict[str, _Sums] = {v.key: _Sums() for v in policy.visits}
    tiers: dict[str, list[int]] = {t: [0, 0] for t in TIER_ORDER}
    patients: set[str] = set()
    policies: dict[str, set[str]] = {}
    first: date | None = None
    last: date | None = None
    judged = policy.non_response_judged_from_visit
    trial_visits = {v.key for v in composite_visits(policy)}
    for row in rows:
        assert "patient_id" not in row, "the report reads de-identified rows only"
        s = sums.get(row["visit"])
        if s is None:
            continue
        patients.add(row["patient"])
        policies.setdefault(row["policy"], set()).add(row["patient"])
        injected = row["injected_on"]
        if isinstance(injected, date):
            first = injected if first is None or injected < first else first
            last = injected if last is None or injected > last else last
        status = row["status"]
        s.opened += status != "upcoming"
        measured = status == "measured"
        s.closed += bool(row["window_closed"])
        s.completion_due += bool(row["window_closed"]) or status == "measured"
        s.add_composite(row)
        if not measured:
            continue
        s.measured += 1
        if row["window_closed"]:
            s.measured_closed += 1
            s.closed_yes += row["pain_responder"] is True
        s.add_mean("vas", row["pain_change_mm"])
        s.add_mean("odi", row["odi_change"])
        for key in s.rates:
            s.add_rate(key, row[key])
        if row["visit"] == judged and row["pain_responder"] is not None:
            tier = tiers.get(row["prognosis"])
            if tier is not None:
                tier[0] += 1
                tier[1] += int(row["pain_responder"])
    summaries = []
    for visit in policy.visits:
        s = sums[visit.key]
        lost = s.closed - s.measured_closed
        summaries.append(
            VisitSummary(
                key=visit.key,
                label=visit.label,
                due=s.opened,
                measured=s.measured,
                lost=lost,
                vas_change=s.mean("vas"),
                odi_change=s.mean("odi"),
                pain_responders=s.rate("pain_responder"),
                any_pain_reduction=s.rate("any_pain_reduction"),
                odi_responders=s.rate("odi_responder"),
                substantial_pain=s.rate("substantial_pain"),
                pain_mcid=s.rate("pain_mcid"),
                odi_mcid=s.rate("odi_mcid"),
                closed=s.closed,
                loss=loss_bounds(s.closed_yes, s.measured_closed, lost),
                composite=s.composite_summary() if visit.key in trial_visits else None,
            )
        )
    target_pct = policy.completion_target_pct
    completion = [
        VisitCompletionLine(
            visit.label,
            tally(
                sums[visit.key].completion_due,
                sums[visit.key].measured,
                0,
                target_pct,
                visit.key == TARGET_VISIT,
            ),
        )
        for visit in policy.visits
    ]
    target = next((v for v in policy.visits if v.key == TARGET_VISIT), None)
    target_sums = sums[target.key] if target else _Sums()
    return Report(
        summaries=summaries,
        comparisons=selectors.evidence_comparisons(summaries),
        tiers=[(t, wilson_interval(tiers[t][1], tiers[t][0])) for t in TIER_ORDER],
        trend=trend_test([(tiers[t][1], tiers[t][0]) for t in TIER_ORDER]),
        judged_visit=next(v.label for v in policy.visits if v.key == judged),
        patients=len(patients),
        policies=sorted((name, len(who)) for name, who in policies.items()),
        first=first,
        last=last,
        completion=completion,
        completion_target=target_text(target_pct),
        completion_sentence=completion_sentence(
            target.label, target_sums.measured, target_sums.completion_due, target_pct
        )
        if target
        else "",
        completion_warning=completion_warning(
            target.label, target_sums.measured, target_sums.completion_due, target_pct
        )
        if target
        else None,
    )


def deidentified_rows(today: date) -> Iterable[dict[str, Any]]:
    for row in exports.deidentified(selectors.cohort_rows(today)):
        row.pop("patient_id", None)
        yield row


def report_pdf(today: date, policy: Policy, printed_at: datetime) -> bytes:
    from spinepath.plans.pdf import FONT_FAMILY, html_to_pdf

    report = report_from_rows(deidentified_rows(today), policy)
    if report.last is not None and report.last > today:  # a date shifted past today
        report = replace(report, last=today)
    html = render_to_string(
        "outcomes/report.html",
        {
            "r": report,
            "clinic_name": settings.SPINEPATH_CLINIC_NAME,
            "printed_at": printed_at,
            "font_family": FONT_FAMILY,
            "trajectory": _image(charts.trajectory_svg(report.summaries)),
            "responders": _image(charts.responder_svg(report.summaries)),
            "definitions": RESPONDER_DEFINITIONS,
            "pain_rule": pain_responder_text(policy),
            "odi_rule": odi_responder_text(policy),
            "composite_rule": composite_text(policy),
            "follow_up_warning": FOLLOW_UP_WARNING,
            "max_shift": exports.MAX_SHIFT_DAYS,
            "policy": policy,
            "safety": safety_rates.safety_figures(),
        },
    )
    return bytes(html_to_pdf(html))


def _image(svg: str) -> str:
    """A chart as an image inside the document (WeasyPrint draws SVG images, styles and all)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
