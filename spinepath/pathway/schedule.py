"""Reassessment visits after the last injection: due dates and windows (PATHWAY.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from spinepath.pathway.dates import add_months
from spinepath.pathway.policy import Policy, VisitWindow


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    key: str
    label: str
    due: date
    opens: date
    closes: date
    optional: bool

    def contains(self, day: date) -> bool:
        return self.opens <= day <= self.closes


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
