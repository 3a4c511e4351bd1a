""" "Patients like you": a candidate's figures from the clinic's own treated courses, beside the
published studies (the rules are pure, in spinepath/pathway/odds.py).

The figures are those of the **date of the data**, the day before today: courses whose 6- or
12-month window had closed by then, answers recorded by then, adverse events recorded by
then. Within a day they do not move while a patient reads them, so the written plan can bind
them into the content the patient accepts (``plan_content_hash``), and the PDF printed at
acceptance keeps them as read.

Counting is two grouped queries over one kind of target's visits (covered by the
``visit_odds_cover`` index), computed once a day and kept in the database for every server
(spinepath/outcomes/daily.py); matching and widening are pure.
Synthetic patients (the demo's and the benchmarks') never count in what a patient reads.

What a page shows is a plain document (:func:`odds_document`): the words and numbers a patient
read, kept as they were with an accepted plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, Value
from django.utils import timezone

from spinepath.errors import Invalid
from spinepath.followup.models import ReassessmentVisit
from spinepath.outcomes.daily import of_the_day, stored
from spinepath.pathway.instruments import odi_responder_plain
from spinepath.pathway.odds import (
    ANY,
    FEATURE_WORDS,
    FEATURES,
    KIND_WORDS,
    PRIMARY_VISIT,
    VISIT_WORDS,
    VISITS,
    Features,
    Match,
    Share,
    Tally,
    course_features,
    decision_targets,
    feature_value_words,
    feature_values,
    match,
)
from spinepath.patients.models import SYNTHETIC_ID_PREFIX
from spinepath.web.policy import clinic_policy

DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class OddsScope:
    """What a cached count is of (the cache keys on it)."""

    kind: str
    include_synthetic: bool = False


def data_date(today: date) -> date:
    """The date of the data the figures are of: the day before ``today``."""
    return today - timedelta(days=1)


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _courses(kind: str, include_synthetic: bool) -> Any:
    visits = ReassessmentVisit.objects.filter(injected_on__isnull=False, generator=kind)
    if not include_synthetic:
        visits = visits.exclude(patient__external_id__startswith=SYNTHETIC_ID_PREFIX)
    return visits


FEATURE_FIELDS = ("prognosis_tier", "treated_grade", "pain_pattern", "age_band")


def _features(kind: str, row: dict[str, Any]) -> Features:
    return Features(
        kind, row["prognosis_tier"], row["treated_grade"], row["pain_pattern"], row["age_band"]
    )


def feature_counts(
    kind: str, as_of: date, *, include_synthetic: bool = False
) -> dict[Features, dict[str, Tally]]:
    """By the features of one kind of target's courses, by visit (6 and 12 months): the
    courses whose window had closed by ``as_of``, answered inside it (answers recorded by
    then) or lost, and the responders among those answered. One grouped query."""
    answered = Q(
        measurement__isnull=False,
        measurement__outside_window=False,
        measurement__created_at__lt=_end_of(as_of),
    )
    rows = (
        _courses(kind, include_synthetic)
        .filter(key__in=VISITS, closes__lte=as_of)
        .values("key", *FEATURE_FIELDS)
        .annotate(
            courses=Count("id"),
            answered=Count("id", filter=answered),
            pain_yes=Count("id", filter=answered & Q(measurement__pain_responder=True)),
            pain_n=Count("id", filter=answered & Q(measurement__pain_responder__isnull=False)),
            odi_yes=Count("id", filter=answered & Q(measurement__odi_responder=True)),
            odi_n=Count("id", filter=answered & Q(measurement__odi_responder__isnull=False)),
        )
        .order_by()
    )
    out: dict[Features, dict[str, Tally]] = {}
    for row in rows:
        out.setdefault(_features(kind, row), {})[row["key"]] = Tally(
            row["answered"],
            row["courses"] - row["answered"],
            row["pain_yes"],
            row["pain_n"],
            row["odi_yes"],
            row["odi_n"],
        )
    return out


def event_counts(
    kind: str, as_of: date, *, include_synthetic: bool = False
) -> dict[Features, tuple[int, int]]:
    """By the features of one kind of target's courses injected by ``as_of``: (courses, those
    followed by an adverse event recorded by then, whose latest version by then judges it at
    least possibly related to the procedure or the product)."""
    from spinepath.outcomes.safety_rates import followed_by_events
    from spinepath.plans.models import Procedure

    injections = followed_by_events(before=_end_of(as_of))
    plans = set(Procedure.objects.filter(id__in=list(injections)).values_list("plan_id", flat=True))
    first_visit = clinic_policy().visits[0].key
    rows = (
        _courses(kind, include_synthetic)
        .filter(key=first_visit, injected_on__lte=as_of)
        .values(*FEATURE_FIELDS)
        .annotate(
            courses=Count("id"),
            followed=Count("id", filter=Q(plan_id__in=list(plans))) if plans else Value(0),
        )
        .order_by()
    )
    return {_features(kind, row): (row["courses"], row["followed"] or 0) for row in rows}


@dataclass(frozen=True)
class Counts:
    outcomes: dict[Features, dict[str, Tally]]
    events: dict[Features, tuple[int, int]]


def _name(kind: str, include_synthetic: bool) -> str:
    return f"odds:{kind}:{'all' if include_synthetic else 'own'}"


def stored_counts(kind: str, as_of: date) -> tuple[Counts, datetime] | None:
    """The counts patients were given for ``as_of`` and when they were computed, if any."""
    return stored(_name(kind, False), as_of)


def counts(kind: str, as_of: date, *, include_synthetic: bool = False) -> Counts:
    """Both counts for one kind of target: the day's (spinepath/outcomes/daily.py)."""
    return of_the_day(
        _name(kind, include_synthetic),
        as_of,
        lambda: Counts(
            feature_counts(kind, as_of, include_synthetic=include_synthetic),
            event_counts(kind, as_of, include_synthetic=include_synthetic),
        ),
    )


