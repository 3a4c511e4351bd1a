"""The patient's own pages: who may sign in, what a typed name binds, which injection sessions a
plan holds, and a signed decision in the patient's words.

Pure: the portal app stores links, sessions and appointments; the rules about them live here so
that the web pages, the coordinator's pages and the tests ask the same questions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

# --- Sign-in links --------------------------------------------------------------------------

LINK_LIFETIME = timedelta(minutes=15)
# A link sent to the address on file before staff changed the contact details, asking the
# patient to confirm the change by signing in: it waits for them a week.
CONFIRMATION_LIFETIME = timedelta(days=7)
# Wrong dates of birth: per patient (every open link of theirs is then void) and per address.
WRONG_CHECKS_PER_PATIENT = 5
WRONG_CHECKS_PER_ADDRESS = 20
WRONG_CHECK_WINDOW = timedelta(minutes=30)
IDLE_LIMIT = timedelta(minutes=15)

NOT_VALID = "This sign-in link is not valid. Links work once and for 15 minutes: ask for a new one."


def link_problem(
    *,
    created_at: datetime,
    used_at: datetime | None,
    voided_at: datetime | None,
    now: datetime,
    confirms_contact: bool = False,
) -> str | None:
    """Why a sign-in link cannot be used now; None when it can."""
    if used_at is not None:
        return "This sign-in link was already used. Links work once: ask for a new one."
    if voided_at is not None:
        return (
            "This sign-in link was closed (after too many wrong dates of birth, or because the "
            "contact details on your record changed). Ask for a new one, or call the clinic."
        )
    if confirms_contact and now - created_at > CONFIRMATION_LIFETIME:
        return "This link has expired (it lasted 7 days). Please call the clinic."
    if not confirms_contact and now - created_at > LINK_LIFETIME:
        return "This sign-in link has expired (links last 15 minutes). Ask for a new one."
    return None


def throttle_problem(
    *,
    wrong_for_patient: int,
    wrong_from_address: int,
    oldest_from_address: datetime | None,
    now: datetime,
) -> str | None:
    """Why no more dates of birth are checked now (counts within WRONG_CHECK_WINDOW)."""
    if wrong_for_patient >= WRONG_CHECKS_PER_PATIENT:
        return (
            "Too many wrong dates of birth. This link is closed: ask for a new one, or call the "
            "clinic."
        )
    if wrong_from_address >= WRONG_CHECKS_PER_ADDRESS:
        since = oldest_from_address or now
        minutes = max(1, int((since + WRONG_CHECK_WINDOW - now).total_seconds() // 60) + 1)
        return (
            f"Too many wrong dates of birth from this connection. Try again in {minutes} minutes."
        )
    return None


def session_expired(last_seen: datetime, now: datetime) -> bool:
    return now - last_seen > IDLE_LIMIT


# --- The typed name that accepts a plan -----------------------------------------------------


def _plain(text: str) -> str:
    """Case, accents, punctuation and spacing set aside: "  JOSÉ  o'neil" -> "jose oneil"."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = "".join(c if c.isalnum() or c.isspace() else "" for c in letters.casefold())
    return " ".join(kept.split())


def name_matches(typed: str, given_name: str, family_name: str) -> bool:
    """The full name as the patient typed it, in either order, matched leniently for case and
    accents (and commas, hyphens, apostrophes); never a part of the name alone."""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in typed):
        return False  # invisible or control characters are no part of a signature
    typed_plain = _plain(typed)
    if not typed_plain:
        return False
    given, family = _plain(given_name), _plain(family_name)
    return typed_plain in {f"{given} {family}", f"{family} {given}"}


# --- Plain words on the patient's pages ---------------------------------------------------------

# The clinical shorthand a decision may carry, in the words the patient's pages use (the
# consultation explains them; a browser test lists the words never shown to a patient).
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        (r"\(?Pfirrmann (?:grade )?(\d)\)?", r"(disc wear grade \1 of 5)"),
        (r"\bdiscogenic\b", "disc"),
        (r"\bmyoligamentous\b", "ligament and muscle"),
        (r"\bradicular\b", "nerve-root"),
        (r"\bModic changes?\b", "bone changes next to the disc"),
        (r"\bendplates?\b", "bone surface next to the disc"),
        (r"\bconcordant\b", "matching the usual pain"),
        (r"\bpain generators?\b", "source of the pain"),
        (r"\bgenerators?\b", "source of the pain"),
        (r"\bspondylolisthesis\b", "slipped vertebra"),
    )
)


def plain_words(text: str) -> str:
    """``text`` with the clinic's shorthand in the patient's words."""
    for pattern, words in _PLAIN:
        text = pattern.sub(words, text)
    return text


# --- Injection sessions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionLine:
    """An inject-phase line of a plan: its target in words and its planned day, if any."""

    line_id: int
    description: str
    planned_on: date | None


@dataclass(frozen=True, slots=True)
class InjectionSession:
    """One visit to the procedure room: the inject lines planned for the same day (lines
    without a day form one session, planned last)."""

    key: str  # the planned day (YYYY-MM-DD) or "undated": stable while the plan is frozen
    number: int
    planned_on: date | None
    line_ids: tuple[int, ...]
    descriptions: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"Injection session {self.number}: {'; '.join(self.descriptions)}"


