"""Reassessment visits after the last injection, and which visit a measurement belongs to."""

from __future__ import annotations

from datetime import date

from spinepath.pathway.dates import add_months
from spinepath.pathway.policy import Policy
from spinepath.pathway.schedule import reassessment_schedule, visit_for

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
    assert visits[-1].optional and not visits[0].optional


def test_schedule_without_the_optional_visit() -> None:
    visits = reassessment_schedule(date(2026, 3, 10), POLICY, include_optional=False)
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
