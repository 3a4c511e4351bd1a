"""Adverse events: asked for at every follow-up, graded by a clinician, reported on time
(PATHWAY.md section 10).

Patients answer a short fixed set of safety questions; any "yes" is worrying: the patient is
told at once what to do, and a clinician reviews it. Clinicians record events with the terms
trials and registries use: a CTCAE v5 grade, seriousness by the ICH E2A criteria, relatedness
to the procedure and to the product on a five-point scale (as the Regenexx registry asks of its
physicians), expectedness, the action taken and the outcome. A serious event at least possibly
related to the product starts a reporting clock (21 CFR 1271.350: 15 days by default). Pure:
the web, the API and the outcomes ask these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from spinepath.pathway.policy import Policy

# --- What the patient is asked ----------------------------------------------------------------

Urgency = Literal["emergency", "today"]


@dataclass(frozen=True, slots=True)
class SafetyQuestion:
    key: str
    question: str  # as the patient reads it
    short: str  # as staff read it in a list
    urgency: Urgency


SAFETY_QUESTIONS: tuple[SafetyQuestion, ...] = (
    SafetyQuestion(
        "site_pain",
        "New or worse pain where you had the injection?",
        "new or worse pain at the injection site",
        "today",
    ),
    SafetyQuestion(
        "fever",
        "Fever or chills?",
        "fever or chills",
        "today",
    ),
    SafetyQuestion(
        "wound",
        "Redness, swelling or discharge where the needle went in?",
        "redness or discharge at the wound",
        "today",
    ),
    SafetyQuestion(
        "leg_numbness_weakness",
        "New numbness or weakness in your legs?",
        "new numbness or weakness in the legs",
        "emergency",
    ),
    SafetyQuestion(
        "bladder_bowel",
        "Any change in controlling your bladder or bowels, or numbness between your legs?",
        "bladder or bowel changes",
        "emergency",
    ),
)
SAFETY_KEYS: tuple[str, ...] = tuple(q.key for q in SAFETY_QUESTIONS)
QUESTION_BY_KEY: dict[str, SafetyQuestion] = {q.key: q for q in SAFETY_QUESTIONS}


@dataclass(frozen=True, slots=True)
class SafetyAdvice:
    """What a patient is told at once after a worrying answer, and what staff see."""

    urgency: Urgency
    heading: str
    steps: tuple[str, ...]
    findings: tuple[str, ...]  # the worrying answers, in staff words


def safety_problem(answers: Mapping[str, bool | None]) -> dict[str, str]:
    """By form field: every safety question needs a yes or a no (a safety question is never
    skipped: an unanswered one would read as 'nothing wrong')."""
    return {
        f"safety_{q.key}": f"Please answer yes or no: {q.question}"
        for q in SAFETY_QUESTIONS
        if answers.get(q.key) is None
    }


def safety_advice(
    answers: Mapping[str, bool | None], clinic_phone: str = ""
) -> SafetyAdvice | None:
    """None when every answer is no; otherwise what the patient should do now.

    New leg weakness or numbness, or a change in bladder or bowel control, can mean pressure on
    the nerves (a haematoma, an abscess, cauda equina): emergency care now. Fever, a red or
    discharging wound or new pain at the site can mean an infection (discitis after a disc
    injection): the clinic the same day, the emergency department if very unwell.
    """
    worrying = [q for q in SAFETY_QUESTIONS if answers.get(q.key)]
    if not worrying:
        return None
    findings = tuple(q.short for q in worrying)
    call = f"Call the clinic on {clinic_phone}" if clinic_phone else "Call the clinic"
    if any(q.urgency == "emergency" for q in worrying):
        return SafetyAdvice(
            "emergency",
            "Get emergency care now",
            (
                "Call 911 or go to the nearest emergency department now: new weakness, "
                "numbness or a change in bladder or bowel control needs to be seen today.",
                "Tell them you had a spine injection and when.",
                f"{call} as soon as you can; a clinician will also review your answers.",
            ),
            findings,
        )
    return SafetyAdvice(
        "today",
        "Call the clinic today",
        (
            f"{call} today, so a clinician can check you.",
            "If you feel very unwell, have a temperature of 38.3 °C (101 °F) or more, or the "
            "redness spreads, go to the nearest emergency department.",
            "A clinician will review your answers.",
        ),
        findings,
    )


# --- What a clinician records -----------------------------------------------------------------

# CTCAE v5.0 grades (Common Terminology Criteria for Adverse Events, NCI 2017).
CTCAE_GRADES: dict[int, str] = {
    1: "Grade 1 - mild: no or mild symptoms, no intervention",
    2: "Grade 2 - moderate: minimal, local or non-invasive intervention",
    3: "Grade 3 - severe or medically significant, not immediately life-threatening",
    4: "Grade 4 - life-threatening: urgent intervention",
    5: "Grade 5 - death related to the event",
}
# ICH E2A: an event is serious when it meets any of these.
SERIOUS_CRITERIA: dict[str, str] = {
    "death": "results in death",
    "life_threatening": "is life-threatening",
    "hospitalisation": "requires or prolongs hospitalisation",
    "disability": "results in persistent or significant disability or incapacity",
    "congenital_anomaly": "is a congenital anomaly or birth defect",
    "important_medical_event": "is an important medical event",
}
# Five-point relatedness, as the Regenexx registry's physicians rate it (WHO-UMC terms).
RELATEDNESS: dict[str, str] = {
    "not_related": "not related",
    "unlikely": "unlikely related",
    "possible": "possibly related",
    "probable": "probably related",
    "definite": "definitely related",
}
RELATED = frozenset({"possible", "probable", "definite"})
ACTIONS: dict[str, str] = {
    "none": "none",
    "observation": "observation or advice",
    "medication": "medication",
    "procedure": "a procedure (drainage, aspiration, injection)",
    "hospitalisation": "hospital admission",
    "surgery": "surgery",
    "other": "other",
}
# FHIR R4 AdverseEvent.outcome (http://terminology.hl7.org/CodeSystem/adverse-event-outcome).
OUTCOMES: dict[str, str] = {
    "ongoing": "ongoing",
    "recovering": "recovering",
    "resolved": "resolved",
    "resolvedWithSequelae": "resolved with lasting effects",
    "fatal": "fatal",
    "unknown": "unknown",
}
ENDED_OUTCOMES = frozenset({"resolved", "resolvedWithSequelae", "fatal"})
TERM_MAX = 200


@dataclass(frozen=True, slots=True)
class EventFacts:
    """One version of an adverse event as a clinician records it."""

    term: str
    onset_on: date | None
    grade: int | None
    serious_criteria: frozenset[str]
    related_procedure: str
    related_product: str
    expected: bool | None
    action: str
    outcome: str
    resolved_on: date | None

    @property
    def serious(self) -> bool:
        return bool(self.serious_criteria)

    @property
    def product_related(self) -> bool:
        return self.related_product in RELATED

    @property
    def procedure_related(self) -> bool:
        return self.related_procedure in RELATED


def event_problems(facts: EventFacts, *, today: date, injected_on: date | None) -> dict[str, str]:
    """Why this version of an event may not be recorded, by form field."""
    problems: dict[str, str] = {}
    if not facts.term.strip():
        problems["term"] = "Name the event (for example: discitis, post-injection flare)."
    elif len(facts.term) > TERM_MAX:
        problems["term"] = f"Keep the term under {TERM_MAX} characters."
    if facts.onset_on is None:
        problems["onset_on"] = "Enter the date the event began."
    elif facts.onset_on > today:
        problems["onset_on"] = f"{facts.onset_on} is in the future."
    elif injected_on is not None and facts.onset_on < injected_on:
        problems["onset_on"] = (
            f"{facts.onset_on} is before the injection of {injected_on} this event follows."
        )
    if facts.grade not in CTCAE_GRADES:
        problems["grade"] = "Choose the CTCAE v5 grade, 1 to 5."
    unknown = facts.serious_criteria - SERIOUS_CRITERIA.keys()
    if unknown:
        problems["serious_criteria"] = "Choose seriousness criteria from the list."
    if facts.grade == 5 and "death" not in facts.serious_criteria:
        problems["serious_criteria"] = "A grade 5 event results in death: tick 'results in death'."
    if "death" in facts.serious_criteria and facts.grade != 5:
        problems["grade"] = "An event that results in death is grade 5."
    if facts.grade == 4 and not facts.serious_criteria:
        problems["serious_criteria"] = (
            "A grade 4 event is life-threatening: tick the ICH E2A criteria it meets."
        )
    for field in ("related_procedure", "related_product"):
        if getattr(facts, field) not in RELATEDNESS:
            problems[field] = "Choose how related the event is, from not related to definite."
    if facts.expected is None:
        problems["expected"] = "Say whether the event is expected (listed in the consent)."
    if facts.action not in ACTIONS:
        problems["action"] = "Choose the action taken."
    if facts.outcome not in OUTCOMES:
        problems["outcome"] = "Choose the outcome."
    elif facts.outcome in ENDED_OUTCOMES:
        if facts.resolved_on is None:
            problems["resolved_on"] = "Enter the date the event resolved (or the date of death)."
        elif facts.resolved_on > today:
            problems["resolved_on"] = f"{facts.resolved_on} is in the future."
        elif facts.onset_on is not None and facts.resolved_on < facts.onset_on:
            problems["resolved_on"] = "The event cannot resolve before it began."
    elif facts.resolved_on is not None:
        problems["resolved_on"] = "Leave the resolution date empty while the event goes on."
    if facts.outcome == "fatal" and facts.grade != 5:
        problems.setdefault("grade", "A fatal event is grade 5.")
    return problems


# --- The reporting clock ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportingClock:
    """A serious adverse reaction related to the product, to be reported by ``due``."""

    aware_on: date
    due: date
    filed_on: date | None

    def days_left(self, today: date) -> int:
        return (self.due - today).days

    def state(self, today: date) -> Literal["filed", "filed_late", "overdue", "due"]:
        if self.filed_on is not None:
            return "filed" if self.filed_on <= self.due else "filed_late"
        return "overdue" if today > self.due else "due"

    def text(self, today: date) -> str:
        state = self.state(today)
        if state == "filed":
            return f"Filed on {self.filed_on}, inside the {self.days} days."
        if state == "filed_late":
            return f"Filed on {self.filed_on}, after the due date of {self.due}."
        left = self.days_left(today)
        if left < 0:
            return (
                f"Overdue by {-left} day{'s' if left != -1 else ''}: the report was due {self.due}."
            )
        if left == 0:
            return f"Due today ({self.due})."
        return f"{left} day{'s' if left != 1 else ''} left: due {self.due}."

    @property
    def days(self) -> int:
        return (self.due - self.aware_on).days


def reportable(facts: EventFacts) -> bool:
    """Whether an event is a reportable adverse reaction of the product (21 CFR 1271.350(a)):
    serious, and at least possibly related to the product."""
    return facts.serious and facts.product_related


def reporting_clock(
    facts: EventFacts, *, aware_on: date, filed_on: date | None, policy: Policy
) -> ReportingClock | None:
    """The clock of a reportable event, counted from the day the clinic learned of it (the first
    version that made it reportable); None when it is not reportable."""
    if not reportable(facts):
        return None
    return ReportingClock(
        aware_on, aware_on + timedelta(days=policy.adverse_reaction_report_days), filed_on
    )


def initials(given: str, family: str) -> str:
    """A patient's initials for a report that must not carry the name (MedWatch 3500A, A1)."""
    parts = [p for p in (given.split() + family.split()) if p[:1].isalpha()]
    return "".join(p[0].upper() for p in parts)[:4] or "-"


def criteria_text(criteria: Iterable[str]) -> str:
    chosen = [SERIOUS_CRITERIA[c] for c in SERIOUS_CRITERIA if c in set(criteria)]
    return "; ".join(chosen) if chosen else "not serious"
