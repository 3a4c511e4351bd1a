"""Follow-up completion the clinic can see (PATHWAY.md section 11, issue 27): per visit and per
reminder step, which step got the answer, and who is being lost, against the target of 80% at
12 months - on its page, on the worklist's one line and in the outcomes report.

Seven patients, each with visits, answers and reminder steps on known days (the suite's day is
2026-11-24; six were injected 430 days before, so their 6-week to 12-month windows have closed,
and one 380 days before, whose 12-month window is still open):

=====  ===  ====  ===========  ======  =========================================================
who    sex  born  payer        km      at 12 months
=====  ===  ====  ===========  ======  =========================================================
amy    F    1981  self-pay     5       answered on day 1, before any reminder
ben    M    1950  Medicare     200     lost: emails, a text skipped, a call, a letter printed
cleo   F    1971  commercial   30      answered after the text (day 12)
dan    M    1961  self-pay     -       lost, no reminder
eve    F    1986  commercial   80      answered after the call (day 21), the second email
                                       failed, the letter printed after the answer (day 23)
fay    F    1975  self-pay     12      answered late, outside the window: lost (a PRP course
                                       at a facet joint)
gus    M    1980  self-pay     3       window still open, one email: in progress, not lost
=====  ===  ====  ===========  ======  =========================================================
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader
from shared_world import on_the_suite_day, shared_world
from treatment_helpers import accepted_plan_for, inject, reviewed_patient
from web_helpers import PASSWORD, acting, adopt_policy, signed_in

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
from spinepath.followup.services import Answers, paper_form_enter
from spinepath.pathway.completion import age_band, reached_on, step_that_got_the_answer
from spinepath.pathway.policy import Policy
from spinepath.patients.models import Patient
from spinepath.web.policy import clinic_policy, forget_policy

TODAY = date(2026, 11, 24)
ANSWERS = Answers(40, "vas", [2] * 10)
STEPS = {s.key: (i, s.channel) for i, s in enumerate(Policy().reminder_steps)}


@dataclass(frozen=True)
class World:
    clinician: Any
    coordinator: Any
    admin: Any
    patients: dict[str, Patient]


def _visit(patient: Patient, key: str) -> ReassessmentVisit:
    return ReassessmentVisit.objects.get(patient=patient, key=key)


def _answer(clinician: Any, patient: Patient, key: str, day: int) -> None:
    """Answers on paper dated ``day`` days after the window opened."""
    visit = _visit(patient, key)
    measured_on = visit.opens + timedelta(days=day)
    paper_form_enter(
        actor=acting(clinician),
        visit=visit,
        answers=ANSWERS,
        measured_on=measured_on,
        outside_window_confirmed=not visit.window.contains(measured_on),
    )


def _step(
    patient: Patient,
    key: str,
    step: str,
    day: int,
    status: str = "sent",
    printed: int | None = None,
) -> None:
    """A reminder step taken ``day`` days after the window opened (a letter printed on day
    ``printed``), as the ladder records it."""
    visit = _visit(patient, key)
    position, channel = STEPS[step]
    ReminderStep.objects.create(
        visit=visit,
        step=step,
        position=position,
        channel=channel,
        status=status,
        acted_on=visit.opens + timedelta(days=day),
        printed_at=None
        if printed is None
        else timezone.make_aware(datetime.combine(visit.opens + timedelta(days=printed), time(15))),
    )


def _course(
    clinician: Any, name: str, sex: str, born: date, payer: str, km: float | None, days_ago: int
) -> Patient:
    injected = TODAY - timedelta(days=days_ago)
    review = injected - timedelta(days=10)
    patient = reviewed_patient(clinician, review, f"completion-{name}")
    accepted_plan_for(patient, clinician, review)
    inject(patient, clinician, injected)
    Patient.objects.filter(pk=patient.pk).update(
        sex=sex, birth_date=born, payer=payer, distance_km=km
    )
    patient.refresh_from_db()
    return patient


def _build() -> World:
    system = Actor.system()
    clinician = staff_user_create(
        actor=system, username="completion.clin", password=PASSWORD, role="clinician"
    )
    coordinator = staff_user_create(
        actor=system, username="completion.coord", password=PASSWORD, role="coordinator"
    )
    admin = staff_user_create(
        actor=system, username="completion.admin", password=PASSWORD, role="clinic_admin"
    )
    c = clinician
    p = {
        "amy": _course(c, "amy", "female", date(1981, 6, 1), "self_pay", 5, 430),
        "ben": _course(c, "ben", "male", date(1950, 1, 10), "medicare_ab", 200, 430),
        "cleo": _course(c, "cleo", "female", date(1971, 3, 3), "commercial", 30, 430),
        "dan": _course(c, "dan", "male", date(1961, 12, 31), "self_pay", None, 430),
        # 40 on the 12-month due date (2026-09-20), 39 at six months.
        "eve": _course(c, "eve", "female", date(1986, 9, 20), "commercial", 80, 430),
        "fay": _course(c, "fay", "female", date(1975, 5, 5), "self_pay", 12, 430),
        "gus": _course(c, "gus", "male", date(1980, 2, 2), "self_pay", 3, 380),
    }
    # The grouping reads what each visit keeps of its course (as the dashboard filters it):
    # fay's course stands for a PRP injection at a facet joint.
    ReassessmentVisit.objects.filter(patient=p["fay"]).update(material="prp", generator="facet")

    # 6 weeks: amy and fay before any reminder, cleo and eve after the first email, ben after
    # the second; dan and gus lost.
    _answer(c, p["amy"], "6w", 3)
    _step(p["ben"], "6w", "email_1", 0)
    _step(p["ben"], "6w", "email_2", 5)
    _answer(c, p["ben"], "6w", 6)
    _step(p["cleo"], "6w", "email_1", 0)
    _answer(c, p["cleo"], "6w", 2)
    _step(p["eve"], "6w", "email_1", 0)
    _answer(c, p["eve"], "6w", 0)  # the same day
    _answer(c, p["fay"], "6w", 1)
    # 3 months: amy only, before any reminder.
    _answer(c, p["amy"], "3m", 0)
    # 6 months: amy after the letter (the text skipped: no number).
    _step(p["amy"], "6m", "email_1", 0)
    _step(p["amy"], "6m", "email_2", 5)
    _step(p["amy"], "6m", "text", 10, status="skipped")
    _step(p["amy"], "6m", "call", 14)
    _step(p["amy"], "6m", "letter", 18, printed=18)
    _answer(c, p["amy"], "6m", 25)
    # 12 months.
    _answer(c, p["amy"], "12m", 1)
    _step(p["ben"], "12m", "email_1", 0)
    _step(p["ben"], "12m", "email_2", 5)
    _step(p["ben"], "12m", "text", 10, status="skipped")
    _step(p["ben"], "12m", "call", 14)
    _step(p["ben"], "12m", "letter", 18, printed=20)
    _step(p["cleo"], "12m", "email_1", 0)
    _step(p["cleo"], "12m", "email_2", 5)
    _step(p["cleo"], "12m", "text", 10)
    _answer(c, p["cleo"], "12m", 12)
    _step(p["eve"], "12m", "email_1", 0)
    _step(p["eve"], "12m", "email_2", 5, status="failed")
    _step(p["eve"], "12m", "text", 10)
    _step(p["eve"], "12m", "call", 14)
    _step(p["eve"], "12m", "letter", 18, printed=23)
    _answer(c, p["eve"], "12m", 21)
    _step(p["fay"], "12m", "email_1", 0)
    fay = _visit(p["fay"], "12m")
    _answer(c, p["fay"], "12m", (fay.closes - fay.opens).days + 3)  # after it closed
    _step(p["gus"], "12m", "email_1", 0)
    return World(clinician, coordinator, admin, p)


@pytest.fixture(scope="module")
def world_for_the_module(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    with shared_world(django_db_blocker), on_the_suite_day():
        yield _build()


@pytest.fixture
def world(db: Any, world_for_the_module: World) -> Iterator[World]:
    yield world_for_the_module
    forget_policy()  # a test that adopted a policy leaves the clinic's file in force


def _text(html: bytes) -> str:
    """The page's words as a reader sees them: tags out, spaces folded."""
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())


