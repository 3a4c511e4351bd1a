"""Reassessment visits after the last injection: due dates and windows (PATHWAY.md section 5).

A reassessment counts in the clinic's outcomes only when measured inside its window
(PATHWAY.md section 7): a link is issued only for a window it can reach, a patient answers only
inside it, and what staff enter outside it is kept, flagged and left out of the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from spinepath.pathway.dates import add_months
from spinepath.pathway.policy import Policy, VisitWindow


def _day(day: date) -> str:
    return f"{day:%d %B %Y}".lstrip("0")


@dataclass(frozen=True, slots=True)
class Window:
    """The days a measurement counts for a visit, both ends included."""

    opens: date
    closes: date

    def contains(self, day: date) -> bool:
        return self.opens <= day <= self.closes

    def nearest_day(self, day: date) -> date:
        """``day`` itself when inside, else the window's nearest end (the paper form's default
        date: today in the window, or the day the answers would still have counted)."""
        return min(max(day, self.opens), self.closes)

    @property
    def text(self) -> str:
        return f"{_day(self.opens)} to {_day(self.closes)}"


def link_window_problem(window: Window, label: str, today: date, link_days: int) -> str | None:
    """Why no questionnaire link may be issued today for the ``label`` visit; None when the
    window is open or opens within the link's lifetime of ``link_days``."""
    if today > window.closes:
        return (
            f"The {label} window closed on {_day(window.closes)} (it was open {window.text}): "
            "answers given now would not count. Enter a paper form if the patient answered."
        )
    if window.opens > today + timedelta(days=link_days):
        return (
            f"The {label} window opens on {_day(window.opens)} ({window.text}) and a link "
            f"lasts {link_days} days: send it from "
            f"{_day(window.opens - timedelta(days=link_days))}."
        )
    return None


def answer_window_problem(window: Window, day: date) -> str | None:
    """Why a patient cannot answer on ``day``, in words for the patient; None inside the window."""
    if day < window.opens:
        return (
            f"This check-in opens on {_day(window.opens)}. Please come back between "
            f"{_day(window.opens)} and {_day(window.closes)}: answers count only then. "
            "Nothing was saved."
        )
    if day > window.closes:
        return (
            f"This check-in closed on {_day(window.closes)} (it was open {window.text}). "
            "Nothing was saved; the clinic will be in touch."
        )
    return None


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    key: str
    label: str
    due: date
    opens: date
    closes: date
    optional: bool

    @property
    def window(self) -> Window:
        return Window(self.opens, self.closes)

    def contains(self, day: date) -> bool:
        return self.window.contains(day)


def due_date(injected_on: date, visit: VisitWindow) -> date:
    return add_months(injected_on, visit.after_months) + timedelta(weeks=visit.after_weeks)


def reassessment_schedule(
    injected_on: date, policy: Policy, include_optional: bool = True
) -> tuple[ScheduledVisit, ...]:
    visits = []
    for visit in policy.visits:
        if visit.optional and not include_optional:
            continue
        due = due_date(injected_on, visit)
        visits.append(
            ScheduledVisit(
                key=visit.key,
                label=visit.label,
                due=due,
                opens=due - timedelta(days=visit.opens_days_before),
                closes=due + timedelta(days=visit.closes_days_after),
                optional=visit.optional,
            )
        )
    return tuple(visits)


def visit_for(day: date, injected_on: date, policy: Policy) -> ScheduledVisit | None:
    """The visit a measurement on ``day`` counts for: inside its window, the nearest due date
    winning if a clinic's windows overlap."""
    inside = [v for v in reassessment_schedule(injected_on, policy) if v.contains(day)]
    if not inside:
        return None
    return min(inside, key=lambda v: abs((v.due - day).days))
