"""Reads of the safety records: the answers awaiting review, events with their versions, the
reporting clocks, and the re-interventions at a treated level (PATHWAY.md section 10)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from spinepath.consultations.models import PriorProcedure
from spinepath.pathway.policy import Policy
from spinepath.pathway.safety import (
    QUESTION_BY_KEY,
    EventFacts,
    ReportingClock,
    reporting_clock,
)
from spinepath.pathway.safety_outcomes import (
    PRIOR_PROCEDURE_KINDS,
    LaterIntervention,
    TreatedSite,
    first_reintervention,
    reintervention_at_treated_level,
)
from spinepath.patients.models import Patient
from spinepath.plans.models import Procedure
from spinepath.safety.models import (
    AdverseEvent,
    EventFiling,
    EventVersion,
    Reintervention,
    SafetyReport,
)


def open_reviews() -> QuerySet[SafetyReport]:
    """Worrying answers no clinician has reviewed yet: the most urgent first, then the oldest."""
    return (
        SafetyReport.objects.filter(worrying=True, reviewed_at__isnull=True)
        .select_related("patient")
        .order_by("urgency", "created_at", "id")  # "emergency" sorts before "today"
    )


def open_review_count() -> int:
    """The count on every staff page's menu, in SQL of its own (the ORM's query costs ten times
    the count itself); the same rows as ``open_reviews()``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {SafetyReport._meta.db_table} "
            "WHERE worrying AND reviewed_at IS NULL"
        )
        return int(cursor.fetchone()[0])


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


def _events(*, with_patient: bool = True) -> QuerySet[AdverseEvent]:
    related = ["procedure", "procedure__lot__product", "created_by", "in_error_by"]
    return AdverseEvent.objects.select_related(
        *(["patient"] if with_patient else []), *related
    ).prefetch_related(
        Prefetch(
            "versions",
            queryset=EventVersion.objects.order_by("-number").select_related("recorded_by"),
        ),
        Prefetch("filings", queryset=EventFiling.objects.order_by("filed_on", "id")),
    )


def patient_events(patient: Patient, policy: Policy) -> list[EventRow]:
    events = list(_events(with_patient=False).filter(patient=patient))
    for event in events:
        event.patient = patient  # the caller's: not read again with each event
    return _rows(events, policy)


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


# --- Re-interventions at a treated level ------------------------------------------------------


def site_of(procedure: Procedure) -> TreatedSite:
    """An injection as a treated site: where, when, and its course (the candidacy decision its
    plan was written from, whatever the plan's version)."""
    return TreatedSite(
        procedure.generator,
        procedure.level or None,
        procedure.side or None,
        procedure.performed_on,
        procedure.plan.decision_id,
    )


def _recorded(values: dict[str, Any]) -> LaterIntervention:
    """A re-intervention record as a later intervention: at the level it names, or (for a
    treated structure without a level) at that structure."""
    return LaterIntervention(
        values["kind"],
        values["performed_on"],
        frozenset({values["level"]}) if values["level"] else frozenset(),
        values["side"] or None,
        values["procedure__generator"],
    )


def _clinic_injection(values: dict[str, Any]) -> LaterIntervention:
    return LaterIntervention(
        "injection",
        values["performed_on"],
        frozenset({values["level"]}) if values["level"] else frozenset(),
        values["side"] or None,
        values["generator"],
        values["plan__decision_id"],
    )


def _earlier_procedure(values: dict[str, Any]) -> LaterIntervention:
    """A spine procedure a consultation lists (consultations.PriorProcedure)."""
    levels = values["levels"] if isinstance(values["levels"], list) else []
    return LaterIntervention(
        PRIOR_PROCEDURE_KINDS.get(values["kind"], "other"),
        values["performed_on"],
        frozenset(str(level) for level in levels),
    )


RECORD_FIELDS = ("patient_id", "kind", "performed_on", "level", "side", "procedure__generator")
INJECTION_FIELDS = (
    "patient_id",
    "performed_on",
    "level",
    "side",
    "generator",
    "plan__decision_id",
)
EARLIER_FIELDS = ("patient_id", "kind", "performed_on", "levels")


def later_interventions() -> dict[int, list[LaterIntervention]]:
    """Every patient who may have been re-intervened, with the interventions that may count:
    re-interventions recorded (not in error), the clinic's injections of another course (a
    later candidacy decision) after an earlier one, and spine procedures a consultation lists
    after an injection. Three queries, whatever the cohort; which of them count is the pure
    rule's to say."""
    injected_before = Procedure.objects.not_voided().filter(
        patient=OuterRef("patient"), performed_on__lt=OuterRef("performed_on")
    )
    found: dict[int, list[LaterIntervention]] = {}
    records = Reintervention.objects.filter(in_error_at__isnull=True).values(*RECORD_FIELDS)
    for values in records.order_by().iterator(chunk_size=2000):
        found.setdefault(values["patient_id"], []).append(_recorded(values))
    repeats = (
        Procedure.objects.not_voided()
        .filter(Exists(injected_before.exclude(plan__decision=OuterRef("plan__decision"))))
        .values(*INJECTION_FIELDS)
    )
    for values in repeats.order_by().iterator(chunk_size=2000):
        found.setdefault(values["patient_id"], []).append(_clinic_injection(values))
    listed = PriorProcedure.objects.filter(Exists(injected_before)).values(*EARLIER_FIELDS)
    for values in listed.order_by().iterator(chunk_size=2000):
        found.setdefault(values["patient_id"], []).append(_earlier_procedure(values))
    return found


