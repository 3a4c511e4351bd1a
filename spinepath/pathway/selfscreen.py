"""The public self-screen: a few plain questions that point a person to the right next step.

It is a screen, not a decision: it mirrors the candidacy rules of PATHWAY.md section 3 as far as
a person can answer them about themselves, and never replaces the consultation. It stores
nothing and shows no prices.

Outcomes, most urgent first, in the order of the candidacy rules:

- ``see_doctor_today``: any red-flag answer (the same four red flags and a worsening weakness
  that make a clinician refer urgently or to a surgeon).
- ``mri_first`` for a weak leg or foot that is not getting worse, without a recent MRI: with
  any weakness the MRI comes before "not now", because it can show a pinched nerve that needs a
  surgeon.
- ``conservative_care_first`` ("not now"): pain shorter than ``chronic_min_months``,
  conservative care not tried or under ``conservative_min_pt_weeks`` or still helping, no
  anti-inflammatory trial, spine surgery inside ``recovery_min_months``, or pain mainly in the
  leg (nerve pain is treated conventionally). No MRI is suggested while one of these applies:
  imaging back pain in its first weeks, without warning signs, does not help.
- ``mri_first``: no MRI of the lower back within ``mri_max_age_months``.
- ``book_consultation``: nothing above; the consultation decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spinepath.pathway.policy import Policy

ScreenOutcome = Literal[
    "see_doctor_today", "conservative_care_first", "mri_first", "book_consultation"
]
YesNo = Literal["yes", "no", "unsure"]

OUTCOME_TITLES: dict[str, str] = {
    "see_doctor_today": "See a doctor today",
    "conservative_care_first": "Conservative care first",
    "mri_first": "Bring or get an MRI first",
    "book_consultation": "You may be a candidate - book a consultation",
}

RED_FLAG_QUESTIONS: dict[str, str] = {
    "bladder_bowel": "New trouble controlling your bladder or bowels, or numbness between "
    "your legs (the 'saddle' area)?",
    "fever": "Fever or chills together with the back pain, or a recent infection?",
    "cancer": "Cancer now or in the past, or weight loss you cannot explain?",
    "injury": "A recent fall, accident or injury that started the pain?",
    "weakness": "Weakness in a leg or foot that is getting worse?",
}


@dataclass(frozen=True, slots=True)
class ScreenAnswers:
    red_flags: frozenset[str]  # keys of RED_FLAG_QUESTIONS answered "yes"
    pain_months: float | None  # how long the pain has lasted
    where: Literal["back", "leg", "both"] | None
    therapy_weeks: float | None  # weeks of physical therapy so far
    still_improving: YesNo | None
    tried_anti_inflammatories: YesNo | None
    mri: Literal["recent", "older", "none", "unsure"] | None
    surgery_months_ago: float | None  # None: no spine surgery
    # A leg or foot weaker than it should be, not getting worse (worse is a red flag).
    stable_weakness: YesNo | None = None


@dataclass(frozen=True, slots=True)
class ScreenResult:
    outcome: ScreenOutcome
    title: str
    reasons: tuple[str, ...]
    # Bladder or bowel changes, saddle numbness: an emergency department now, and nothing else.
    emergency: bool = False


def red_flag_result(red_flags: frozenset[str]) -> ScreenResult:
    """The answer to any warning sign, whatever else was or was not answered. Bladder or bowel
    changes or saddle numbness (cauda equina) mean an emergency department now."""
    reasons = tuple(_RED_FLAG_REASONS[key] for key in RED_FLAG_QUESTIONS if key in red_flags)
    if "bladder_bowel" in red_flags:
        return ScreenResult(
            "see_doctor_today", "Go to an emergency department now", reasons, emergency=True
        )
    return _result("see_doctor_today", reasons)


def self_screen(answers: ScreenAnswers, policy: Policy) -> ScreenResult:
    if answers.red_flags:
        return red_flag_result(answers.red_flags)

    if answers.stable_weakness == "yes" and answers.mri != "recent":
        return _result(
            "mri_first",
            (
                "With weakness in a leg or foot, an MRI comes first: it shows whether a nerve is "
                "pinched badly enough to need a surgeon's opinion.",
            ),
        )

    conservative = []
    chronic = policy.chronic_min_months
    if answers.pain_months is not None and answers.pain_months < chronic:
        conservative.append(
            f"Most back pain settles within {chronic:g} months; regenerative care is for pain "
            "that has lasted longer."
        )
    if answers.where == "leg":
        conservative.append(
            "Pain mainly in the leg usually comes from a pinched nerve, which is treated with "
            "conventional care rather than regenerative injections."
        )
    weeks = policy.conservative_min_pt_weeks
    if answers.therapy_weeks is not None and answers.therapy_weeks < weeks:
        conservative.append(
            f"At least {weeks:g} weeks of physical therapy come first; "
            + (
                "you have not had any yet."
                if answers.therapy_weeks == 0
                else f"you have had {answers.therapy_weeks:g}."
            )
        )
    if answers.still_improving == "yes":
        conservative.append("Physical therapy is still helping: keep going while it does.")
    if answers.tried_anti_inflammatories == "no":
        conservative.append(
            "A trial of anti-inflammatory medicine (if it is safe for you) comes first."
        )
    recovery = policy.recovery_min_months
    if answers.surgery_months_ago is not None and answers.surgery_months_ago < recovery:
        conservative.append(
            f"After spine surgery the spine needs about {recovery} months to heal first."
        )
    if conservative:
        if answers.mri != "recent":
            conservative.append(
                f"If the pain lasts past {chronic:g} months and conservative care stops "
                "helping, an MRI of the lower back is the next step; not before."
            )
        return _result("conservative_care_first", tuple(conservative))

    if answers.mri in ("older", "none", "unsure", None):
        months = policy.mri_max_age_months
        reason = {
            "older": f"Your MRI is more than {months} months old; a recent one is needed.",
            "none": "No injection is planned without an MRI of the lower back.",
        }.get(
            answers.mri or "unsure",
            f"An MRI of the lower back from the last {months} months is needed; "
            "bring it if you have one.",
        )
        return _result("mri_first", (reason,))

    return _result(
        "book_consultation",
        (
            "Your answers fit the people who are helped most: long-lasting back pain that "
            "physical therapy has not fixed, with a recent MRI.",
            "The consultation (60-90 minutes) checks the MRI, examines you and may use a "
            "numbing test to find the exact source of the pain.",
        ),
    )


_RED_FLAG_REASONS: dict[str, str] = {
    "bladder_bowel": "Bladder or bowel changes or saddle numbness can mean pressure on the "
    "nerves at the base of the spine (cauda equina). Go to an emergency department now.",
    "fever": "Fever with back pain can mean an infection of the spine.",
    "cancer": "A history of cancer or unexplained weight loss needs a doctor's check of the spine.",
    "injury": "Pain that started with a fall or accident may be a fracture.",
    "weakness": "Weakness that is getting worse needs a doctor soon, before anything else.",
}


def _result(outcome: ScreenOutcome, reasons: tuple[str, ...]) -> ScreenResult:
    return ScreenResult(outcome, OUTCOME_TITLES[outcome], reasons)
