"""The reminder ladder of a reassessment visit (PATHWAY.md section 11).

Each visit climbs the clinic's ladder while its window is open and it is unanswered: an email
when the window opens, a second email, a text message, a phone call for a coordinator, a
printed letter with the link. The ladder here is pure: given what was already done for a
visit, the patient's reachable channels, the day and whether it is the clinic's quiet hours,
:func:`next_move` says the one thing to do now (send a step, skip a step with its reason) or
nothing. The job that runs it (``spinepath send-reminders``) records each move, so running it
twice, or two copies at once, does each step once.

Rules, in the clinic's words:

- nothing once the visit is answered, before its window opens or after it closes (a visit
  missed when its window closes rolls into the next visit: its ladder starts there, and the
  patient is asked once, for the next visit, not twice);
- a step comes on its day (``after_days`` from the window's opening) and never later than
  ``min_days_left`` before the window closes (a letter needs days in the post): too late, it is
  skipped;
- a step on a channel the patient declined, or cannot be reached on (no address, no number, a
  wrong number), is skipped at once and the ladder moves on;
- at most one step per visit per day, and no more steps than the cap;
- messages (email, text) wait out the quiet hours; a call task and a letter are work for staff
  in the clinic's day and are not messages at the patient's door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta

EMAIL = "email"
SMS = "sms"
CALL = "call"
LETTER = "letter"
CHANNELS: tuple[str, ...] = (EMAIL, SMS, CALL, LETTER)
CHANNEL_WORDS: dict[str, str] = {
    EMAIL: "email",
    SMS: "text message",
    CALL: "phone call",
    LETTER: "letter by post",
}
DECLINED_WORDS: dict[str, str] = {
    EMAIL: "emails",
    SMS: "text messages",
    CALL: "phone calls",
    LETTER: "letters",
}
# Channels that reach the patient directly and so respect the quiet hours.
MESSAGES = frozenset({EMAIL, SMS})

# What became of a step (stored per visit and step key).
SENT = "sent"  # the message left, the call task or the letter was made
FAILED = "failed"  # tried and failed for good (a rejected number, a timeout): the ladder moves on
RETRY = "retry"  # tried and failed in a way that is safe to try again (mail server, rate limit)
SKIPPED = "skipped"  # not tried: a declined or unreachable channel, too late, over the cap
CLAIMED = "claimed"  # being sent by a runner now (counted as tried: never sent twice)
STATUS_WORDS: dict[str, str] = {
    SENT: "sent",
    FAILED: "failed",
    RETRY: "failed, will try again",
    SKIPPED: "skipped",
    CLAIMED: "sending",
}
TRIED = frozenset({SENT, FAILED, CLAIMED})


@dataclass(frozen=True, slots=True)
class Step:
    """One rung of the ladder."""

    key: str
    channel: str
    after_days: int
    min_days_left: int = 0

    @property
    def words(self) -> str:
        return CHANNEL_WORDS[self.channel]


DEFAULT_STEPS: tuple[Step, ...] = (
    Step("email_1", EMAIL, after_days=0),
    Step("email_2", EMAIL, after_days=5, min_days_left=2),
    Step("text", SMS, after_days=10, min_days_left=2),
    Step("call", CALL, after_days=14, min_days_left=3),
    Step("letter", LETTER, after_days=18, min_days_left=7),
)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Clinic-local hours in which no message is sent; ``start`` after ``end`` spans midnight."""

    start: time
    end: time

    @property
    def words(self) -> str:
        """ "8 pm and 9 am", as a patient reads it."""

        def clock(moment: time) -> str:
            hour = moment.hour % 12 or 12
            minutes = f":{moment.minute:02d}" if moment.minute else ""
            return f"{hour}{minutes} {'am' if moment.hour < 12 else 'pm'}"

        return f"{clock(self.start)} and {clock(self.end)}"

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True, slots=True)
class Reach:
    """Whether each channel may be used for this patient now, and if not, why (in words)."""

    refusals: Mapping[str, str]

    def refusal(self, channel: str) -> str | None:
        return self.refusals.get(channel)


def reach(
    *,
    email: str,
    phone_e164: str,
    phone_wrong: bool,
    has_address: bool,
    chosen: Mapping[str, bool],
) -> Reach:
    """The channels the patient chose and can be reached on."""
    refusals: dict[str, str] = {}
    for channel in CHANNELS:
        if not chosen.get(channel, True):
            refusals[channel] = f"the patient chose no {DECLINED_WORDS[channel]}"
    if not email:
        refusals.setdefault(EMAIL, "no email address on file")
    for channel in (SMS, CALL):
        if not phone_e164:
            refusals.setdefault(channel, "no phone number on file")
        elif phone_wrong:
            refusals.setdefault(channel, "the phone number was found to be wrong")
    if not has_address:
        refusals.setdefault(LETTER, "no postal address on file")
    return Reach(refusals)


@dataclass(frozen=True, slots=True)
class VisitLadder:
    """What is known of one visit's ladder today."""

    opens: date
    closes: date
    answered: bool
    # What became of each step already acted on, by step key.
    done: Mapping[str, str]
    # The last day a step was tried (sent, failed or claimed): one step per day.
    last_tried_on: date | None = None
    # The ladder was stopped for this visit (the patient declined on the phone).
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class Move:
    step: Step
    # "send": take the step now; "skip": record it skipped with ``reason``; "give_up": a step
    # waiting to be tried again whose time is over (the next step's day came).
    action: str
    reason: str = ""


def step_day(opens: date, step: Step) -> date:
    return opens + timedelta(days=step.after_days)


def next_move(
    visit: VisitLadder,
    steps: tuple[Step, ...],
    reachable: Reach,
    today: date,
    quiet: bool,
    cap: int,
) -> Move | None:
    """The one thing to do now for ``visit``, or None. Apply a skip or give-up and ask again:
    several skips may follow at once, a send at most once a day."""
    if visit.answered or visit.stopped or not visit.opens <= today <= visit.closes:
        return None
    tried = sum(1 for status in visit.done.values() if status in TRIED)
    for index, step in enumerate(steps):
        status = visit.done.get(step.key)
        if status in (SENT, FAILED, SKIPPED, CLAIMED):
            continue
        day = step_day(visit.opens, step)
        if day > today:
            return None
        if status == RETRY:
            later = steps[index + 1 :]
            next_day = step_day(visit.opens, later[0]) if later else visit.closes
            if today >= next_day:
                return Move(step, "give_up", "its time ran out before it could be sent")
        refusal = reachable.refusal(step.channel)
        if refusal is not None:
            return Move(step, "skip", refusal)
        latest = visit.closes - timedelta(days=step.min_days_left)
        if today > latest:
            return Move(step, "skip", "too late in the window")
        if tried >= cap:
            return Move(step, "skip", f"the ladder's cap of {cap} steps was reached")
        if visit.last_tried_on is not None and visit.last_tried_on >= today:
            return None
        if quiet and step.channel in MESSAGES:
            return None
        return Move(step, "send")
    return None


def answered_after(steps_tried: list[tuple[str, date]], answered_on: date | None) -> str | None:
    """Which step got the answer: the last of ``steps_tried`` (in ladder order) tried on or
    before the day it came (None: answered before any step, or not answered)."""
    if answered_on is None:
        return None
    got = None
    for key, day in steps_tried:
        if day <= answered_on:
            got = key
    return got