def _row(text: str, start: str, end: str) -> str:
    """The words of ``text`` from ``start`` to ``end`` (one table row, one section)."""
    begin = text.index(start)
    return text[begin : text.index(end, begin + len(start))]


def test_the_page_is_for_who_reads_the_outcomes_and_is_audited(world: World) -> None:
    from spinepath.audit.models import AuditEvent

    assert signed_in(world.coordinator).get("/outcomes/completion/").status_code == 403
    assert signed_in(world.coordinator).get("/outcomes/").status_code == 403  # as before
    assert signed_in(world.admin).get("/outcomes/completion/").status_code == 200
    before = AuditEvent.objects.filter(what="follow-up completion (who is being lost)").count()
    assert signed_in(world.clinician).get("/outcomes/completion/").status_code == 200
    after = AuditEvent.objects.filter(what="follow-up completion (who is being lost)").count()
    assert after == before + 1
    dashboard = signed_in(world.clinician).get("/outcomes/").content.decode()
    assert 'href="/outcomes/completion/"' in dashboard


def test_each_visit_counts_the_due_the_answered_the_lost_and_the_still_open(
    world: World,
) -> None:
    text = _text(signed_in(world.clinician).get("/outcomes/completion/").content)
    table = _row(text, "Visit Due Answered in the window Completion Lost Still open", "Due:")
    # visit, due, answered, completion (exact interval), lost, still open
    assert "6 weeks 7 5 71% (29%-96%) 2 0" in table
    assert "3 months 7 1 14% (0.36%-58%) 6 0" in table
    assert "6 months 7 1 14% (0.36%-58%) 6 0" in table
    assert "12 months 6 3 50% (12%-88%) under the 80% target 3 1" in table
    assert "24 months 0 0 - 0 0" in table


