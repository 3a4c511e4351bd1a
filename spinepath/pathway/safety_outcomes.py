"""Safety as an outcome (PATHWAY.md section 10): re-intervention at a treated level, and the
trial-style composite endpoint it makes fail.

Disc MSC trials score a composite at 12 and 24 months: pain reduced by at least 50% AND the ODI
improved by at least 15 points, with any further intervention at the treated level counted as a
failure. The thresholds are the clinic's policy (``composite_pain_min_pct``,
``composite_odi_min_points``). Pure: the chart, the dashboard, the exports and the report ask
these functions; the records they read are gathered by the safety and outcomes apps.

What counts as a re-intervention at a treated level (the choices, docs/pathway.md):

- a spine surgery or an injection (any needle procedure) dated *after* the treated injection;
  one on the same day is part of the same session;
- for a disc or facet target, at the treated level: the level is the motion segment, so a facet
  injection or a fusion at L4-L5 counts after a disc injection at L4-L5, whatever the side;
- for a target without a level (a ligament, the sacroiliac joint), an injection of the same
  structure on the same side (or either side unknown, or both sides); a surgery with levels
  only does not name that structure and does not count;
- an injection of the same course (given under the same candidacy decision, whatever the
  version of its plan) is the treatment itself, never a re-intervention; one under a later
  decision, after a new consultation, is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from spinepath.pathway.policy import Policy, VisitWindow

# The time points of the trials' composite endpoint, in months after the injection.
COMPOSITE_MONTHS = (12, 24)

INTERVENTION_KINDS: dict[str, str] = {
    "surgery": "spine surgery",
    "injection": "injection",
    "other": "other spine procedure",
}
# An earlier spine procedure as a consultation records it (consultations.PriorProcedure), read
# as a later intervention when it is dated after a treated injection.
PRIOR_PROCEDURE_KINDS: dict[str, str] = {
    "discectomy": "surgery",
    "fusion": "surgery",
    "laminectomy": "surgery",
    "disc_replacement": "surgery",
    "radiofrequency_ablation": "injection",
    "epidural_steroid": "injection",
    "facet_steroid": "injection",
    "regenerative_injection": "injection",
    "other": "other",
}
BOTH_SIDES = "bilateral"


@dataclass(frozen=True, slots=True)
class TreatedSite:
    """One injection of a course: where, and when."""

    generator: str
    level: str | None
    side: str | None
    injected_on: date
    course: int | None = None  # the candidacy decision its plan was written from


@dataclass(frozen=True, slots=True)
class LaterIntervention:
    """A spine surgery or injection, from whichever record: a re-intervention recorded or
    reported, the clinic's own later injection, an earlier procedure a consultation lists."""

    kind: str  # a key of INTERVENTION_KINDS
    performed_on: date
    levels: frozenset[str] = frozenset()
    side: str | None = None
    generator: str | None = None  # the structure injected, when known
    course: int | None = None  # a clinic injection's course (its plan's decision)


def _sides_meet(a: str | None, b: str | None) -> bool:
    return a is None or b is None or BOTH_SIDES in (a, b) or a == b


def reintervention_at_treated_level(site: TreatedSite, later: LaterIntervention) -> bool:
    """Whether ``later`` is a further intervention at the treated level of ``site`` (the
    rules in the module's docstring)."""
    if later.performed_on <= site.injected_on:
        return False
    if site.course is not None and later.course == site.course:
        return False
    if site.level:
        return site.level in later.levels
    return later.generator == site.generator and _sides_meet(site.side, later.side)


def first_reintervention(
    sites: Iterable[TreatedSite], interventions: Iterable[LaterIntervention]
) -> LaterIntervention | None:
    """The earliest intervention that is a re-intervention at one of the course's treated
    sites; None when there is none."""
    sites = tuple(sites)
    found = [
        later
        for later in interventions
        if any(reintervention_at_treated_level(site, later) for site in sites)
    ]
    return min(found, key=lambda later: later.performed_on, default=None)


def reintervention_problems(
    site: TreatedSite, *, kind: str, performed_on: date | None, level: str | None, today: date
) -> dict[str, str]:
    """Why a re-intervention may not be recorded against the treated injection ``site``, by
    form field: a record is always one at the treated level, so the level must be the one
    treated (none for a target without a level) and the date after the injection."""
    problems: dict[str, str] = {}
    if kind not in ("surgery", "injection"):
        problems["kind"] = "Choose a spine surgery or an injection."
    if performed_on is None:
        problems["performed_on"] = "Enter the date of the surgery or injection."
    elif performed_on > today:
        problems["performed_on"] = f"{performed_on} is in the future."
    elif performed_on <= site.injected_on:
        problems["performed_on"] = (
            f"{performed_on} is not after the injection of {site.injected_on}: a "
            "re-intervention comes after the treatment."
        )
    if site.level and level != site.level:
        problems["level"] = (
            f"The injection of {site.injected_on} treated {site.level}: a re-intervention "
            f"{'at ' + level if level else 'without a level'} is not at the treated level."
        )
    elif not site.level and level:
        problems["level"] = (
            f"The injection of {site.injected_on} has no level (it treated a structure, not a "
            "disc level): leave the level empty for a re-intervention at that structure."
        )
    return problems


# --- The composite endpoint -------------------------------------------------------------------


def composite_success(
    pain_change_pct: float | None,
    odi_change_points: float | None,
    reintervened_before_visit: bool,
    policy: Policy,
) -> bool | None:
    """The trials' composite at a visit: pain at least ``composite_pain_min_pct`` lower than
    baseline AND the ODI at least ``composite_odi_min_points`` lower, with no re-intervention
    at a treated level before the visit. Changes are as stored: negative is better.

    A re-intervention fails the composite whatever the measures say (even when one is
    missing); otherwise None when a measure is missing (no baseline, an ODI not scored)."""
    if reintervened_before_visit:
        return False
    if pain_change_pct is None or odi_change_points is None:
        return None
    return (
        pain_change_pct <= -policy.composite_pain_min_pct
        and odi_change_points <= -policy.composite_odi_min_points
    )


def composite_at_visit(
    pain_change_pct: float | None,
    odi_change_points: float | None,
    *,
    measured: bool,
    window_closed: bool,
    reintervened: bool,
    policy: Policy,
) -> bool | None:
    """The composite of one visit of one patient. ``measured``: answers inside the window;
    ``reintervened``: a re-intervention at a treated level on or before the answers (or, not
    measured, before the window closed).

    A patient re-intervened and not measured fails once the window has closed: the trials count
    the further intervention as the failure, so the patient is not lost to follow-up. Before
    the window closes nothing is counted yet (successes could not be either)."""
    if measured:
        return composite_success(pain_change_pct, odi_change_points, reintervened, policy)
    if reintervened and window_closed:
        return False
    return None


def reintervention_cutoff(measured_on: date | None, closes: date) -> date:
    """The last day a re-intervention counts for a visit: the day of the answers, else the
    last day of the window."""
    return measured_on if measured_on is not None else closes


def composite_visits(policy: Policy) -> tuple[VisitWindow, ...]:
    """The policy's visits at the trials' time points (12 and 24 months)."""
    return tuple(
        v for v in policy.visits if not v.after_weeks and v.after_months in COMPOSITE_MONTHS
    )


def composite_text(policy: Policy) -> str:
    return (
        f"pain at least {policy.composite_pain_min_pct:g}% lower and ODI at least "
        f"{policy.composite_odi_min_points:g} points lower than baseline, with no "
        "re-intervention at a treated level before the visit"
    )
