"""Reads of the safety records: the answers awaiting review, events with their versions, the
reporting clocks (PATHWAY.md section 10)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, QuerySet

from spinepath.pathway.policy import Policy
from spinepath.pathway.safety import (
    QUESTION_BY_KEY,
    EventFacts,
    ReportingClock,
    reporting_clock,
)
from spinepath.patients.models import Patient
from spinepath.safety.models import AdverseEvent, EventFiling, EventVersion, SafetyReport


def open_reviews() -> QuerySet[SafetyReport]:
    """Worrying answers no clinician has reviewed yet: the most urgent first, then the oldest."""
    return (
        SafetyReport.objects.filter(worrying=True, reviewed_at__isnull=True)
        .select_related("patient")
        .order_by("urgency", "created_at", "id")  # "emergency" sorts before "today"
    )


def open_review_count() -> int:
    return SafetyReport.objects.filter(worrying=True, reviewed_at__isnull=True).count()


def findings(report: SafetyReport) -> list[str]:
    """The worrying answers of a report, in staff words."""
    return [
        QUESTION_BY_KEY[k].short for k, v in report.answers.items() if v and k in QUESTION_BY_KEY
    ]


def facts_of(version: EventVersion) -> EventFacts:
    return EventFacts(
        term=version.term,
        onset_on=version.onset_on,
        grade=version.grade,
        serious_criteria=frozenset(version.serious_criteria),
        related_procedure=version.related_procedure,
        related_product=version.related_product,
        expected=version.expected,
        action=version.action,
        outcome=version.outcome,
        resolved_on=version.resolved_on,
    )


@dataclass(frozen=True)
class EventRow:
    """An event as lists show it: its latest version, the clock of a reportable reaction."""

    event: AdverseEvent
    current: EventVersion
    history: list[EventVersion]
    clock: ReportingClock | None
    filings: list[EventFiling]

    @property
    def facts(self) -> EventFacts:
        return facts_of(self.current)


def _rows(events: Iterable[AdverseEvent], policy: Policy) -> list[EventRow]:
    rows = []
    for event in events:
        history = list(event.versions.all())  # prefetched, newest first
        current = history[0]
        filings = list(event.filings.all())
        initial = next((f for f in filings if f.kind == EventFiling.INITIAL), None)
        clock = None
        if event.reportable_since is not None and not event.in_error:
            # None when a later version judged it no longer serious or related to the product.
            clock = reporting_clock(
                facts_of(current),
                aware_on=event.reportable_since,
                filed_on=initial.filed_on if initial else None,
                policy=policy,
            )
        rows.append(EventRow(event, current, history, clock, filings))
    return rows


def _events() -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.select_related(
        "patient", "procedure", "procedure__lot__product", "created_by", "in_error_by"
    ).prefetch_related(
        Prefetch(
            "versions",
            queryset=EventVersion.objects.order_by("-number").select_related("recorded_by"),
        ),
        Prefetch("filings", queryset=EventFiling.objects.order_by("filed_on", "id")),
    )


def patient_events(patient: Patient, policy: Policy) -> list[EventRow]:
    return _rows(_events().filter(patient=patient), policy)


def event_row(event_id: int, policy: Policy) -> EventRow | None:
    event = _events().filter(pk=event_id).first()
    return _rows([event], policy)[0] if event is not None else None


def recent_events(policy: Policy, limit: int = 200) -> list[EventRow]:
    return _rows(_events()[:limit], policy)


def clocks(policy: Policy, today: date) -> list[EventRow]:
    """Reportable reactions: those still to file first, the least time left first."""
    rows = _rows(_events().filter(reportable_since__isnull=False, in_error_at__isnull=True), policy)
    return sorted(
        (r for r in rows if r.clock is not None),
        key=lambda r: (r.clock.filed_on is not None, r.clock.due) if r.clock else (True, today),
    )


def patient_reports(patient: Patient) -> QuerySet[SafetyReport]:
    return SafetyReport.objects.filter(patient=patient).select_related("reviewed_by")


def reviews_to_show() -> list[tuple[SafetyReport, list[str]]]:
    """The answers awaiting review, each with its worrying answers in staff words: the block
    the worklist and the clinicians' day show until a clinician reviews them."""
    return [(report, findings(report)) for report in open_reviews()]
