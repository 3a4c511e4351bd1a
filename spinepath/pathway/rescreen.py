"""Policy what-if: every signed workup decided again under a draft policy.

Pure and streaming: the caller passes (record number, decision as signed, workup) one at a time,
in any number; only the counts and the record numbers of patients whose decision would change are
kept, so memory stays flat at any cohort size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from spinepath.pathway.engine import decide
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import Workup


@dataclass(frozen=True, slots=True)
class Change:
    patient: str
    before: str
    after: str


@dataclass
class Rescreen:
    policy: Policy
    workups: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.changes)

    def as_json(self) -> dict[str, object]:
        """The command line's report (and the web page's summary)."""
        return {
            "policy": {"name": self.policy.name, "version": self.policy.version},
            "workups": self.workups,
            "changed": self.changed,
            "transitions": dict(sorted(self.transitions.items())),
            "patients": sorted({c.patient for c in self.changes}),
        }


def transition(before: str, after: str) -> str:
    return f"{before}->{after}"


def rescreen(
    items: Iterable[tuple[str, str, Workup]],
    policy: Policy,
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> Rescreen:
    """Decide each workup under ``policy`` and count the decisions that differ from the signed
    ones. ``progress(done)`` is called every ``every`` workups."""
    result = Rescreen(policy)
    for patient, before, workup in items:
        after = decide(workup, policy).decision
        result.workups += 1
        if after != before:
            result.transitions[transition(before, after)] += 1
            result.changes.append(Change(patient, before, after))
        if progress is not None and result.workups % every == 0:
            progress(result.workups)
    return result