def candidate_features(
    decision_json: dict[str, Any], workup_json: dict[str, Any], born: date | None, on: date
) -> Features | None:
    """A candidate's features: its decision's recommended targets and prognosis tier, the
    workup it was made on, and the patient's age ``on`` the day asked. None when the decision
    is not ``candidate`` or has no target."""
    if decision_json.get("decision") != "candidate":
        return None
    targets = decision_targets(decision_json)
    if not targets:
        return None
    tier = (decision_json.get("prognosis") or {}).get("tier", "")
    return course_features(workup_json, tier, targets, born, on)


def group_events(events: dict[Features, tuple[int, int]], group: Features) -> tuple[int, int]:
    courses = followed = 0
    for features, (n, yes) in events.items():
        if group.matches(features):
            courses += n
            followed += yes
    return courses, followed


def patients_like_you(
    features: Features, today: date, *, include_synthetic: bool = False
) -> tuple[Match, tuple[int, int], date]:
    """The match for ``features`` (and the adverse events of its group) on the data of the
    day before ``today``."""
    as_of = data_date(today)
    found = counts(features.kind, as_of, include_synthetic=include_synthetic)
    minimum = clinic_policy().odds_min_patients
    matched = match(found.outcomes, features, minimum)
    return matched, group_events(found.events, matched.group), as_of


# --- The document a page shows (and an accepted plan keeps) -------------------------------------


def _percent(value: float, rounding: str = "nearest") -> str:
    """A share as a percent: whole under 10% only to one decimal ("0.9%"); an interval's low
    end rounded down and its high end up, so that rounding never narrows it."""
    scale = 1000 if value < 0.1 else 100
    step = {"down": math.floor, "up": math.ceil}.get(rounding, round)
    number = step(
        value * scale + (1e-9 if rounding == "down" else -1e-9 if rounding == "up" else 0)
    )
    text = f"{number / 10:g}" if scale == 1000 else f"{number}"
    return f"{text}%"


def _interval(low: float, high: float) -> tuple[str, str]:
    return _percent(low, "down"), _percent(high, "up")


def _share(share: Share | None, lost: int, what: str, visit: str) -> dict[str, Any] | None:
    if share is None:
        return None
    low, high = share.interval or (0.0, 0.0)
    total = share.n + lost
    worst, best = share.yes / total, (share.yes + lost) / total
    return {
        "yes": share.yes,
        "n": share.n,
        "percent": _percent(share.yes / share.n),
        "low": _interval(low, high)[0],
        "high": _interval(low, high)[1],
        "sentence": (
            f"Of {share.n} patients like you who answered at {VISIT_WORDS[visit]}, "
            f"{share.yes} had {what}."
        ),
        "lost": lost,
        "worst": _percent(worst),
        "best": _percent(best),
    }


