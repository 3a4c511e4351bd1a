"""Follow-up that patients finish (PATHWAY.md section 11): the clinic's completion per visit
and per reminder step, and who is being lost, against its target at 12 months.

Registries lose a third to two-thirds of patients by one year, and those lost differ from those
who answer: outcomes from fewer than the target share of patients may not represent everyone
treated. What counts, in the clinic's words:

- a visit is **due** once its window has closed, or once it is answered: a visit whose window
  is still open and that is not answered yet is **in progress**, not lost;
- it is **answered** when its answers were given inside its window (answers kept outside it do
  not count in the outcomes, PATHWAY.md section 7), and **lost** when its window closed
  without them;
- the **step that got the answer** is the last reminder that reached the patient on or before
  the day they answered (:func:`spinepath.pathway.reminders.answered_after`): a message or a
  call task from the day it was sent, a letter two days after it was printed (the post); a
  step skipped, failed or never printed reached nobody;
- the **groups** (age at the visit's due date, sex, payer, distance from the clinic, material,
  treatment) show each visit's completion, and a group under the target at 12 months is
  flagged.

Pure: the follow-up app asks which step got the answers when it saves them and keeps it with
them; the outcomes app counts the visits in the database, hands the counts here and adds exact
intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from spinepath.pathway.policy import Policy
from spinepath.pathway.reminders import LETTER, SENT, Step, answered_after

# The visit the target is judged at: the trials and registries report one-year follow-up.
TARGET_VISIT = "12m"

NOT_RECORDED = "not recorded"

# Age at the visit's due date, youngest first: (from, up to but not including, words).
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 40, "under 40"),
    (40, 50, "40-49"),
    (50, 60, "50-59"),
    (60, 70, "60-69"),
)
OLDEST_BAND = "70 and over"

# Distance from the clinic (from the ZIP code's centre), nearest first: patients who travel far
# are the ones registries lose first.
DISTANCE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 10, "under 10 km"),
    (10, 50, "10-49 km"),
    (50, 150, "50-149 km"),
)
FARTHEST_BAND = "150 km or more"
DISTANCE_UNKNOWN = "distance not known"

# A visit's place in the completion counts.
ANSWERED = "answered"
LOST = "lost"
IN_PROGRESS = "in_progress"
STATES = (ANSWERED, LOST, IN_PROGRESS)

# The groupings of "who is being lost", in the order the page shows them.
AGE, SEX, PAYER, DISTANCE, MATERIAL, TREATMENT = (
    "age",
    "sex",
    "payer",
    "distance",
    "material",
    "treatment",
)
GROUPINGS: tuple[tuple[str, str], ...] = (
    (AGE, "Age at the visit"),
    (SEX, "Sex"),
    (PAYER, "Payer"),
    (DISTANCE, "Distance from the clinic"),
    (MATERIAL, "Material injected"),
    (TREATMENT, "Treatment (the pain generator treated)"),
)


def age_in_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band_of(age: int | None) -> str:
    if age is None:
        return NOT_RECORDED
    for _, high, words in AGE_BANDS:
        if age < high:
            return words
    return OLDEST_BAND


def age_band(born: date | None, on: date | None) -> str:
    """The age band of someone born on ``born``, on the day ``on``."""
    if born is None or on is None:
        return NOT_RECORDED
    return age_band_of(age_in_years(born, on))


def distance_band(km: float | None) -> str:
    if km is None:
        return DISTANCE_UNKNOWN
    for _, high, words in DISTANCE_BANDS:
        if km < high:
            return words
    return FARTHEST_BAND


BAND_ORDER: dict[str, int] = {
    words: i
    for i, words in enumerate(
        [w for *_, w in AGE_BANDS]
        + [OLDEST_BAND]
        + [w for *_, w in DISTANCE_BANDS]
        + [FARTHEST_BAND, DISTANCE_UNKNOWN]
    )
}


def visit_state(window_closed: bool, answered_inside: bool) -> str:
    """Where a visit whose window has opened counts: answered, lost, or still in progress."""
    if answered_inside:
        return ANSWERED
    return LOST if window_closed else IN_PROGRESS


# A printed letter reaches the patient this many days later (it is posted, then delivered).
LETTER_POST_DAYS = 2


def reached_on(channel: str, status: str, acted_on: date, printed_on: date | None) -> date | None:
    """The day a reminder step reached the patient, or None if it never did: a message or a
    call task from the day it was sent, a letter :data:`LETTER_POST_DAYS` after it was printed
    (an answer given the day it was printed came before it arrived)."""
    if status != SENT:
        return None  # skipped, failed, waiting to be tried again, or being sent
    if channel == LETTER:
        return printed_on + timedelta(days=LETTER_POST_DAYS) if printed_on else None
    return acted_on


def step_that_got_the_answer(
    steps: Sequence[tuple[str, date | None]], answered_on: date | None
) -> str | None:
    """Of a visit's steps in ladder order, each with the day it reached the patient (None: it
    never did), the one that got the answer; None: answered before any, or not answered."""
    return answered_after([(key, day) for key, day in steps if day is not None], answered_on)


# --- Words ------------------------------------------------------------------------------------

BEFORE_ANY = "before any reminder"
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def step_words(steps: Iterable[Step]) -> dict[str, str]:
    """Each step as "the second email", "the text message": an ordinal only where a channel
    comes more than once."""
    steps = tuple(steps)
    words: dict[str, str] = {}
    for step in steps:
        same = [s for s in steps if s.channel == step.channel]
        if len(same) > 1:
            place = same.index(step)
            ordinal = _ORDINALS[place] if place < len(_ORDINALS) else f"no. {place + 1}"
            words[step.key] = f"the {ordinal} {step.words}"
        else:
            words[step.key] = f"the {step.words}"
    return words


def percent_text(part: int, whole: int, target_pct: float | None = None) -> str:
    """``part`` of ``whole`` as a whole percent, never rounded to a figure it has not reached:
    79.6% under a target of 80 is "79.6%", 1 of 1,000 is "0.1%", 999 of 1,000 "99.9%"."""
    if whole <= 0:
        return "-"
    pct = 100 * part / whole
    shown = round(pct)
    misleading = (
        (part > 0 and shown == 0)
        or (part < whole and shown == 100)
        or (target_pct is not None and pct < target_pct <= shown)
    )
    if not misleading:
        return f"{shown}%"
    return f"{max(math.floor(pct * 10) / 10, 0.1):.1f}%"


def _adjective(label: str) -> str:
    """ "12 months" -> "12-month", "6 weeks" -> "6-week"."""
    number, _, unit = label.partition(" ")
    if number.isdigit() and unit.endswith("s") and " " not in unit:
        return f"{number}-{unit[:-1]}"
    return label


def target_text(target_pct: float) -> str:
    return f"{target_pct:g}%"


def completion_sentence(label: str, answered: int, due: int, target_pct: float) -> str:
    """ "12-month follow-up is 86% (target 80%)", or that none is due yet."""
    if due == 0:
        return f"No {_adjective(label)} visit is due yet (target {target_text(target_pct)})"
    share = percent_text(answered, due, target_pct)
    return f"{_adjective(label)} follow-up is {share} (target {target_text(target_pct)})"


def completion_warning(label: str, answered: int, due: int, target_pct: float) -> str | None:
    """The warning when fewer than the target share of a visit's due patients answered."""
    if due == 0 or 100 * answered / due >= target_pct:
        return None
    return (
        f"{completion_sentence(label, answered, due, target_pct)}: outcomes from fewer than "
        f"{target_text(target_pct)} of patients may not represent all patients treated"
    )


