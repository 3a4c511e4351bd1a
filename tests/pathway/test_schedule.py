"""Reassessment visits after the last injection, and which visit a measurement belongs to."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from spinepath.pathway.dates import add_months
from spinepath.pathway.policy import Policy
from spinepath.pathway.schedule import (
    Window,
    answer_window_problem,
    link_window_problem,
    reassessment_schedule,
    visit_for,
)

POLICY = Policy()


def test_schedule_has_the_pathway_visits() -> None:
    visits = reassessment_schedule(date(2026, 3, 10), POLICY)
    assert [v.key for v in visits] == ["6w", "3m", "6m", "12m", "24m"]
    assert [v.due for v in visits] == [
        date(2026, 4, 21),
        date(2026, 6, 10),
        date(2026, 9, 10),
        date(2027, 3, 10),
        date(2028, 3, 10),
    ]
    # 24 months is standard since policy 2.2 (the ICHOM low back pain set measures there).
    assert not any(v.optional for v in visits)


def test_schedule_without_the_optional_visit() -> None:
    """A clinic's own policy may still make a visit optional."""
    policy = replace(
        POLICY, visits=tuple(replace(v, optional=v.key == "24m") for v in POLICY.visits)
    )
    assert [v.key for v in reassessment_schedule(date(2026, 3, 10), policy)][-1] == "24m"
    visits = reassessment_schedule(date(2026, 3, 10), policy, include_optional=False)
    assert [v.key for v in visits] == ["6w", "3m", "6m", "12m"]


def test_month_end_injection_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    three_months = reassessment_schedule(date(2025, 11, 30), POLICY)[1]
    assert three_months.due == date(2026, 2, 28)


def test_windows_surround_the_due_date() -> None:
    six_weeks = reassessment_schedule(date(2026, 3, 10), POLICY)[0]
    assert (six_weeks.opens, six_weeks.closes) == (date(2026, 4, 7), date(2026, 5, 5))


def test_measurement_inside_a_window_belongs_to_that_visit() -> None:
    visit = visit_for(date(2026, 9, 1), date(2026, 3, 10), POLICY)
    assert visit is not None and visit.key == "6m"


def test_measurement_between_windows_belongs_to_no_visit() -> None:
    assert visit_for(date(2026, 5, 15), date(2026, 3, 10), POLICY) is None


# --- A reassessment counts only inside its window (PATHWAY.md section 7) ---------------------

TWELVE_MONTHS = Window(date(2027, 1, 27), date(2027, 5, 9))


def test_a_link_for_an_open_window_is_issued() -> None:
    assert link_window_problem(TWELVE_MONTHS, "12 months", date(2027, 3, 1), 14) is None


def test_a_link_for_a_window_that_opens_within_its_lifetime_is_issued() -> None:
    assert link_window_problem(TWELVE_MONTHS, "12 months", date(2027, 1, 13), 14) is None


def test_a_link_for_a_window_that_opens_after_it_expires_is_refused_with_the_dates() -> None:
    found = link_window_problem(TWELVE_MONTHS, "12 months", date(2026, 11, 24), 14)
    assert found is not None
    assert "opens on 27 January 2027 (27 January 2027 to 9 May 2027)" in found
    assert "send it from 13 January 2027" in found


def test_a_link_for_a_closed_window_is_refused_with_the_dates() -> None:
    found = link_window_problem(TWELVE_MONTHS, "12 months", date(2027, 5, 10), 14)
    assert found is not None and "closed on 9 May 2027" in found


def test_a_patient_answers_only_inside_the_window() -> None:
    assert answer_window_problem(TWELVE_MONTHS, date(2027, 1, 27)) is None
    assert answer_window_problem(TWELVE_MONTHS, date(2027, 5, 9)) is None
    early = answer_window_problem(TWELVE_MONTHS, date(2026, 11, 24))
    assert early is not None and "opens on 27 January 2027" in early
    late = answer_window_problem(TWELVE_MONTHS, date(2027, 5, 10))
    assert late is not None and "closed on 9 May 2027" in late


def test_the_paper_form_date_defaults_into_the_window() -> None:
    assert TWELVE_MONTHS.nearest_day(date(2027, 3, 1)) == date(2027, 3, 1)
    assert TWELVE_MONTHS.nearest_day(date(2027, 6, 1)) == date(2027, 5, 9)
    assert TWELVE_MONTHS.nearest_day(date(2026, 12, 1)) == date(2027, 1, 27)
