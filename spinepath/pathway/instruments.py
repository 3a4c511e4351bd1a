"""Patient-reported instruments: ODI v2.1a, pain VAS/NRS, and response between two visits.

PATHWAY.md section 5. The ODI wording below is the project's own plain paraphrase of each
section's theme (six answers scored 0-5), not the published questionnaire text.

Response status vocabulary (``Response.status``):

- ``responder``: pain reduced by at least ``pain_responder_min_pct`` (the clinically meaningful
  threshold of the clinic's cited study).
- ``partial``: not a pain responder, but some pain reduction or an ODI response.
- ``non_responder``: neither, at or after the visit where non-response is judged.
- ``too_early_to_judge``: neither, before that visit (default 6 months: the spine is slow).
- ``not_measured``: a baseline or follow-up pain score is missing (or the baseline was 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeVar

from spinepath.pathway.policy import Policy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OdiSection:
    title: str
    question: str
    options: tuple[str, str, str, str, str, str]


ODI_SECTIONS: tuple[OdiSection, ...] = (
    OdiSection(
        "Pain right now",
        "How strong is your pain at the moment?",
        ("No pain", "Very mild", "Moderate", "Fairly severe", "Very severe", "Worst imaginable"),
    ),
    OdiSection(
        "Washing and dressing",
        "How do you manage washing and getting dressed?",
        (
            "Normally, no extra pain",
            "Normally, but it hurts",
            "Slowly and carefully because of pain",
            "Need some help",
            "Need help with most of it",
            "Cannot; stay in bed",
        ),
    ),
    OdiSection(
        "Lifting",
        "What can you lift?",
        (
            "Heavy things, no extra pain",
            "Heavy things, but it hurts",
            "Only heavy things placed at waist height",
            "Only light to medium things placed conveniently",
            "Only very light things",
            "Nothing at all",
        ),
    ),
    OdiSection(
        "Walking",
        "How far can you walk before pain stops you?",
        (
            "Any distance",
            "Up to about 1.5 km (1 mile)",
            "Up to about 500 m",
            "Up to about 100 m",
            "Only with a stick or crutches",
            "Mostly in bed",
        ),
    ),
    OdiSection(
        "Sitting",
        "How long can you sit?",
        (
            "In any chair, as long as I like",
            "In my favourite chair, as long as I like",
            "Up to an hour",
            "Up to half an hour",
            "Up to ten minutes",
            "Not at all",
        ),
    ),
    OdiSection(
        "Standing",
        "How long can you stand?",
        (
            "As long as I like, no extra pain",
            "As long as I like, but it hurts",
            "Up to an hour",
            "Up to half an hour",
            "Up to ten minutes",
            "Not at all",
        ),
    ),
    OdiSection(
        "Sleeping",
        "How does pain affect your sleep?",
        (
            "Not at all",
            "Only now and then",
            "Less than 6 hours of sleep",
            "Less than 4 hours of sleep",
            "Less than 2 hours of sleep",
            "Cannot sleep at all",
        ),
    ),
    OdiSection(
        "Sex life (if it applies)",
        "How does pain affect your sex life?",
        (
            "Normal, no extra pain",
            "Normal, but it hurts",
            "Nearly normal, but very painful",
            "Severely limited",
            "Nearly absent",
            "Prevented by pain",
        ),
    ),
    OdiSection(
        "Social life",
        "How does pain affect your social life?",
        (
            "Normal, no extra pain",
            "Normal, but more pain",
            "Only energetic activities limited",
            "I go out less often",
            "Limited to home",
            "None because of pain",
        ),
    ),
    OdiSection(
        "Travelling",
        "How does pain affect travelling?",
        (
            "Anywhere, no pain",
            "Anywhere, but it hurts",
            "Journeys over two hours are hard",
            "Journeys over an hour are hard",
            "Only short necessary journeys",
            "Only to see a doctor or hospital",
        ),
    ),
)

OdiBand = Literal["minimal", "moderate", "severe", "crippling", "bed-bound or exaggerated"]


@dataclass(frozen=True, slots=True)
class OdiScore:
    score: float | None
    answered: int
    missing: int
    band: OdiBand | None
    reason: str | None = None

    @property
    def display(self) -> str:
        return "no score" if self.score is None else f"{self.score:.1f}"


def odi_band(score: float) -> OdiBand:
    """Bands 0-20, 21-40, 41-60, 61-80, 81-100; a fraction above a band's top (20.5) belongs
    to the next band, so each band's upper bound is inclusive."""
    if score <= 20:
        return "minimal"
    if score <= 40:
        return "moderate"
    if score <= 60:
        return "severe"
    if score <= 80:
        return "crippling"
    return "bed-bound or exaggerated"


