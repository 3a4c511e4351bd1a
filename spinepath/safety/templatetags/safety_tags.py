from __future__ import annotations

from datetime import date

from django import template

from spinepath.pathway.safety import ReportingClock, criteria_text

register = template.Library()


@register.filter
def clock_text(clock: ReportingClock | None, today: date) -> str:
    """A reporting clock in words on ``today``: days left, due, overdue, or filed."""
    return clock.text(today) if clock is not None else ""


@register.filter
def clock_state(clock: ReportingClock | None, today: date) -> str:
    return clock.state(today) if clock is not None else ""


@register.filter
def criteria(chosen: list[str]) -> str:
    """The ICH E2A criteria an event meets, in words."""
    return criteria_text(chosen)
