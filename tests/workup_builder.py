"""Workups for tests: a complete single-level candidate, changed one fact at a time."""

from __future__ import annotations

import copy
from typing import Any

from spinepath.pathway.decision import Decision
from spinepath.pathway.engine import decide
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import Workup, workup_from_dict

NORMAL_LEVEL = {
    "pfirrmann": 1,
    "modic": 0,
    "disc_height_loss_pct": 0,
    "endplate_bone_on_bone": False,
    "herniation": "none",
    "nerve_root_compression": False,
    "facet_arthropathy": 0,
    "ligament_injury": False,
}
LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


def mri_levels(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Five normal lumbar levels; ``L4_L5={...}`` changes the findings at L4-L5."""
    levels = []
    for level in LEVELS:
        finding = {"level": level, **NORMAL_LEVEL}
        finding.update(changes.get(level.replace("-", "_"), {}))
        levels.append(finding)
    return levels


def base_document() -> dict[str, Any]:
    """A single-level moderate disc at L4-L5, plateaued care: a candidate, strongest prognosis."""
    return {
        "schema": "spinepath.workup/1",
        "patient": {"id": "t-001", "birth_date": "1970-05-01", "sex": "female"},
        "assessed_on": "2026-11-02",
        "history": {
            "pain_duration_months": 24,
            "pattern": "axial",
            "conservative_care": {
                "physical_therapy_weeks": 12,
                "nsaid_trial": True,
                "status": "plateaued",
            },
            "prior_procedures": [],
            "medications": [],
        },
        "red_flags": {
            "cauda_equina": False,
            "infection": False,
            "malignancy": False,
            "fracture": False,
        },
        "exam": {
            "motor_deficit": "none",
            "facet_pattern": False,
            "si_provocation_positive": 0,
            "ligament_tenderness": False,
        },
        "imaging": [
            {
                "modality": "MRI",
                "date": "2026-08-20",
                "reviewed": True,
                "levels": mri_levels(L4_L5={"pfirrmann": 4, "disc_height_loss_pct": 25}),
                "infection": False,
                "malignancy": False,
                "fracture": "none",
            }
        ],
        "diagnostic_blocks": [],
        "outcomes": {"pain_vas": 70, "odi_sections": [3, 2, 3, 2, 3, 2, 2, None, 2, 3]},
        "payer": "self_pay",
    }


def document(**sections: Any) -> dict[str, Any]:
    """The base document with whole sections or single fields replaced.

    ``document(history__pattern="mixed")`` sets one field; ``document(imaging=[])`` a section.
    A value of ``DROP`` removes the field (it becomes "not recorded").
    """
    doc = copy.deepcopy(base_document())
    for key, value in sections.items():
        path = key.split("__")
        target = doc
        for part in path[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last: Any = int(path[-1]) if isinstance(target, list) else path[-1]
        if value is DROP:
            target.pop(last)
        else:
            target[last] = value
    return doc


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()


def workup(**sections: Any) -> Workup:
    return workup_from_dict(document(**sections))


def decision_for(policy: Policy | None = None, **sections: Any) -> Decision:
    return decide(workup(**sections), policy or Policy())


def recommended(decision: Decision) -> list[tuple[str, str | None]]:
    return [(r.kind, r.level) for r in decision.recommendations]
