"""Follow-up reads: visit states, the worklist, a visit's scores against baseline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone

from spinepath.consultations.models import Encounter
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
from spinepath.pathway.completion import reached_on, step_that_got_the_answer
from spinepath.pathway.instruments import (
    OdiScore,
    PainScore,
    Response,
    choose_baseline,
    classify_response,
    odi_responder_text,
    odi_score,
    pain_responder_text,
)
from spinepath.pathway.policy import Policy
from spinepath.plans.models import Procedure
from spinepath.web.policy import clinic_policy

STATE_LABELS = {
    "upcoming": "Upcoming",
    "due": "Due",
    "overdue": "Overdue",
    "missed": "Missed",
    "done": "Done",
}


def visit_state(visit: ReassessmentVisit, today: date, measured: bool) -> str:
    """upcoming (window not open), due (open, up to the due date), overdue (past the due date,
    window still open), missed (window closed, nothing measured), done (measured)."""
    if measured:
        return "done"
    if today < visit.opens:
        return "upcoming"
    if today > visit.closes:
        return "missed"
    return "due" if today <= visit.due else "overdue"


STATE_FILTERS = {
    "due": lambda t: Q(opens__lte=t, due__gte=t, measurement__isnull=True),
    "overdue": lambda t: Q(due__lt=t, closes__gte=t, measurement__isnull=True),
    "missed": lambda t: Q(closes__lt=t, measurement__isnull=True),
    "upcoming": lambda t: Q(opens__gt=t),
    "done": lambda t: Q(measurement__isnull=False),
}
SORTS = {"due": ("due", "id"), "-due": ("-due", "-id"), "patient": ("patient__family_key", "due")}


def window_spans(today: date) -> tuple[int, int]:
    """How many days the widest window opens before its due date and closes after it: of the
    policy in force (visits scheduled today) and of every visit stored, read from two indexes
    at each call (migration 0009), so a window widened a moment ago counts. A visit open today
    is due within these spans of today."""
    from django.db import connection

    table = ReassessmentVisit._meta.db_table
    if connection.vendor == "sqlite":
        spans = ("julianday(due) - julianday(opens)", "julianday(closes) - julianday(due)")
    else:
        spans = ("due - opens", "closes - due")
    found = []
    with connection.cursor() as cursor:
        for span in spans:  # one maximum per query: each is read from its index's last entry
            cursor.execute(f"SELECT MAX({span}) FROM {table}")
            found.append(int(cursor.fetchone()[0] or 0))
    before, after = found
    policy = clinic_policy()
    return (
        max([before, *(v.opens_days_before for v in policy.visits)]),
        max([after, *(v.closes_days_after for v in policy.visits)]),
    )


def worklist(
    today: date, state: str = "open", sort: str = "due", patient_id: int | None = None
) -> QuerySet[ReassessmentVisit]:
    # Visits of a course of injections (a voided course's visits belong to none).
    visits = (
        ReassessmentVisit.objects.filter(injected_on__isnull=False)
        .select_related("patient")
        .prefetch_related("measurement")
    )
    if state in ("open", "due", "overdue"):
        # A window open today belongs to a visit due near today: the bound (true of every
        # such visit) lets the database read only those, in due order, from its index.
        before, after = window_spans(today)
        visits = visits.filter(
            due__gte=today - timedelta(days=after), due__lte=today + timedelta(days=before)
        )
    if state == "open":
        visits = visits.filter(STATE_FILTERS["due"](today) | STATE_FILTERS["overdue"](today))
    elif state in STATE_FILTERS:
        visits = visits.filter(STATE_FILTERS[state](today))
    if patient_id is not None:
        visits = visits.filter(patient_id=patient_id)
    return visits.order_by(*SORTS.get(sort, SORTS["due"]))


def worklist_page(
    today: date,
    state: str,
    sort: str,
    patient_id: int | None,
    number: Any,
    per_page: int,
    versions: str = "",
) -> tuple[Page[int], list[ReassessmentVisit]]:
    """One page of the worklist: the page (its number, count and neighbours) and its visits.

    Finding a page's visits among hundreds of thousands takes tens of milliseconds; its count
    more. Both are kept in the cache per change of the visits and per day (a page's ids, then
    those fifty visits read by primary key), so a coordinator paging through, or the whole
    team opening the list, does not count and sort the visits again."""
    from spinepath.followup.cache import versioned

    visits = worklist(today, state, sort, patient_id)
    # ``versions``: the versions of the visits' tables the caller read (a change the signals
    # do not hear, such as SQL typed by hand, gives new keys too).
    scope = f"{state}:{sort}:{patient_id or ''}:{versions}"
    count = versioned(f"worklist-count:{scope}", today, visits.count)
    page = Paginator(range(count), per_page).get_page(number)
    start = (page.number - 1) * per_page
    ids = versioned(
        f"worklist-ids:{scope}:{page.number}",
        today,
        lambda: list(visits.values_list("id", flat=True)[start : start + per_page]),
    )
    by_id = {
        v.pk: v
        for v in ReassessmentVisit.objects.select_related("patient")
        .prefetch_related("measurement")
        .filter(pk__in=ids)
    }
    return page, [by_id[pk] for pk in ids if pk in by_id]


def _has_measurement(visit: ReassessmentVisit) -> bool:
    try:
        return visit.measurement is not None
    except OutcomeMeasurement.DoesNotExist:
        return False


def visit_rows(visits: Any, today: date) -> list[tuple[ReassessmentVisit, str]]:
    return [(v, visit_state(v, today, _has_measurement(v))) for v in visits]


@dataclass(frozen=True)
class Baseline:
    measured_on: date
    pain: PainScore | None
    odi: OdiScore | None


def baseline_for(patient_id: int, first_injection: date) -> Baseline | None:
    """The last measurement on or before the first injection, within the policy's days:
    from a consultation or a baseline questionnaire."""
    from spinepath.pathway.instruments import pain_from_vas

    policy = clinic_policy()
    # Only the three columns a baseline is made of (saving an answer reads them: the rows'
    # other columns cost more to read than the query itself).
    consultations = [
        row
        for row in Encounter.objects.filter(
            patient_id=patient_id, assessed_on__lte=first_injection
        ).values_list("assessed_on", "pain_vas", "odi_sections")
        if row[1] is not None or row[2] is not None  # a consultation that measured nothing
    ]
    questionnaires = OutcomeMeasurement.objects.filter(
        patient_id=patient_id, visit__isnull=True, measured_on__lte=first_injection
    ).values_list("measured_on", "pain_vas", "odi_sections")
    candidates = [
        (
            on,
            Baseline(
                on,
                pain_from_vas(pain_vas) if pain_vas is not None else None,
                odi_score(sections, policy) if sections else None,
            ),
        )
        for on, pain_vas, sections in [*consultations, *questionnaires]
    ]
    chosen = choose_baseline(candidates, first_injection, policy)
    return chosen[1] if chosen else None


def first_injection(plan_id: int) -> date | None:
    """The plan's first injection that stands (a voided entry is not one)."""
    return (
        Procedure.objects.not_voided()
        .filter(plan_id=plan_id)
        .order_by("performed_on")
        .values_list("performed_on", flat=True)
        .first()
    )