def odi_score(sections: Sequence[int | None], policy: Policy) -> OdiScore:
    """ODI v2.1a: 100 x sum / (5 x answered sections); too many blanks gives no score."""
    if len(sections) != 10:
        raise ValueError(f"sections: the ODI has 10 sections (got {len(sections)})")
    for number, value in enumerate(sections, start=1):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
            raise ValueError(f"section {number}: must be 0-5 (got {value!r})")
    answered = [v for v in sections if v is not None]
    missing = 10 - len(answered)
    if missing > policy.odi_max_missing_sections:
        allowed = policy.odi_max_missing_sections
        return OdiScore(
            None,
            len(answered),
            missing,
            None,
            f"{missing} sections unanswered; at most {allowed} may be left blank for a score",
        )
    score = 100 * sum(answered) / (5 * len(answered))
    return OdiScore(score, len(answered), missing, odi_band(score))


@dataclass(frozen=True, slots=True)
class PainScore:
    """Pain as VAS millimetres (0-100); an NRS answer (0-10) keeps its scale and raw value."""

    value_mm: float
    scale: Literal["vas", "nrs"]
    raw: float


def pain_from_vas(mm: float) -> PainScore:
    if not 0 <= mm <= 100:
        raise ValueError(f"pain VAS: must be 0-100 mm (got {mm:g})")
    return PainScore(float(mm), "vas", float(mm))


def pain_from_nrs(rating: float) -> PainScore:
    if not 0 <= rating <= 10:
        raise ValueError(f"pain NRS: must be 0-10 (got {rating:g})")
    return PainScore(float(rating) * 10, "nrs", float(rating))


ResponseStatus = Literal[
    "responder", "partial", "non_responder", "too_early_to_judge", "not_measured"
]
RESPONSE_LABELS: dict[str, str] = {
    "responder": "Responder",
    "partial": "Partial response",
    "non_responder": "Non-responder",
    "too_early_to_judge": "Too early to judge",
    "not_measured": "Not measured",
}


@dataclass(frozen=True, slots=True)
class Response:
    pain_change_mm: float | None
    pain_change_pct: float | None  # negative is a reduction
    pain_responder: bool | None
    any_pain_reduction: bool | None
    odi_change_points: float | None
    odi_change_pct: float | None
    odi_responder: bool | None
    too_early: bool
    status: ResponseStatus

    @property
    def label(self) -> str:
        return RESPONSE_LABELS[self.status]


# Floats may put an exact threshold a hair off (30% of 70 mm is 21 mm, and 70 x 0.7 is
# 48.999...): a score within this of the threshold counts as on it.
_TOLERANCE = 1e-9


def pain_responder_threshold(baseline_mm: float, policy: Policy) -> float | None:
    """The highest follow-up pain (VAS mm) that is a pain response from ``baseline_mm``:
    ``pain_responder_min_pct`` less (PATHWAY.md section 5). None from a baseline of 0, where no
    reduction is possible."""
    if baseline_mm <= 0:
        return None
    return baseline_mm * (1 - policy.pain_responder_min_pct / 100)


