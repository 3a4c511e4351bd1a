"""The completion page's figures (PATHWAY.md section 11): the follow-up app's counts
(spinepath/followup/completion.py, two queries) with an exact (Clopper-Pearson) 95% interval
on every share, as the outcomes dashboard gives its rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from spinepath.followup.completion import completion
from spinepath.outcomes.stats import RateInterval, clopper_pearson
from spinepath.pathway.completion import Completion, Tally, VisitCompletion


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
    done = completion(today)
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