# --- Counts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """One visit's completion (for the whole clinic or a group): due, answered inside the
    window, and those whose window is still open and unanswered."""

    due: int
    answered: int
    in_progress: int = 0
    text: str = "-"  # the share as the page writes it
    below_target: bool = False  # only ever set at the target visit

    @property
    def lost(self) -> int:
        return self.due - self.answered

    @property
    def share(self) -> float | None:
        return self.answered / self.due if self.due else None


def tally(due: int, answered: int, in_progress: int, target_pct: float, at_target: bool) -> Tally:
    return Tally(
        due,
        answered,
        in_progress,
        percent_text(answered, due, target_pct if at_target else None),
        at_target and due > 0 and 100 * answered / due < target_pct,
    )


@dataclass(frozen=True, slots=True)
class StepCount:
    """One reminder step at one visit: the answers it got (it was the last to reach the
    patient before they answered), and their share of the visit's due visits."""

    key: str
    words: str
    answered_after: int
    due: int

    @property
    def share_of_due(self) -> str:
        return percent_text(self.answered_after, self.due)


@dataclass(frozen=True, slots=True)
class VisitCompletion:
    key: str
    label: str
    optional: bool
    tally: Tally
    before_any: int  # answered before any reminder reached them
    steps: tuple[StepCount, ...]
    # Answered after a step the policy no longer has (its ladder changed since).
    other_steps: int = 0

    @property
    def before_any_text(self) -> str:
        return percent_text(self.before_any, self.tally.due)


