"""The ICHOM low back pain measures (PATHWAY.md section 11): back pain and leg pain each on a
0-10 numeric rating scale, work status, analgesic and opioid use, and the baseline case-mix
(BMI from height and weight, smoking, comorbidities; age, sex, pain duration and an earlier
spine surgery come from records the clinic already keeps).

The categories follow the ICHOM Low Back Pain Standard Set's data dictionary; docs/
instruments.md lists each item, its owner and terms, and how it maps to the dictionary.

The overall pain score (VAS 0-100, :mod:`spinepath.pathway.instruments`) stays the outcome the
clinic's responder rules, the composite endpoint and the published comparisons use: it is still
asked as before. Back and leg pain are asked beside it and stored as given, never derived from
it nor it from them. Pure: the web forms, the services, the FHIR API and the exports ask these
functions and tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

# --- What the patient is asked at baseline and at every reassessment ------------------------

NRS_MIN, NRS_MAX = 0, 10

BACK_PAIN_QUESTION = "Your back pain over the last week, 0 to 10"
LEG_PAIN_QUESTION = "Your leg pain over the last week, 0 to 10"
NRS_HELP = "0 means no pain, 10 the worst pain you can imagine."

WORK_STATUS_QUESTION = "Which describes your work now?"
# The ICHOM categories of work status: working (full or part time, part time because of the
# back or not), not working (because of the back or for other reasons), or on sick leave.
WORK_STATUS: dict[str, str] = {
    "full_time": "Working full time",
    "part_time_back_pain": "Working part time because of my back pain",
    "part_time_other": "Working part time for other reasons",
    "sick_leave": "On sick leave",
    "not_working_back_pain": "Not working because of my back pain",
    "not_working_other": "Not working for other reasons (retired, student, homemaker, "
    "looking for work)",
}

ANALGESIC_QUESTION = "Do you take pain medication for your back or leg pain?"
ANALGESIC_USE: dict[str, str] = {
    "none": "No",
    "occasional": "Yes, now and then",
    "daily": "Yes, every day",
}

OPIOID_QUESTION = (
    "Do you take opioid pain medication for it (for example codeine, tramadol, oxycodone or "
    "morphine)?"
)

# Form field name -> the question, in the order the page asks them.
LBP_QUESTIONS: dict[str, str] = {
    "back_pain_nrs": BACK_PAIN_QUESTION,
    "leg_pain_nrs": LEG_PAIN_QUESTION,
    "work_status": WORK_STATUS_QUESTION,
    "analgesic_use": ANALGESIC_QUESTION,
    "opioid_use": OPIOID_QUESTION,
}
LBP_FIELDS: tuple[str, ...] = tuple(LBP_QUESTIONS)

# Said to the patient when an answer is missing, each at its own question.
LBP_MISSING: dict[str, str] = {
    "back_pain_nrs": "Please give your back pain, 0 (no pain) to 10 (worst).",
    "leg_pain_nrs": "Please give your leg pain, 0 (no pain) to 10 (worst). No leg pain is 0.",
    "work_status": "Please choose what describes your work now.",
    "analgesic_use": "Please say whether you take pain medication for your back or leg pain.",
    "opioid_use": "Please answer yes or no: do you take opioid pain medication for it?",
}


@dataclass(frozen=True, slots=True)
class LbpAnswers:
    """The ICHOM measures as answered (None: not answered, or not asked)."""

    back_pain_nrs: int | None = None
    leg_pain_nrs: int | None = None
    work_status: str | None = None
    analgesic_use: str | None = None
    opioid_use: bool | None = None

    def as_fields(self) -> dict[str, int | str | bool | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in self.as_fields().values())


def _nrs_problem(value: object, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{what}: a whole number from {NRS_MIN} to {NRS_MAX}."
    if not NRS_MIN <= value <= NRS_MAX:
        return f"{what}: a whole number from {NRS_MIN} to {NRS_MAX} (got {value})."
    return None


def lbp_problems(answers: LbpAnswers) -> dict[str, str]:
    """What cannot be stored, by form field: a pain rating outside 0-10, a choice not on the
    list, or opioids taken while no pain medication is taken (the opioid question is about
    that medication)."""
    problems: dict[str, str] = {}
    for name, what in (("back_pain_nrs", "Back pain"), ("leg_pain_nrs", "Leg pain")):
        problem = _nrs_problem(getattr(answers, name), what)
        if problem:
            problems[name] = problem
    if answers.work_status is not None and answers.work_status not in WORK_STATUS:
        problems["work_status"] = "Work status: choose one of the list."
    if answers.analgesic_use is not None and answers.analgesic_use not in ANALGESIC_USE:
        problems["analgesic_use"] = "Pain medication: choose no, now and then, or every day."
    if answers.opioid_use is True and answers.analgesic_use == "none":
        problems["opioid_use"] = (
            "You said you take no pain medication for your back or leg pain: an opioid is one. "
            "Please check both answers."
        )
    return problems


def lbp_missing(answers: LbpAnswers) -> dict[str, str]:
    """Every question left unanswered, by form field (on the patient's own page each one is
    asked: PATHWAY.md section 11)."""
    return {name: LBP_MISSING[name] for name in LBP_FIELDS if getattr(answers, name) is None}


# --- Baseline case-mix --------------------------------------------------------------------

SMOKING_STATUS: dict[str, str] = {
    "current": "Smokes now",
    "former": "Smoked in the past, not now",
    "never": "Never smoked",
}

# A short checklist of the conditions the ICHOM case-mix asks about (a subset of the
# Self-Administered Comorbidity Questionnaire's list: presence only, no treatment or
# limitation, so no SCQ score is computed). "none" says the patient has none of them: the
# empty answer means "not recorded".
NO_COMORBIDITY = "none"
COMORBIDITIES: dict[str, str] = {
    "heart_disease": "Heart disease",
    "high_blood_pressure": "High blood pressure",
    "diabetes": "Diabetes",
    "lung_disease": "Lung disease",
    "depression": "Depression",
    "arthritis": "Arthritis (osteoarthritis or rheumatoid)",
    "kidney_disease": "Kidney disease",
    "cancer": "Cancer",
    "other": "Another long-term condition",
}

# Plausible limits: they refuse typing errors (a height in metres, a weight in grams), not
# patients.
HEIGHT_CM = (100.0, 250.0)
WEIGHT_KG = (25.0, 350.0)

# Earlier procedures that are spine surgery (the rest are injections or ablation).
SPINE_SURGERY_KINDS = frozenset({"discectomy", "fusion", "laminectomy", "disc_replacement"})


def body_mass_index(height_cm: float, weight_kg: float) -> float:
    """BMI in kg/m2, one decimal. Raises ValueError naming the value outside its limits."""
    low, high = HEIGHT_CM
    if not low <= height_cm <= high:
        raise ValueError(f"height: {low:g} to {high:g} cm (got {height_cm:g})")
    low, high = WEIGHT_KG
    if not low <= weight_kg <= high:
        raise ValueError(f"weight: {low:g} to {high:g} kg (got {weight_kg:g})")
    metres = height_cm / 100
    return round(weight_kg / (metres * metres), 1)


def bmi_if_known(height_cm: float | None, weight_kg: float | None) -> float | None:
    """The BMI when both are recorded and plausible; None otherwise (never guessed)."""
    if height_cm is None or weight_kg is None:
        return None
    try:
        return body_mass_index(height_cm, weight_kg)
    except ValueError:
        return None


def comorbidity_problem(values: Sequence[str]) -> str | None:
    """Why a comorbidity answer cannot be stored: an unknown condition, or "none of these"
    ticked with a condition."""
    unknown = [v for v in values if v != NO_COMORBIDITY and v not in COMORBIDITIES]
    if unknown:
        return f"Comorbidities: not on the list: {', '.join(sorted(unknown))}."
    if NO_COMORBIDITY in values and len(set(values)) > 1:
        return "Comorbidities: 'none of these' cannot be ticked with a condition."
    return None


def casemix_problems(
    *,
    height_cm: float | None,
    weight_kg: float | None,
    smoking_status: str | None,
    comorbidities: Sequence[str] | None,
) -> dict[str, str]:
    """What cannot be stored of the case-mix, by field."""
    problems: dict[str, str] = {}
    for name, value, (low, high), unit in (
        ("height_cm", height_cm, HEIGHT_CM, "cm"),
        ("weight_kg", weight_kg, WEIGHT_KG, "kg"),
    ):
        if value is not None and not low <= value <= high:
            problems[name] = f"{low:g} to {high:g} {unit}."
    if smoking_status and smoking_status not in SMOKING_STATUS:
        problems["smoking_status"] = "Smoking: current, former or never."
    if comorbidities is not None:
        problem = comorbidity_problem(comorbidities)
        if problem:
            problems["comorbidities"] = problem
    return problems


# The consultation's baseline measures and case-mix, as stored (field names).
BASELINE_FIELDS: tuple[str, ...] = (
    *LBP_FIELDS,
    "height_cm",
    "weight_kg",
    "smoking_status",
    "comorbidities",
)


def baseline_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """What cannot be stored of a consultation's baseline measures and case-mix, by field
    (the values as they would stand after the change: a form names them, the service refuses
    them whatever the route)."""
    answers = LbpAnswers(
        back_pain_nrs=values.get("back_pain_nrs"),
        leg_pain_nrs=values.get("leg_pain_nrs"),
        work_status=values.get("work_status") or None,
        analgesic_use=values.get("analgesic_use") or None,
        opioid_use=values.get("opioid_use"),
    )
    return {
        **lbp_problems(answers),
        **casemix_problems(
            height_cm=values.get("height_cm"),
            weight_kg=values.get("weight_kg"),
            smoking_status=values.get("smoking_status"),
            comorbidities=values.get("comorbidities"),
        ),
    }


def comorbidity_count(values: Sequence[str] | None) -> int | None:
    """How many of the listed conditions (None: not recorded)."""
    if values is None:
        return None
    return len([v for v in set(values) if v != NO_COMORBIDITY])


def previous_spine_surgery(kinds: Iterable[str], asked: bool | None) -> bool | None:
    """Yes when an earlier spine surgery is recorded; no only when the clinician asked and none
    is; unknown otherwise (an absent list is "not asked", as in the candidacy rules)."""
    if any(kind in SPINE_SURGERY_KINDS for kind in kinds):
        return True
    return False if asked else None


def age_on(born: date | None, day: date | None) -> int | None:
    """Age in whole years on ``day``."""
    if born is None or day is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
