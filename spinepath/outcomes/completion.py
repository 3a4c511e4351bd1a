"""Follow-up completion (PATHWAY.md section 11): per visit, which reminder step got the
answer, and who is being lost, against the clinic's target at 12 months - counted in the
database, with an exact (Clopper-Pearson) 95% interval on every share.

The rules are pure (:mod:`spinepath.pathway.completion`): what is due, answered, lost or in
progress, the bands, and which step got the answer. The step is decided once, when the answers
are saved, and kept with them (``OutcomeMeasurement.answered_after_step``), so counting reads
no reminder step. The counting is one grouped query over the visits whatever the number of
patients - visit, state, the step that got the answer, and the group values (age band at the
due date, sex, payer, distance band, material, treatment), the bands written in SQL from the
pure module's own tables - and the worklist's line one smaller query, of the target visit.

Every visit counts, the synthetic cohort's too, as on the outcomes dashboard; a visit whose
course no longer has an injection that stands is not in the cohort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.lookups import LessThan

from spinepath.followup.models import ReassessmentVisit
from spinepath.outcomes.stats import RateInterval, clopper_pearson
from spinepath.pathway import completion as rules
from spinepath.pathway.completion import Completion, Tally, VisitCompletion
from spinepath.patients.models import PAYER_CHOICES, SEX_CHOICES
from spinepath.plans.models import GENERATOR_CHOICES, MATERIAL_CHOICES
from spinepath.web.policy import clinic_policy

SEX_WORDS = dict(SEX_CHOICES)
PAYER_WORDS = dict(PAYER_CHOICES)
MATERIAL_WORDS = dict(MATERIAL_CHOICES)
TREATMENT_WORDS = dict(GENERATOR_CHOICES) | {"multiple": "More than one kind of target"}

ANSWERED_INSIDE = Q(measurement__isnull=False, measurement__outside_window=False)


# --- Counting ---------------------------------------------------------------------------------


class AgeInYears(Func):
    """Whole years from a birth date to a day (``rules.age_in_years``), in the database's own
    functions: Django's date transforms are Python callbacks on SQLite, and this is read for
    every visit. On SQLite (dates stored as YYYY-MM-DD) it is the difference of the dates as
    YYYYMMDD numbers divided by 10,000, which counts a year only once the birthday is reached."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        born, born_params = compiler.compile(self.source_expressions[0])
        on, on_params = compiler.compile(self.source_expressions[1])
        md = "(EXTRACT(MONTH FROM {0}) * 100 + EXTRACT(DAY FROM {0}))"
        sql = (
            f"(EXTRACT(YEAR FROM {on}) - EXTRACT(YEAR FROM {born}) - "
            f"CASE WHEN {md.format(born)} > {md.format(on)} THEN 1 ELSE 0 END)"
        )
        return sql, [*on_params, *born_params, *born_params, *born_params, *on_params, *on_params]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        born, born_params = compiler.compile(self.source_expressions[0])
        on, on_params = compiler.compile(self.source_expressions[1])
        number = "CAST(REPLACE({0}, '-', '') AS INTEGER)"
        sql = f"(({number.format(on)} - {number.format(born)}) / 10000)"
        return sql, [*on_params, *born_params]


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _age_band() -> Case:
    """``rules.age_band(birth_date, due)`` in SQL, from the same table of bands."""
    age = AgeInYears("patient__birth_date", "due")
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


def _state(today: date) -> Case:
    """``rules.visit_state`` in SQL."""
    return Case(
        When(ANSWERED_INSIDE, then=_text(rules.ANSWERED)),
        When(closes__lt=today, then=_text(rules.LOST)),
        default=_text(rules.IN_PROGRESS),
    )


def _counted(today: date) -> QuerySet[ReassessmentVisit]:
    """The visits of the cohort (their course has an injection that stands, as the outcomes
    dashboard counts them) whose window has opened by ``today``.

    Written as one condition the database cannot answer from an index: at 100,000 patients
    SQLite reads the whole table in order faster than it fetches most of its rows one by one
    from the index of the opening date or the injection's."""
    counted = Case(
        When(injected_on__isnull=False, opens__lte=today, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return ReassessmentVisit.objects.alias(counted=counted).filter(counted=1)


def _words(words: dict[str, str], code: str | None) -> str:
    return words.get(code or "", code or "") or rules.NOT_RECORDED


def completion_counts(today: date) -> rules.CompletionCounts:
    """The counts of every visit whose window has opened by ``today``: one grouped query."""
    counts = rules.CompletionCounts()
    # The state comes first in the grouping: grouped by the visit's key first, SQLite would
    # walk an index of the visits in that order and fetch each row from it (slower, as above).
    rows = (
        _counted(today)
        .annotate(
            state=_state(today),
            visit=F("key"),
            got=Case(When(ANSWERED_INSIDE, then=F("measurement__answered_after_step"))),
            age=_age_band(),
            distance=_distance_band(),
            sex=F("patient__sex"),
            payer=F("patient__payer"),
            injected=F("material"),
            treated=F("generator"),
        )
        .values("state", "visit", "got", "age", "distance", "sex", "payer", "injected", "treated")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        values = {
            rules.AGE: row["age"],
            rules.SEX: _words(SEX_WORDS, row["sex"]),
            rules.PAYER: _words(PAYER_WORDS, row["payer"]),
            rules.DISTANCE: row["distance"],
            rules.MATERIAL: _words(MATERIAL_WORDS, row["injected"]),
            rules.TREATMENT: _words(TREATMENT_WORDS, row["treated"]),
        }
        counts.add(row["visit"], row["state"], values, n=row["n"])
        if row["state"] == rules.ANSWERED and row["got"]:
            counts.add_answered_after(row["visit"], row["got"], row["n"])
    return counts


def target_counts(today: date) -> rules.CompletionCounts:
    """The counts of the target visit alone (the worklist's line): one small query."""
    counts = rules.CompletionCounts()
    rows = (
        _counted(today)
        .filter(key=rules.TARGET_VISIT)
        .annotate(state=_state(today))
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts.add(rules.TARGET_VISIT, row["state"], {}, n=row["n"])
    return counts


# --- The page's figures: every share with its exact interval ----------------------------------


@dataclass(frozen=True)
class Share:
    """One share on the page: its counts and its exact interval."""

    tally: Tally
    interval: RateInterval


@dataclass(frozen=True)
class GroupLine:
    value: str
    flagged: bool  # under the target at 12 months
    shares: list[Share]


@dataclass(frozen=True)
class GroupTable:
    key: str
    title: str
    lines: list[GroupLine]


@dataclass(frozen=True)
class VisitLine:
    visit: VisitCompletion
    share: Share


@dataclass(frozen=True)
class CompletionFigures:
    completion: Completion
    visits: list[VisitLine]
    groups: list[GroupTable]

    @property
    def labels(self) -> list[str]:
        return [line.visit.label for line in self.visits]


def _share(tally: Tally) -> Share:
    return Share(tally, clopper_pearson(tally.answered, tally.due))


def completion_figures(today: date) -> CompletionFigures:
    """The page's figures today (the view keeps them until the data or the policy changes)."""
    policy = clinic_policy()
    done = completion_counts(today).completion(policy)
    return CompletionFigures(
        completion=done,
        visits=[VisitLine(v, _share(v.tally)) for v in done.visits],
        groups=[
            GroupTable(
                grouping.key,
                grouping.title,
                [
                    GroupLine(row.value, row.flagged, [_share(t) for t in row.tallies])
                    for row in grouping.rows
                ],
            )
            for grouping in done.groupings
        ],
    )