@dataclass(frozen=True, slots=True)
class GroupRow:
    value: str
    tallies: tuple[Tally, ...]  # in the order of the policy's visits

    @property
    def flagged(self) -> bool:
        return any(t.below_target for t in self.tallies)


@dataclass(frozen=True, slots=True)
class Grouping:
    key: str
    title: str
    rows: tuple[GroupRow, ...]


@dataclass(frozen=True, slots=True)
class Completion:
    visits: tuple[VisitCompletion, ...]
    groupings: tuple[Grouping, ...]
    target_pct: float
    target_visit: VisitCompletion | None
    sentence: str  # the target visit's completion against the target, in words
    warning: str | None  # when the target visit is under the target

    @property
    def target_text(self) -> str:
        return target_text(self.target_pct)


@dataclass
class CompletionCounts:
    """Counts added as the database groups them, then put in the policy's order by
    :meth:`completion`: ``add`` takes ``n`` visits of one visit key, state and group values;
    ``add_answered_after`` the answered visits a step got the answer of (the rest were answered
    before any reminder)."""

    states: dict[tuple[str, str], int] = field(default_factory=dict)
    got: dict[tuple[str, str], int] = field(default_factory=dict)
    groups: dict[tuple[str, str, str, str], int] = field(default_factory=dict)

    def add(self, visit: str, state: str, values: Mapping[str, str], n: int = 1) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        self.states[(visit, state)] = self.states.get((visit, state), 0) + n
        for grouping, _ in GROUPINGS:
            key = (grouping, values.get(grouping) or NOT_RECORDED, visit, state)
            self.groups[key] = self.groups.get(key, 0) + n

    def add_answered_after(self, visit: str, step: str, n: int = 1) -> None:
        self.got[(visit, step)] = self.got.get((visit, step), 0) + n

    def answered_before_any(self, visit: str) -> int:
        after_a_step = sum(n for (v, _), n in self.got.items() if v == visit)
        return self.states.get((visit, ANSWERED), 0) - after_a_step

    def _tally(self, counts: Mapping[str, int], policy: Policy, visit: str) -> Tally:
        answered, lost = counts.get(ANSWERED, 0), counts.get(LOST, 0)
        return tally(
            answered + lost,
            answered,
            counts.get(IN_PROGRESS, 0),
            policy.completion_target_pct,
            visit == TARGET_VISIT,
        )

    def completion(self, policy: Policy) -> Completion:
        words = step_words(policy.reminder_steps)
        visits = []
        for window in policy.visits:
            key = window.key
            counts = {state: self.states.get((key, state), 0) for state in STATES}
            total = self._tally(counts, policy, key)
            known = set(words)
            visits.append(
                VisitCompletion(
                    key=key,
                    label=window.label,
                    optional=window.optional,
                    tally=total,
                    before_any=self.answered_before_any(key),
                    steps=tuple(
                        StepCount(
                            step.key, words[step.key], self.got.get((key, step.key), 0), total.due
                        )
                        for step in policy.reminder_steps
                    ),
                    other_steps=sum(
                        n
                        for (visit, step), n in self.got.items()
                        if visit == key and step not in known
                    ),
                )
            )
        groupings = []
        for grouping, title in GROUPINGS:
            values = sorted(
                {value for (g, value, _, _) in self.groups if g == grouping}, key=_value_order
            )
            rows = tuple(
                GroupRow(
                    value,
                    tuple(
                        self._tally(
                            {
                                state: self.groups.get((grouping, value, window.key, state), 0)
                                for state in STATES
                            },
                            policy,
                            window.key,
                        )
                        for window in policy.visits
                    ),
                )
                for value in values
            )
            groupings.append(Grouping(grouping, title, rows))
        target = next((v for v in visits if v.key == TARGET_VISIT), None)
        pct = policy.completion_target_pct
        return Completion(
            visits=tuple(visits),
            groupings=tuple(groupings),
            target_pct=pct,
            target_visit=target,
            sentence=completion_sentence(target.label, target.tally.answered, target.tally.due, pct)
            if target
            else "",
            warning=completion_warning(target.label, target.tally.answered, target.tally.due, pct)
            if target
            else None,
        )


def _value_order(value: str) -> tuple[int, int, str]:
    """Bands in their order, "not recorded" last, anything else by name."""
    if value in BAND_ORDER:
        return 0, BAND_ORDER[value], value
    return (2 if value == NOT_RECORDED else 1), 0, value
