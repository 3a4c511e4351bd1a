"""Reading a workup the way the pathway does (PATHWAY.md section 3, "Reading the workup").

Findings come from the most recent MRI; older studies are history. This module answers the
questions every rule asks - which MRI counts, which levels are degenerated, which blocks name a
level - once, so that no rule reads the raw workup its own way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from spinepath.pathway.dates import add_months, months_before
from spinepath.pathway.policy import Policy
from spinepath.pathway.recency import mri_cutoff
from spinepath.pathway.workup import (
    DISC_REMOVING_SURGERY,
    SPINE_SURGERY,
    DiagnosticBlock,
    ImagingStudy,
    LevelFinding,
    PriorProcedure,
    Workup,
)

RED_FLAG_NAMES: dict[str, str] = {
    "cauda_equina": "signs of cauda equina syndrome",
    "infection": "a possible spinal infection",
    "malignancy": "a possible cancer in the spine",
    "fracture": "a recent fracture of the spine",
}
SEVERE_HERNIATION = frozenset({"extrusion", "sequestration"})


@dataclass(frozen=True, slots=True)
class Reading:
    workup: Workup
    policy: Policy
    latest_mri: ImagingStudy | None
    mri_cutoff: date
    # The latest MRI when it is inside the recency window; None otherwise.
    recent_mri: ImagingStudy | None
    # Levels whose disc was removed (fused or replaced): no native disc left to inject.
    disc_removed_levels: frozenset[str]

    @property
    def mri_reviewed(self) -> bool:
        return self.recent_mri is not None and self.recent_mri.reviewed is True

    @property
    def findings(self) -> tuple[LevelFinding, ...]:
        return self.recent_mri.levels if self.recent_mri is not None else ()

    def degenerated_levels(self) -> list[LevelFinding]:
        """Pfirrmann at or above ``pfirrmann_degenerated_min``, leaving out fused or replaced
        levels (they are no longer discs)."""
        return [f for f in self.worn_discs() if f.level not in self.disc_removed_levels]

    def worn_discs(self) -> list[LevelFinding]:
        """Discs graded at or above ``pfirrmann_degenerated_min`` (fused levels included).
        Grade II is normal ageing in most adults: counting it would send most people over
        forty to discography."""
        least = self.policy.pfirrmann_degenerated_min
        return [f for f in self.findings if f.pfirrmann is not None and f.pfirrmann >= least]


def read_workup(workup: Workup, policy: Policy) -> Reading:
    mris = [s for s in workup.imaging if s.modality == "MRI"]
    latest = max(mris, key=lambda s: s.date) if mris else None
    cutoff = mri_cutoff(workup.assessed_on, policy)
    recent = latest if latest is not None and latest.date >= cutoff else None
    removed = frozenset(
        level
        for proc in workup.history.prior_procedures or ()
        if proc.kind in DISC_REMOVING_SURGERY
        for level in proc.levels
    )
    return Reading(workup, policy, latest, cutoff, recent, removed)


@dataclass(frozen=True, slots=True)
class RedFlag:
    name: str  # a key of RED_FLAG_NAMES
    source: str  # "the red-flag screen" or the study that reported it, e.g. "MRI of 2025-10-14"


def red_flags(reading: Reading) -> list[RedFlag]:
    """Red flags from the screen and from imaging, each with where it was found.

    Imaging counts when the study is inside the recency window, and the most recent MRI counts
    whatever its age: an MRI too old to plan treatment on is not too old to warn. Older studies
    that a newer MRI has replaced are history.
    """
    screen = reading.workup.red_flags
    found = [RedFlag(n, "the red-flag screen") for n in RED_FLAG_NAMES if getattr(screen, n)]
    for study in reading.workup.imaging:
        if study.date < reading.mri_cutoff and study is not reading.latest_mri:
            continue
        names = [
            name
            for name, present in (
                ("infection", study.infection is True),
                ("malignancy", study.malignancy is True),
                ("fracture", study.fracture == "acute"),
            )
            if present
        ]
        found.extend(RedFlag(name, f"{study.modality} of {study.date}") for name in names)
    return found


def red_flags_found(reading: Reading, flags: list[RedFlag] | None = None) -> list[str]:
    """The names of the red flags found, each once, in the screen's order."""
    names = {flag.name for flag in (red_flags(reading) if flags is None else flags)}
    return [name for name in RED_FLAG_NAMES if name in names]


def red_flags_unrecorded(workup: Workup) -> list[str]:
    flags = workup.red_flags
    return [name for name in RED_FLAG_NAMES if getattr(flags, name) is None]


def severe_herniations(reading: Reading) -> list[LevelFinding]:
    """Extruded or sequestered discs on the latest MRI, whatever its age: a safety finding."""
    if reading.latest_mri is None:
        return []
    return [f for f in reading.latest_mri.levels if f.herniation in SEVERE_HERNIATION]


def latest_block_at(workup: Workup, kind: str, level: str | None = None) -> DiagnosticBlock | None:
    """The most recent block of ``kind`` that names ``level`` (any block when level is None)."""
    best: DiagnosticBlock | None = None
    for block in workup.diagnostic_blocks:
        if block.kind != kind:
            continue
        if level is not None and level not in (block.levels or ()):
            continue
        if best is None or block.date >= best.date:
            best = block
    return best


def surgery_inside_recovery(reading: Reading) -> list[PriorProcedure]:
    """Spine surgery within ``recovery_min_months`` of the review, whatever its result."""
    cutoff = months_before(reading.workup.assessed_on, reading.policy.recovery_min_months)
    return [
        p
        for p in reading.workup.history.prior_procedures or ()
        if p.kind in SPINE_SURGERY and p.date > cutoff
    ]


def recovery_ends(procedure: PriorProcedure, policy: Policy) -> date:
    return add_months(procedure.date, policy.recovery_min_months)


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def join_words(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def fmt_number(value: float) -> str:
    return f"{value:g}"