def course_sites(patient_ids: Iterable[int]) -> dict[int, tuple[int, list[TreatedSite]]]:
    """By course (plan) of these patients: the patient, and the treated sites (its injections
    that stand). One query."""
    courses: dict[int, tuple[int, list[TreatedSite]]] = {}
    injections = (
        Procedure.objects.not_voided()
        .filter(patient_id__in=list(patient_ids))
        .values(
            "patient_id",
            "plan_id",
            "plan__decision_id",
            "generator",
            "level",
            "side",
            "performed_on",
        )
        .order_by()
    )
    for values in injections.iterator(chunk_size=2000):
        courses.setdefault(values["plan_id"], (values["patient_id"], []))[1].append(
            TreatedSite(
                values["generator"],
                values["level"] or None,
                values["side"] or None,
                values["performed_on"],
                values["plan__decision_id"],
            )
        )
    return courses


def first_reinterventions() -> dict[int, date]:
    """By course (plan): the day of its first re-intervention at a treated level, for the
    courses that had one. Four queries, whatever the cohort: only the patients who may have
    been re-intervened (few) are read further."""
    later = later_interventions()
    if not later:
        return {}
    firsts: dict[int, date] = {}
    for plan_id, (patient_id, sites) in course_sites(later).items():
        first = first_reintervention(sites, later.get(patient_id, []))
        if first is not None:
            firsts[plan_id] = first.performed_on
    return firsts


@dataclass(frozen=True)
class ReinterventionRow:
    """A re-intervention as the chart lists it, from whichever record it comes."""

    performed_on: date
    what: str
    where: str
    source: str
    description: str
    after: str  # the treated injection it follows
    record: Reintervention | None = None


def _where(level: str | None, side: str | None) -> str:
    return " ".join(part for part in (level, side) if part) or "-"


def patient_reinterventions(
    patient: Patient, earlier_procedures: list[PriorProcedure] | None = None
) -> list[ReinterventionRow]:
    """A patient's re-interventions at a treated level, newest first: those recorded (also
    those entered in error, marked), and those found from the clinic's own later injections
    and the spine procedures a consultation lists (``earlier_procedures``: those, when the
    caller read them in the same request)."""
    injections = list(Procedure.objects.not_voided().filter(patient=patient).select_related("plan"))
    sites = [(site_of(p), p) for p in injections]
    rows = [
        ReinterventionRow(
            r.performed_on,
            r.get_kind_display(),
            _where(r.level, r.side),
            r.get_source_display(),
            r.description,
            f"the injection of {r.procedure.performed_on}",
            r,
        )
        for r in Reintervention.objects.filter(patient=patient).select_related(
            "procedure", "recorded_by", "in_error_by"
        )
    ]

    def first_site(later: LaterIntervention) -> Procedure | None:
        return next((p for site, p in sites if reintervention_at_treated_level(site, later)), None)

    for procedure in injections:
        later = _clinic_injection(
            {
                "performed_on": procedure.performed_on,
                "level": procedure.level,
                "side": procedure.side,
                "generator": procedure.generator,
                "plan__decision_id": procedure.plan.decision_id,
            }
        )
        treated = first_site(later)
        if treated is not None:
            rows.append(
                ReinterventionRow(
                    procedure.performed_on,
                    f"Injection here ({procedure.get_material_display()})",
                    _where(procedure.level, procedure.side),
                    "The clinic's procedure record",
                    "",
                    f"the injection of {treated.performed_on}",
                )
            )
    if earlier_procedures is None:
        earlier_procedures = list(PriorProcedure.objects.filter(patient=patient))
    for earlier in earlier_procedures:
        later = _earlier_procedure(
            {"kind": earlier.kind, "performed_on": earlier.performed_on, "levels": earlier.levels}
        )
        treated = first_site(later)
        if treated is not None:
            rows.append(
                ReinterventionRow(
                    earlier.performed_on,
                    earlier.get_kind_display(),
                    ", ".join(sorted(later.levels)) or "-",
                    "A consultation's earlier spine procedures",
                    "",
                    f"the injection of {treated.performed_on}",
                )
            )
    return sorted(rows, key=lambda row: row.performed_on, reverse=True)