def test_the_dashboard_counts_due_as_the_completion_page_does(world: World) -> None:
    """Due is one thing on every page: the window has closed, or the visit is answered (found
    by a walkthrough: the dashboard counted due dates, so a visit answered early was measured
    but not due, and measured plus lost was more than due)."""
    from spinepath.outcomes.completion import completion_counts
    from spinepath.outcomes.selectors import Filters, visit_summaries

    page = {v.key: v.tally for v in completion_counts(TODAY).completion(clinic_policy()).visits}
    for summary in visit_summaries(Filters(), TODAY):
        tally = page[summary.key]
        assert (summary.due, summary.measured, summary.lost) == (
            tally.due,
            tally.answered,
            tally.lost,
        ), summary.key
        assert summary.measured + summary.lost == summary.due
    # The 12-month visit answered before its due date is due, as on the completion page.
    twelve = next(s for s in visit_summaries(Filters(), TODAY) if s.key == "12m")
    assert twelve.due == 6


def test_which_reminder_got_the_answer(world: World) -> None:
    text = _text(signed_in(world.clinician).get("/outcomes/completion/").content)
    table = _row(text, "Which reminder got the answer", "Each answered visit counts once")
    assert (
        "Visit Before any reminder After the first email After the second email After the "
        "text message After the phone call After the letter by post Not answered (lost)"
    ) in table
    assert "6 weeks 2 (29%) 2 (29%) 1 (14%) 0 (0%) 0 (0%) 0 (0%) 2" in table
    assert "3 months 1 (14%) 0 (0%) 0 (0%) 0 (0%) 0 (0%) 0 (0%) 6" in table
    assert "6 months 0 (0%) 0 (0%) 0 (0%) 0 (0%) 0 (0%) 1 (14%) 6" in table
    assert "12 months 1 (17%) 0 (0%) 0 (0%) 1 (17%) 1 (17%) 0 (0%) 3" in table
    assert "24 months 0 (-) 0 (-) 0 (-) 0 (-) 0 (-) 0 (-) 0" in table