PAIN_WHAT = "at least 30% less pain"


def _odi_what() -> str:
    return odi_responder_plain(clinic_policy())


def published_figures(kind: str) -> list[dict[str, Any]]:
    """The published studies the clinic cites for this kind of treatment (evidence.toml: a
    study's ``treats``), each in plain words: the study, then its figures."""
    from spinepath.outcomes.evidence import studies

    out = []
    for study in studies():
        if study.get("treats") != kind:
            continue
        figures = [
            f.get("plain") or f"{f['label']}: {_percent(float(f['rate']))} of patients"
            for f in study.get("figures", [])
        ]
        name = study.get("plain") or study["title"]
        out.append(
            {"study": name, "figures": figures, "sentence": f"{name}, " + "; ".join(figures) + "."}
        )
    return out


def _alike(group: Features) -> str:
    """What the group shares with the candidate, in words: "prognosis (typical), pain
    pattern (back pain mainly) and age (50-59)"."""
    parts = [
        f"{name} ({value})"
        for (name, value), field in zip(group.words(), FEATURES, strict=True)
        if field != "kind" and getattr(group, field) != ANY
    ]
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else ""


def _any_of(names: list[str]) -> str:
    """ "any age, any pain pattern and any disc degeneration"."""
    parts = [f"any {name}" for name in names]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def _published_safety() -> str:
    """The published rate of serious side effects the clinic cites, in plain words."""
    from spinepath.outcomes.evidence import studies
    from spinepath.outcomes.safety_rates import PUBLISHED_MEASURE

    for study in studies():
        for figure in study.get("figures", []):
            if figure["measure"] == PUBLISHED_MEASURE:
                plain = figure.get("plain") or (
                    f"{figure['label']}: {float(figure['rate']) * 100:.2g}% ({study['title']})"
                )
                return f"{plain} ({study.get('source') or study['title']})."
    return ""


def odds_document(features: Features, today: date) -> dict[str, Any]:
    """What the pages show of a candidate's odds, in words and numbers (JSON): the features
    matched on, what was widened, each figure with its interval and bounds, the adverse events
    of the group, the published figures, and the date of the data."""
    matched, (courses, followed), as_of = patients_like_you(features, today)
    pain_what = PAIN_WHAT.replace("30%", f"{clinic_policy().pain_responder_min_pct:g}%")
    visits = []
    for figures in matched.figures:
        visits.append(
            {
                "visit": figures.visit,
                "label": figures.label,
                "answered": figures.answered,
                "lost": figures.lost,
                "pain": _share(figures.pain, figures.lost, pain_what, figures.visit),
                "odi": _share(figures.odi, figures.lost, _odi_what(), figures.visit),
            }
        )
        visits[-1]["shares"] = [visits[-1]["pain"], visits[-1]["odi"]]
    adverse = None
    if matched.enough and courses >= matched.minimum:
        low, high = Share(followed, courses).interval or (0.0, 0.0)
        adverse = {
            "yes": followed,
            "n": courses,
            "percent": _percent(followed / courses),
            "low": _interval(low, high)[0],
            "high": _interval(low, high)[1],
            "sentence": (
                f"Of {courses} patients like you treated here, {followed} had a side effect "
                "recorded that may have been caused by the injection or the product."
            ),
        }
    from spinepath.outcomes.model import patient_estimate

    estimate, shown, withheld = patient_estimate(features, as_of)
    return {
        "version": DOCUMENT_VERSION,
        # The clinic's model: the patient's own estimate only while its calibration passes the
        # policy's thresholds; otherwise why not (shown to staff).
        "estimate": {
            "percent": _percent(estimate.probability),
            "low": _interval(estimate.low, estimate.high)[0],
            "high": _interval(estimate.low, estimate.high)[1],
            "patients": estimate.patients,
        }
        if estimate is not None and shown
        else None,
        "estimate_withheld": [] if shown else list(withheld),
        "as_of": as_of.isoformat(),
        "as_of_words": f"{as_of.day} {as_of:%B %Y}",
        # The group's stored values ("any" once widened): the cohort rows behind the figures.
        "trace_query": urlencode(
            {**{name: getattr(matched.group, name) for name in FEATURES}, "as_of": as_of}
        ),
        "treatment": feature_value_words("kind", features.kind),
        "features": [[name, value] for name, value in features.words()],
        "group": [[name, value] for name, value in matched.group.words()],
        "alike": _alike(matched.group),
        "widened": matched.widened_words,
        "widened_sentence": _any_of(matched.widened_words),
        "minimum": matched.minimum,
        "enough": matched.enough,
        "answered_at_12_months": matched.tallies[PRIMARY_VISIT].answered,
        "visits": visits,
        "adverse": adverse,
        "published": published_figures(features.kind),
        "published_safety": _published_safety(),
        "pain_what": pain_what,
        "odi_what": _odi_what(),
    }


