"""The clinic's protocols (public indication pages) as data files in spinepath/protocols/."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib import resources
from stat import S_ISREG
from typing import Any

DEFAULT_PROTOCOL = "spine"


def protocol_version(slug: str) -> str:
    """Changes whenever the protocol's file changes (the cached page is then rendered anew).
    Raises KeyError if there is no such protocol."""
    try:
        stat = os.stat(_protocol_file(slug))
    except OSError:
        raise KeyError(slug) from None
    if not S_ISREG(stat.st_mode):
        raise KeyError(slug)
    return f"{stat.st_mtime_ns}-{stat.st_size}"


@lru_cache(maxsize=64)
def _protocol_file(slug: str) -> str:
    """Where protocol ``slug``'s file would be (whether it is there is asked each time)."""
    if not slug.isidentifier():
        raise KeyError(slug)
    return str(resources.files("spinepath.protocols").joinpath(f"{slug}.toml"))


def load_protocol(slug: str) -> dict[str, Any]:
    """The protocol ``slug`` (spinepath/protocols/<slug>.toml). Raises KeyError if unknown."""
    return _parsed(slug, protocol_version(slug))


@lru_cache(maxsize=32)
def _parsed(slug: str, version: str) -> dict[str, Any]:
    path = resources.files("spinepath.protocols").joinpath(f"{slug}.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in ("title", "summary", "generators", "candidates", "journey", "faq", "coverage"):
        if key not in data:
            raise ValueError(f"protocol {slug}: '{key}' is missing")
    return data


def protocol_slugs() -> list[str]:
    folder = resources.files("spinepath.protocols")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))
