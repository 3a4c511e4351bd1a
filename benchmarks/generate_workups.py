"""Varied, valid synthetic workups (spinepath.workup/1) for benchmarks, seeded and repeatable.

python benchmarks/generate_workups.py 100000 > var/workups.jsonl
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import orjson

LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
REVIEW = date(2026, 11, 2)


def _maybe(rng: random.Random, value: Any, p_missing: float = 0.05) -> Any:
    return None if rng.random() < p_missing else value


def _level(rng: random.Random, level: str) -> dict[str, Any]:
    worn = rng.random() < 0.35
    pf = rng.choice((2, 3, 3, 4, 4, 5)) if worn else 1
    finding = {
        "level": level,
        "pfirrmann": pf,
        "modic": rng.choice((0, 0, 1, 2)) if worn else 0,
        "disc_height_loss_pct": rng.choice((0, 10, 25, 40, 55, 70)) if worn else 0,
        "endplate_bone_on_bone": worn and rng.random() < 0.1,
        "herniation": rng.choice(("none", "bulge", "protrusion", "extrusion")) if worn else "none",
        "nerve_root_compression": worn and rng.random() < 0.15,
        "facet_arthropathy": rng.choice((0, 0, 1, 2, 3)),
        "ligament_injury": rng.random() < 0.05,
    }
    return {k: v for k, v in finding.items() if k == "level" or rng.random() > 0.03}


def workup(rng: random.Random, index: int) -> dict[str, Any]:
    review = REVIEW - timedelta(days=rng.randrange(0, 700))
    born = date(rng.randrange(1940, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
    doc: dict[str, Any] = {
        "schema": "spinepath.workup/1",
        "patient": {
            "id": f"gen-{index:07d}",
            "birth_date": born.isoformat(),
            "sex": rng.choice(("female", "male")),
        },
        "assessed_on": review.isoformat(),
        "history": {
            "pain_duration_months": rng.choice((1, 2, 4, 8, 14, 30, 60)),
            "pattern": rng.choice(("axial", "axial", "mixed", "radicular")),
            "conservative_care": {
                "physical_therapy_weeks": rng.choice((0, 4, 6, 8, 12, 24)),
                "nsaid_trial": rng.random() < 0.9,
                "status": rng.choice(
                    ("plateaued", "plateaued", "plateaued", "improving", "not_tried")
                ),
            },
            "prior_procedures": [],
            "medications": ["ibuprofen 400 mg"],
            "goals": "Back to work without pain.",
        },
        "red_flags": {
            "cauda_equina": rng.random() < 0.01,
            "infection": rng.random() < 0.005,
            "malignancy": rng.random() < 0.005,
            "fracture": False,
        },
        "exam": {
            "motor_deficit": rng.choice(("none",) * 12 + ("stable", "progressive")),
            "facet_pattern": rng.random() < 0.35,
            "si_provocation_positive": rng.choice((0, 0, 1, 2, 3, 4)),
            "ligament_tenderness": rng.random() < 0.15,
        },
        "imaging": [],
        "diagnostic_blocks": [],
        "outcomes": {
            "pain_vas": rng.randrange(20, 95),
            "odi_sections": [
                rng.choice((0, 1, 2, 3, 4, 5, None)) if rng.random() < 0.05 else rng.randrange(0, 6)
                for _ in range(10)
            ],
        },
        "payer": rng.choice(
            ("self_pay", "commercial", "medicare_ab_supplement", "medicare_advantage")
        ),
    }
    if rng.random() < 0.2:
        surgery = review - timedelta(days=rng.randrange(30, 2000))
        doc["history"]["prior_procedures"].append(
            {
                "kind": rng.choice(
                    ("discectomy", "fusion", "epidural_steroid", "radiofrequency_ablation")
                ),
                "date": max(surgery, born).isoformat(),
                "levels": [rng.choice(LEVELS)],
                "improved_after": rng.random() < 0.5,
            }
        )
    if rng.random() < 0.92:
        mri_date = review - timedelta(days=rng.randrange(5, 500))
        doc["imaging"].append(
            {
                "modality": "MRI",
                "date": max(mri_date, born).isoformat(),
                "reviewed": rng.random() < 0.93,
                "levels": [_level(rng, lv) for lv in LEVELS],
                "infection": False,
                "malignancy": False,
                "fracture": "none",
            }
        )
    if doc["exam"]["facet_pattern"] and rng.random() < 0.6:
        doc["diagnostic_blocks"].append(
            {
                "kind": "medial_branch",
                "date": (review - timedelta(days=rng.randrange(1, 60))).isoformat(),
                "levels": [rng.choice(("L4-L5", "L5-S1"))],
                "side": rng.choice(("left", "right", "bilateral")),
                "relief_pct": rng.choice((30, 50, 70, 80, 90, 100)),
            }
        )
    if rng.random() < 0.05:
        doc["diagnostic_blocks"].append(
            {
                "kind": "discography",
                "date": (review - timedelta(days=rng.randrange(1, 60))).isoformat(),
                "levels": rng.sample(LEVELS, 2),
                "concordant": rng.random() < 0.5,
            }
        )
    for key in ("red_flags", "exam"):
        for field in list(doc[key]):
            if _maybe(rng, 1, 0.01) is None:
                del doc[key][field]
    return doc


def workups(count: int, seed: int = 20261124) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        yield workup(rng, index)


if __name__ == "__main__":
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = sys.stdout.buffer
    for doc in workups(total):
        out.write(orjson.dumps(doc) + b"\n")