def daily_figures(today: date) -> tuple[date, list[str]]:
    """The day's figures for every kind of treatment and the clinic's model, computed and kept
    unless they already are (`spinepath daily-figures`, from cron early each day)."""
    from spinepath.outcomes.model import clinic_model

    as_of = data_date(today)
    lines = []
    for kind, words in KIND_WORDS.items():
        found = counts(kind, as_of)
        answered = sum(
            by_visit[PRIMARY_VISIT].answered
            for by_visit in found.outcomes.values()
            if PRIMARY_VISIT in by_visit
        )
        lines.append(f"{words}: {answered} answered at 12 months")
    result = clinic_model(as_of)
    if result.calibration is None:
        lines.append(f"the clinic's model: {result.reason}")
    else:
        lines.append(f"the clinic's model: fitted on {result.courses} courses")
    return as_of, lines


def answer_odds_asked(
    sender: Any,
    *,
    decision_json: dict[str, Any],
    workup_json: dict[str, Any],
    born: date | None,
    on: date,
    **_: Any,
) -> dict[str, Any] | None:
    """The consultations app's question (consultations/events.py): a candidate's document."""
    features = candidate_features(decision_json, workup_json, born, on)
    return odds_document(features, on) if features is not None else None


# --- The treated courses behind a group's figures (the clinic admin's and clinicians' page) ---


def group_from(values: dict[str, str]) -> Features:
    """A group from a page's query (stored values, "any" for a widened feature): a value that
    is not one a feature can take is refused, naming the feature."""
    if not values.get("kind"):
        raise Invalid(
            "kind: say which kind of treatment the group was treated with.",
            fields={"kind": "Say which kind of treatment."},
        )
    chosen = {name: values.get(name) or ANY for name in FEATURES}
    for name, value in chosen.items():
        if value not in feature_values(name) or (name == "kind" and value == ANY):
            raise Invalid(
                f"{name}: not a value of {FEATURE_WORDS[name]} ({value[:40]!r})",
                fields={name: f"Not a value of {FEATURE_WORDS[name]}."},
            )
    return Features(**chosen)


def group_courses(group: Features, as_of: date, *, include_synthetic: bool = False) -> Any:
    """The visits at 6 and 12 months of the courses in ``group`` whose window had closed by
    ``as_of``, each with its answers: the rows every figure of the group is counted from."""
    visits = _courses(group.kind, include_synthetic).filter(key__in=VISITS, closes__lte=as_of)
    for name, field in zip(FEATURES[1:], FEATURE_FIELDS, strict=True):
        value = getattr(group, name)
        if value != ANY:
            visits = visits.filter(**{field: value})
    return visits.select_related("patient", "measurement").order_by("injected_on", "plan_id", "due")


def course_row(visit: Any, as_of: date) -> dict[str, Any]:
    """One row of the page, counted as the figures count it."""
    m = getattr(visit, "measurement", None)
    answered = m is not None and not m.outside_window and m.created_at < _end_of(as_of)
    return {
        "visit": visit,
        "answered": answered,
        "pain_responder": m.pain_responder if answered else None,
        "odi_responder": m.odi_responder if answered else None,
        "measured_on": m.measured_on if answered else None,
    }
