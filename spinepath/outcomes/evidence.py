"""The published evidence the clinic cites (evidence.toml), as data."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def studies() -> list[dict[str, Any]]:
    text = resources.files("spinepath.outcomes").joinpath("evidence.toml").read_text("utf-8")
    return list(tomllib.loads(text)["studies"])


def benchmarks() -> list[tuple[str, str, str, float]]:
    """(visit, measure, label, published rate) for every comparable figure."""
    return [
        (f["visit"], f["measure"], f["label"], float(f["rate"]))
        for study in studies()
        for f in study.get("figures", [])
    ]
