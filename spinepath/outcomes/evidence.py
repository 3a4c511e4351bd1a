"""The published evidence the clinic cites (evidence.toml), as data.

A figure names the clinic measure it is compared with: an outcome at a visit (a responder
rate), or a safety figure (no visit: the share of injections followed by an event), which the
safety section puts beside the clinic's own rate with its exact interval.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# Safety measures the clinic computes per injection (spinepath/outcomes/safety_rates.py).
SAFETY_MEASURES: dict[str, str] = {
    "serious_related_event": (
        "a serious adverse event (ICH E2A) at least possibly related to the procedure or the "
        "product"
    ),
}


@cache
def studies() -> list[dict[str, Any]]:
    text = resources.files("spinepath.outcomes").joinpath("evidence.toml").read_text("utf-8")
    return list(tomllib.loads(text)["studies"])


def benchmarks() -> list[tuple[str, str, str, float]]:
    """(visit, measure, label, published rate) for every comparable outcome at a visit."""
    return [
        (f["visit"], f["measure"], f["label"], float(f["rate"]))
        for study in studies()
        for f in study.get("figures", [])
        if f["measure"] not in SAFETY_MEASURES
    ]


@dataclass(frozen=True, slots=True)
class SafetyBenchmark:
    """A published event rate: how many were followed, counted per patient or per procedure."""

    study: str
    source: str
    label: str
    measure: str
    rate: float
    n: int
    per: str

    @property
    def n_text(self) -> str:
        return f"{self.n:,}"


def safety_benchmarks() -> list[SafetyBenchmark]:
    return [
        SafetyBenchmark(
            study["title"],
            study.get("source", ""),
            f["label"],
            f["measure"],
            float(f["rate"]),
            int(f["n"]),
            str(f.get("per", "patient")),
        )
        for study in studies()
        for f in study.get("figures", [])
        if f["measure"] in SAFETY_MEASURES
    ]


def safety_benchmark(measure: str) -> SafetyBenchmark | None:
    return next((b for b in safety_benchmarks() if b.measure == measure), None)