def response_at(visit: ReassessmentVisit) -> tuple[Baseline | None, Response | None]:
    start = first_injection(visit.plan_id)
    baseline = baseline_for(visit.patient_id, start) if start else None
    measurement = OutcomeMeasurement.objects.filter(visit=visit).first()
    if measurement is None or baseline is None:
        return baseline, None
    policy = clinic_policy()
    from spinepath.pathway.instruments import pain_from_vas

    follow_pain = pain_from_vas(measurement.pain_vas) if measurement.pain_vas is not None else None
    follow_odi = odi_score(measurement.odi_sections, policy) if measurement.odi_sections else None
    return baseline, classify_response(
        baseline.pain, follow_pain, baseline.odi, follow_odi, policy, visit.key
    )


def responder_rules(policy: Policy) -> str:
    """What makes a responder under ``policy``, in words (the rule itself is in instruments)."""
    return f"Responder: {pain_responder_text(policy)}; {odi_responder_text(policy)}."


# --- The reminder ladder's work for staff -----------------------------------------------------


def open_call(visit: ReassessmentVisit, today: date, measured: bool) -> ReminderStep | None:
    """The visit's call task still to make: a call step taken, no outcome, the visit open and
    unanswered (a closed window rolls into the next visit: its call is no longer made)."""
    if measured or not visit.opens <= today <= visit.closes or visit.reminders_stopped:
        return None
    return visit.steps.filter(
        channel=ReminderStep.CALL, status=ReminderStep.SENT, call_outcome=""
    ).first()


def calls_to_make(today: date) -> QuerySet[ReminderStep]:
    """Every open call task, oldest first: the coordinators' list."""
    return (
        ReminderStep.objects.filter(
            channel=ReminderStep.CALL,
            status=ReminderStep.SENT,
            call_outcome="",
            visit__opens__lte=today,
            visit__closes__gte=today,
            visit__measurement__isnull=True,
            visit__reminders_stopped="",
        )
        .select_related("visit", "visit__patient")
        .order_by("acted_on", "id")
    )


def letters_to_print(today: date) -> QuerySet[ReminderStep]:
    """Letters made by the ladder and not printed yet, for visits still open and unanswered."""
    return (
        ReminderStep.objects.filter(
            channel=ReminderStep.LETTER,
            status=ReminderStep.SENT,
            printed_at__isnull=True,
            visit__opens__lte=today,
            visit__closes__gte=today,
            visit__measurement__isnull=True,
            visit__reminders_stopped="",
        )
        .select_related("visit", "visit__patient")
        .order_by("acted_on", "id")
    )


def answered_after_step(visit: ReassessmentVisit, answered_on: date) -> str:
    """The reminder step that got answers given on ``answered_on`` (PATHWAY.md section 11;
    ``pathway.completion.step_that_got_the_answer``), "" if none had reached the patient: one
    query over the visit's own steps, when the answers are saved."""
    steps = [
        (
            step.step,
            reached_on(
                step.channel,
                step.status,
                step.acted_on,
                timezone.localdate(step.printed_at) if step.printed_at else None,
            ),
        )
        for step in ReminderStep.objects.filter(visit=visit).order_by("position", "id")
    ]
    return step_that_got_the_answer(steps, answered_on) or ""
