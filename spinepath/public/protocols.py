"""The clinic's protocols (public indication pages) as data files in spinepath/protocols/."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_PROTOCOL = "spine"


@cache
def load_protocol(slug: str) -> dict[str, Any]:
    """The protocol ``slug`` (spinepath/protocols/<slug>.toml). Raises KeyError if unknown."""
    if not slug.isidentifier():
        raise KeyError(slug)
    path = resources.files("spinepath.protocols").joinpath(f"{slug}.toml")
    if not path.is_file():
        raise KeyError(slug)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in ("title", "summary", "generators", "candidates", "journey", "faq", "coverage"):
        if key not in data:
            raise ValueError(f"protocol {slug}: '{key}' is missing")
    return data


def protocol_slugs() -> list[str]:
    folder = resources.files("spinepath.protocols")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))