def odi_responder_threshold(baseline: float, policy: Policy) -> float | None:
    """The highest follow-up ODI that is an ODI response from ``baseline`` under the policy's
    rule: ``odi_responder_min_pct`` less, ``odi_responder_min_points`` fewer, either (default)
    or both. None when no follow-up score can be one (a percentage from a baseline of 0)."""
    by_pct = baseline * (1 - policy.odi_responder_min_pct / 100) if baseline > 0 else None
    by_points = baseline - policy.odi_responder_min_points
    rule = policy.odi_responder_rule
    if rule == "pct":
        return by_pct
    if rule == "points":
        return by_points
    if rule == "both":
        return None if by_pct is None else min(by_pct, by_points)
    return by_points if by_pct is None else max(by_pct, by_points)


def is_at_or_below(score: float, threshold: float | None) -> bool:
    return threshold is not None and score <= threshold + _TOLERANCE


def pain_responder_text(policy: Policy) -> str:
    return f"pain at least {policy.pain_responder_min_pct:g}% lower than baseline"


def _odi_response(policy: Policy) -> str:
    """How much lower the ODI must be to count as a response: "30% or 10 points"."""
    pct = f"{policy.odi_responder_min_pct:g}%"
    points = f"{policy.odi_responder_min_points:g} points"
    return {
        "pct": pct,
        "points": points,
        "both": f"{pct} and {points}",
    }.get(policy.odi_responder_rule, f"{pct} or {points}")


def odi_responder_text(policy: Policy) -> str:
    return f"ODI {_odi_response(policy)} lower than baseline"


def odi_responder_plain(policy: Policy) -> str:
    """The ODI response as a patient reads it."""
    return f"a disability score (ODI) at least {_odi_response(policy)} lower"


def is_before_judgement(visit_key: str | None, policy: Policy) -> bool:
    """Whether a visit comes before the one at which non-response is judged."""
    if visit_key is None:
        return False
    keys = policy.visit_keys()
    if visit_key not in keys:
        return False
    return keys.index(visit_key) < keys.index(policy.non_response_judged_from_visit)


def classify_response(
    baseline_pain: PainScore | None,
    follow_up_pain: PainScore | None,
    baseline_odi: OdiScore | None,
    follow_up_odi: OdiScore | None,
    policy: Policy,
    visit_key: str | None = None,
) -> Response:
    pain_mm = pain_pct = None
    pain_responder = any_reduction = None
    if baseline_pain is not None and follow_up_pain is not None:
        pain_mm = follow_up_pain.value_mm - baseline_pain.value_mm
        any_reduction = pain_mm < 0
        if baseline_pain.value_mm > 0:
            pain_pct = 100 * pain_mm / baseline_pain.value_mm
            pain_responder = is_at_or_below(
                follow_up_pain.value_mm, pain_responder_threshold(baseline_pain.value_mm, policy)
            )
    odi_points = odi_pct = None
    odi_responder = None
    if (
        baseline_odi is not None
        and follow_up_odi is not None
        and baseline_odi.score is not None
        and follow_up_odi.score is not None
    ):
        odi_points = follow_up_odi.score - baseline_odi.score
        if baseline_odi.score > 0:
            odi_pct = 100 * odi_points / baseline_odi.score
        odi_responder = is_at_or_below(
            follow_up_odi.score, odi_responder_threshold(baseline_odi.score, policy)
        )
    too_early = is_before_judgement(visit_key, policy)
    status: ResponseStatus
    if pain_responder is None:
        status = "not_measured"
    elif pain_responder:
        status = "responder"
    elif any_reduction or odi_responder:
        status = "too_early_to_judge" if too_early else "partial"
    else:
        status = "too_early_to_judge" if too_early else "non_responder"
    return Response(
        pain_mm,
        pain_pct,
        pain_responder,
        any_reduction,
        odi_points,
        odi_pct,
        odi_responder,
        too_early,
        status,
    )


def choose_baseline(
    measurements: Sequence[tuple[date, T]], first_injection: date, policy: Policy
) -> tuple[date, T] | None:
    """The last measurement on or before the first injection, no older than the policy allows."""
    window = policy.baseline_max_days_before_injection
    eligible = [
        (day, value)
        for day, value in measurements
        if day <= first_injection and (first_injection - day).days <= window
    ]
    if not eligible:
        return None
    return max(eligible, key=lambda item: item[0])