def test_who_is_being_lost(world: World) -> None:
    """Every group's completion at each visit (due, answered and the exact interval), flagged
    under 80% at 12 months; gus, still open at 12 months, counts in no 12-month cell."""
    text = _text(signed_in(world.clinician).get("/outcomes/completion/").content)
    flag = "under 80% at 12 months"
    none = "0% (0 of 1; 0%-95%)"
    one = "100% (1 of 1; 5.0%-100%)"
    two = "100% (2 of 2; 22%-100%)"
    half = "50% (1 of 2; 1.3%-99%)"
    no_two = "0% (0 of 2; 0%-78%)"
    expected = {
        "Age at the visit": [
            # eve: 39 at six months, 40 on her 12-month due date (2026-09-20).
            f"Under 40 {one} {none} {none} - -",
            f"40-49 {half} {half} {half} {two} -",
            f"50-59 {flag} {two} {no_two} {no_two} {half} -",
            f"60-69 {flag} {none} {none} {none} {none} -",
            f"70 and over {flag} {one} {none} {none} {none} -",
        ],
        "Sex": [
            f"Female {flag} 100% (4 of 4; 47%-100%) 25% (1 of 4; 0.63%-81%) "
            "25% (1 of 4; 0.63%-81%) 75% (3 of 4; 19%-99%) -",
            f"Male {flag} 33% (1 of 3; 0.84%-91%) 0% (0 of 3; 0%-63%) 0% (0 of 3; 0%-63%) "
            f"{no_two} -",
        ],
        "Payer": [
            f"Commercial insurance {two} {no_two} {no_two} {two} -",
            f"Medicare Parts A &amp; B {flag} {one} {none} {none} {none} -",
            f"Self-pay {flag} 50% (2 of 4; 6.8%-93%) 25% (1 of 4; 0.63%-81%) "
            "25% (1 of 4; 0.63%-81%) 33% (1 of 3; 0.84%-91%) -",
        ],
        "Distance from the clinic": [
            f"Under 10 km {half} {half} {half} {one} -",
            f"10-49 km {flag} {two} {no_two} {no_two} {half} -",
            f"50-149 km {one} {none} {none} {one} -",
            f"150 km or more {flag} {one} {none} {none} {none} -",
            f"Distance not known {flag} {none} {none} {none} {none} -",
        ],
        "Material injected": [
            f"MSC {flag} 67% (4 of 6; 22%-96%) 17% (1 of 6; 0.42%-64%) "
            "17% (1 of 6; 0.42%-64%) 60% (3 of 5; 15%-95%) -",
            f"PRP {flag} {one} {none} {none} {none} -",
        ],
        "Treatment (the pain generator treated)": [
            f"Disc {flag} 67% (4 of 6; 22%-96%) 17% (1 of 6; 0.42%-64%) "
            "17% (1 of 6; 0.42%-64%) 60% (3 of 5; 15%-95%) -",
            f"Facet joint {flag} {one} {none} {none} {none} -",
        ],
    }
    for title, rows in expected.items():
        head = f"{title} {title} 6 weeks 3 months 6 months 12 months 24 months "
        table = _row(text, head, "Each cell")
        shown = head + " ".join(rows)
        assert table.startswith(shown), title
        assert "%" not in table[len(shown) :], f"{title}: a row more"


def test_the_warning_under_the_target_and_none_at_or_over_it(world: World) -> None:
    client = signed_in(world.clinician)
    warning = (
        "12-month follow-up is 50% (target 80%): outcomes from fewer than 80% of patients may "
        "not represent all patients treated."
    )
    page = client.get("/outcomes/completion/").content.decode()
    assert f'<div class="banner warn" role="alert"><strong>{warning}</strong></div>' in page
    # At the target: a clinic aiming for 50%.
    adopt_policy('name = "lenient"\nversion = "1"\ncompletion_target_pct = 50\n', world.admin)
    page = client.get("/outcomes/completion/").content.decode()
    assert 'class="banner warn"' not in page and ">under the 50% target<" not in page
    assert "12-month follow-up is 50% (target 50%)." in page
    # Over it: dan's and ben's 12-month answers, entered from paper dated in their windows.
    adopt_policy('name = "strict"\nversion = "1"\n', world.admin)
    for name in ("dan", "ben"):
        _answer(world.clinician, world.patients[name], "12m", 30)
    page = client.get("/outcomes/completion/").content.decode()
    assert 'class="banner warn"' not in page
    assert "12-month follow-up is 83% (target 80%)." in page


def test_the_worklist_line_for_who_may_read_the_outcomes(world: World) -> None:
    """The worklist asks for its line once shown (htmx), so that counting never slows it."""
    line = (
        "12-month follow-up is 50% (target 80%). "
        '<span class="badge fail">Under target</span> '
        '<a href="/outcomes/completion/">Follow-up completion: who is being lost</a>'
    )
    for user in (world.clinician, world.admin):
        client = signed_in(user)
        worklist = client.get("/worklist/").content.decode()
        assert 'hx-get="/outcomes/completion/line/" hx-trigger="load"' in worklist
        assert 'href="/outcomes/completion/"' in worklist  # the link, before the line loads
        assert client.get("/outcomes/completion/line/").content.decode().strip() == line
    coordinator = signed_in(world.coordinator)
    worklist = coordinator.get("/worklist/")
    assert worklist.status_code == 200
    assert "/outcomes/completion/" not in worklist.content.decode()
    assert coordinator.get("/outcomes/completion/line/").status_code == 403


