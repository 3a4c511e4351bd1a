"""An injection ordered in the clinic's EHR, checked against the pathway's promises (the CDS
Hooks order-select service): no injection without a signed candidate decision and a recent
reviewed MRI, and none at a target the workup has not confirmed. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from spinepath.pathway.plans import Target
from spinepath.pathway.rules import GENERATOR_NAMES

_GENERATOR_WORDS = (
    ("discogenic", ("intradiscal", "disc ", "discogenic")),
    ("facet", ("facet", "zygapophys", "medial branch")),
    ("sacroiliac", ("sacroiliac", "si joint")),
    ("myoligamentous", ("ligament", "enthes", "prolotherapy")),
)
_INJECTION_WORDS = ("inject", "intradiscal", "prp", "stem cell", "msc", "exosome", "block")
_LEVEL = re.compile(r"\b(L[1-5])\s*[-/]\s*(L[1-5]|S1)\b", re.IGNORECASE)


def is_spine_injection(text: str) -> bool:
    lowered = f" {text.lower()} "
    return any(word in lowered for word in _INJECTION_WORDS)


def order_target(text: str, body_sites: Iterable[str]) -> tuple[str | None, str | None]:
    """(the generator an order's words name, the level its body site names) - None when the
    order does not say."""
    lowered = f" {text.lower()} "
    generator = next((g for g, words in _GENERATOR_WORDS if any(w in lowered for w in words)), None)
    level = None
    for site in [text, *body_sites]:
        found = _LEVEL.search(site)
        if found:
            level = f"{found.group(1).upper()}-{found.group(2).upper()}"
            break
    return generator, level


def order_warnings(
    *,
    gate_problem: str | None,
    targets: Collection[Target],
    generator: str | None,
    level: str | None,
) -> list[str]:
    """Why the order breaks a promise, in words (an empty list when it does not)."""
    warnings = []
    if gate_problem:
        warnings.append(gate_problem)
    if generator is not None:
        matching = [t for t in targets if t.generator == generator]
        where = f" at {level}" if level else ""
        name = GENERATOR_NAMES.get(generator, generator)
        if not matching or (level and all(t.level and t.level != level for t in matching)):
            warnings.append(
                f"The workup has not confirmed {name} pain{where}: no injection there "
                "(confirmed targets: "
                + (", ".join(sorted(t.label for t in targets)) or "none")
                + ")."
            )
    return warnings
