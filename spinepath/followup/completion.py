"""Follow-up completion, counted in the database (PATHWAY.md section 11): per visit, which
reminder step got the answer, and who is being lost.

The rules are pure (:mod:`spinepath.pathway.completion`): what is due, answered, lost or in
progress, the bands, and which step got the answer (``step_that_got_the_answer``, the ladder's
``answered_after``). Here the database does the counting, in two queries whatever the number of
patients, so no visit is read row by row:

- the visits whose window has opened, grouped by visit, state, the step that got the answer
  (a subquery per visit over its own few steps, read from their index: the last one in ladder
  order that reached the patient on or before the answer, as ``answered_after`` decides) and the
  group values: age band at the due date, sex, payer, distance band, material, treatment (the
  bands are written in SQL from the pure module's own tables);
- the reminder steps that reached a due visit before its answer, or before its window closed
  without one, grouped by visit and step.

Every visit counts, the synthetic cohort's too, as on the outcomes dashboard; a visit whose
course no longer has an injection that stands is not in the cohort. It lives in the follow-up
app, whose data it counts, so that the worklist (here) can show its one line; the outcomes app
above adds the exact intervals, the page and the report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    Expression,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear, TruncDate
from django.db.models.lookups import GreaterThan, LessThan

from spinepath.followup.cache import versioned
from spinepath.followup.models import ReassessmentVisit, ReminderStep
from spinepath.pathway import completion as rules
from spinepath.pathway.policy import Policy
from spinepath.patients.models import PAYER_CHOICES, SEX_CHOICES
from spinepath.plans.models import GENERATOR_CHOICES, MATERIAL_CHOICES
from spinepath.web.policy import clinic_policy

SEX_WORDS = dict(SEX_CHOICES)
PAYER_WORDS = dict(PAYER_CHOICES)
MATERIAL_WORDS = dict(MATERIAL_CHOICES)
TREATMENT_WORDS = dict(GENERATOR_CHOICES) | {"multiple": "More than one kind of target"}

# The visit's course has an injection that stands (as the outcomes dashboard counts it).
IN_A_COURSE = Q(injected_on__isnull=False)
ANSWERED_INSIDE = Q(measurement__isnull=False, measurement__outside_window=False)


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _month_day(name: str) -> Any:
    return ExtractMonth(name) * 100 + ExtractDay(name)


def _age_band() -> Case:
    """``rules.age_band(birth_date, due)`` in SQL, from the same table of bands."""
    born = "patient__birth_date"
    birthday_to_come = Case(
        When(GreaterThan(_month_day(born), _month_day("due")), then=Value(1)), default=Value(0)
    )
    age = ExtractYear("due") - ExtractYear(born) - birthday_to_come
    return Case(
        When(patient__birth_date__isnull=True, then=_text(rules.NOT_RECORDED)),
        *(When(LessThan(age, high), then=_text(words)) for _, high, words in rules.AGE_BANDS),
        default=_text(rules.OLDEST_BAND),
    )


def _distance_band() -> Case:
    """``rules.distance_band(distance_km)`` in SQL, from the same table of bands."""
    return Case(
        When(patient__distance_km__isnull=True, then=_text(rules.DISTANCE_UNKNOWN)),
        *(
            When(patient__distance_km__lt=high, then=_text(words))
            for _, high, words in rules.DISTANCE_BANDS
        ),
        default=_text(rules.FARTHEST_BAND),
    )


def _reached_on(prefix: str = "") -> Case:
    """``rules.reached_on`` in SQL (the status is filtered apart): the day a step reached the
    patient, a letter's the day it was printed (null if never)."""
    return Case(
        When(**{f"{prefix}channel": ReminderStep.LETTER}, then=TruncDate(f"{prefix}printed_at")),
        default=F(f"{prefix}acted_on"),
        output_field=DateField(),
    )


def _step_that_got_the_answer() -> Expression:
    """``rules.step_that_got_the_answer`` per visit: the last step in ladder order that reached
    the patient on or before the day of the answer."""
    reached = (
        ReminderStep.objects.filter(visit=OuterRef("pk"), status=ReminderStep.SENT)
        .annotate(reached=_reached_on())
        .filter(reached__lte=OuterRef("measurement__measured_on"))
        .order_by("-position", "-id")
        .values("step")[:1]
    )
    return Case(When(ANSWERED_INSIDE, then=Subquery(reached)), default=None)


def _state(today: date) -> Case:
    """``rules.visit_state`` in SQL."""
    return Case(
        When(ANSWERED_INSIDE, then=_text(rules.ANSWERED)),
        When(closes__lt=today, then=_text(rules.LOST)),
        default=_text(rules.IN_PROGRESS),
    )


def _words(words: dict[str, str], code: str | None) -> str:
    return words.get(code or "", code or "") or rules.NOT_RECORDED


def completion_counts(today: date, policy: Policy) -> rules.CompletionCounts:
    """The counts of every visit whose window has opened by ``today`` (two queries)."""
    counts = rules.CompletionCounts()
    visits = (
        ReassessmentVisit.objects.filter(IN_A_COURSE, opens__lte=today)
        .annotate(
            state=_state(today),
            got=_step_that_got_the_answer(),
            age=_age_band(),
            distance=_distance_band(),
            sex=F("patient__sex"),
            payer=F("patient__payer"),
        )
        .values("key", "state", "got", "age", "distance", "sex", "payer", "material", "generator")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in visits:
        values = {
            rules.AGE: row["age"],
            rules.SEX: _words(SEX_WORDS, row["sex"]),
            rules.PAYER: _words(PAYER_WORDS, row["payer"]),
            rules.DISTANCE: row["distance"],
            rules.MATERIAL: _words(MATERIAL_WORDS, row["material"]),
            rules.TREATMENT: _words(TREATMENT_WORDS, row["generator"]),
        }
        counts.add(row["key"], row["state"], values, row["got"], n=row["n"])
    lost = Q(visit__closes__lt=today) & (
        Q(visit__measurement__isnull=True) | Q(visit__measurement__outside_window=True)
    )
    before_the_answer = Q(
        visit__measurement__isnull=False,
        visit__measurement__outside_window=False,
        reached__lte=F("visit__measurement__measured_on"),
    )
    reached = (
        ReminderStep.objects.filter(
            status=ReminderStep.SENT, visit__injected_on__isnull=False, visit__opens__lte=today
        )
        .annotate(reached=_reached_on())
        .filter(before_the_answer | (lost & Q(reached__isnull=False)))
        .values("visit__key", "step")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in reached:
        counts.add_reached(row["visit__key"], row["step"], row["n"])
    return counts


def completion(today: date) -> rules.Completion:
    """The clinic's completion today, kept until a visit, a measurement, a patient or a
    reminder step changes (spinepath/followup/cache.py), or the policy does."""
    policy = clinic_policy()
    digest = hashlib.sha256(
        json.dumps(asdict(policy), sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return versioned(
        f"completion:{digest}", today, lambda: completion_counts(today, policy).completion(policy)
    )