def test_a_new_answer_changes_the_cached_page(world: World) -> None:
    client = signed_in(world.clinician)

    def page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            text = _text(client.get("/outcomes/completion/").content)
        return text, len(queries)

    first, computed = page()
    again, cached = page()
    assert first == again and cached < computed  # the counts came from the cache
    # gus answers after his first email: in progress no more.
    _answer(world.clinician, world.patients["gus"], "12m", 40)
    text = page()[0]
    assert "12 months 7 4 57% (18%-90%) under the 80% target 3 0" in text
    assert "12 months 1 (14%) 1 (14%) 0 (0%) 1 (14%) 1 (14%) 0 (0%) 3" in text
    line = signed_in(world.admin).get("/outcomes/completion/line/").content.decode()
    assert line.startswith("12-month follow-up is 57% (target 80%).")


def test_the_counts_take_one_query_whatever_the_number_of_patients(world: World) -> None:
    from spinepath.outcomes.completion import completion_counts, target_counts

    with CaptureQueriesContext(connection) as queries:
        completion_counts(TODAY)
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        target_counts(TODAY)
    assert len(queries) == 1


def test_the_database_agrees_with_the_pure_rules(world: World) -> None:
    """The age bands as counted in SQL, and the steps that got the answers as kept with them,
    are those the pure rules give for each visit and its steps read one by one."""
    from spinepath.outcomes.completion import completion_counts

    counts = completion_counts(TODAY)
    expected_got: dict[tuple[str, str], int] = {}
    expected_age: dict[tuple[str, str], int] = {}
    for visit in ReassessmentVisit.objects.filter(opens__lte=TODAY).select_related("patient"):
        measurement = OutcomeMeasurement.objects.filter(visit=visit).first()
        inside = measurement is not None and not measurement.outside_window
        if not inside and visit.closes >= TODAY:
            continue
        band = age_band(visit.patient.birth_date, visit.due)
        expected_age[(visit.key, band)] = expected_age.get((visit.key, band), 0) + 1
        if not inside:
            continue
        steps = [
            (
                s.step,
                reached_on(
                    s.channel,
                    s.status,
                    s.acted_on,
                    timezone.localdate(s.printed_at) if s.printed_at else None,
                ),
            )
            for s in ReminderStep.objects.filter(visit=visit).order_by("position", "id")
        ]
        assert measurement is not None
        got = step_that_got_the_answer(steps, measurement.measured_on)
        assert measurement.answered_after_step == (got or "")
        if got is not None:
            expected_got[(visit.key, got)] = expected_got.get((visit.key, got), 0) + 1
    assert counts.got == expected_got
    by_age = {
        (visit, value): sum(
            n
            for (g, v, k, s), n in counts.groups.items()
            if (g, v, k) == ("age", value, visit) and s != "in_progress"
        )
        for (visit, value) in expected_age
    }
    assert by_age == expected_age


def test_the_report_states_the_completion_beside_the_bounds(world: World) -> None:
    from spinepath.outcomes.report import deidentified_rows, report_from_rows

    report = report_from_rows(deidentified_rows(TODAY), clinic_policy())
    from spinepath.outcomes.completion import completion_counts

    policy = clinic_policy()
    page = completion_counts(TODAY).completion(policy)
    assert [(c.tally.due, c.tally.answered) for c in report.completion] == [
        (v.tally.due, v.tally.answered) for v in page.visits
    ]
    response = signed_in(world.clinician).get("/outcomes/report.pdf")
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages).split()
    )
    assert (
        "12-month follow-up is 50% (target 80%): outcomes from fewer than 80% of patients may "
        "not represent all patients treated."
    ) in text
    bounds = _row(text, "Follow-up, and the patients we lost", "The trials' composite endpoint")
    assert "Completed" in bounds and "If the lost did not respond" in bounds
    assert "6 weeks 71% (5 of 7)" in bounds
    assert "12 months 50% (3 of 6) under 80%" in bounds