UNDATED = "undated"


def injection_sessions(lines: Iterable[SessionLine]) -> tuple[InjectionSession, ...]:
    groups: dict[date | None, list[SessionLine]] = {}
    for line in lines:
        groups.setdefault(line.planned_on, []).append(line)
    days = sorted(d for d in groups if d is not None)
    order: list[date | None] = [*days, *([None] if None in groups else [])]
    return tuple(
        InjectionSession(
            key=day.isoformat() if day else UNDATED,
            number=number,
            planned_on=day,
            line_ids=tuple(line.line_id for line in groups[day]),
            descriptions=tuple(line.description for line in groups[day]),
        )
        for number, day in enumerate(order, start=1)
    )


SESSION_MINUTES = 60
SESSION_MINUTES_RANGE = (30, 180)


# --- A signed decision in the patient's words ------------------------------------------------

DECISION_WORDS: dict[str, tuple[str, str]] = {
    "candidate": (
        "Regenerative injections are a reasonable option for you",
        "Your consultation found the source of your pain and nothing that rules the treatment "
        "out. The clinic recommends the treatment below; the written plan says what it involves "
        "and what it costs before you decide anything.",
    ),
    "not_candidate": (
        "Regenerative injections are not the right treatment for you now",
        "Your consultation found a reason this treatment is unlikely to help or should not be "
        "done. The clinic does not recommend it, and says below what it suggests instead.",
    ),
    "needs_workup": (
        "We need a little more information before we can advise you",
        "Some facts the decision depends on are not recorded yet. Nothing is decided until "
        "they are; the steps below say what is missing.",
    ),
    "needs_imaging": (
        "You need a recent MRI before we can advise you",
        "Injections are only ever planned from a recent MRI that a clinician has reviewed. "
        "The steps below say what imaging is needed.",
    ),
    "refer_surgical": (
        "We recommend that a spine surgeon sees you",
        "Your consultation found something a surgeon should assess before any injection. "
        "The clinic will help arrange the referral.",
    ),
    "refer_urgent": (
        "Please get urgent medical care",
        "Your consultation found warning signs that need a doctor's attention now, not an "
        "injection. If your symptoms get worse, go to an emergency department today.",
    ),
}

# Each question is put so that "yes" is the answer the treatment needs.
RULE_QUESTIONS: dict[str, str] = {
    "red_flag_screen": "Is the check for serious warning signs clear?",
    "chronic_pain": "Has the pain lasted long enough to be called chronic?",
    "conservative_care": "Have simpler treatments, such as physical therapy, been tried first?",
    "neurological_status": "Are the nerves to your legs working well enough for this treatment?",
    "recovery_after_surgery": "If you had spine surgery, has enough time passed since?",
    "mri_within_window": "Is your MRI recent enough?",
    "mri_reviewed": "Has a clinician reviewed your MRI?",
    "pain_generator_confirmed": "Has the source of your pain been confirmed?",
    "disc_levels_localised": "Is disc pain limited to levels that can be treated?",
    "facet_block": "Did a numbing test injection confirm facet joint pain?",
}

OUTCOME_WORDS: dict[str, str] = {
    "pass": "Yes",
    "fail": "No",
    "unknown": "Not known yet",
    "not_applicable": "Does not apply",
}


def rule_question(rule_id: str) -> str:
    return RULE_QUESTIONS.get(rule_id, rule_id.replace("_", " ").capitalize() + "?")


def acceptance_statement(total: object, currency: str) -> str:
    """What the patient ticks to accept a written plan (kept word for word with the
    acceptance)."""
    try:
        amount = f"{Decimal(str(total)):,.2f}"
    except (ArithmeticError, ValueError):
        amount = str(total)
    return (
        "I have read this written plan: the diagnosis, the injections in their order, the "
        f"follow-up visits, and the total price of {currency} {amount} with what my payer "
        "covers. I understand it is my choice, that I may ask questions first, and that I may "
        "stop before any injection. I accept this plan."
    )


def visit_order_problem(visit_end: datetime, sessions_booked: Sequence[datetime]) -> str | None:
    """The pre-procedure visit (consent, medicines, the day itself) comes before the plan's
    injections: never booked to end after a booked injection session starts."""
    earlier = sorted(start for start in sessions_booked if start < visit_end)
    if not earlier:
        return None
    return (
        f"An injection session of this plan is booked for {earlier[0]:%Y-%m-%d %H:%M}: the "
        "pre-procedure visit comes before it. Book the visit earlier, or move the session."
    )


def session_booking_problem(
    *, plan_accepted: bool, session_found: bool, booked: bool, done: bool
) -> str | None:
    """Why an injection session cannot be booked: a written, accepted plan first, then each of
    its sessions once."""
    if not plan_accepted:
        return "Injection sessions are booked only from a written plan the patient accepted."
    if not session_found:
        return "This plan has no such injection session."
    if booked:
        return "This injection session is already booked: move the booking instead."
    if done:
        return "The injections of this session are already recorded."
    return None
