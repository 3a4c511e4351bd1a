"""Ids in query strings and posted forms: a malformed or out-of-range one is a 400, not a 500."""

from __future__ import annotations

from django.http import QueryDict

from spinepath.errors import Invalid

# Database ids are positive and fit in a signed 64-bit integer on both engines.
MAX_ID = 2**63 - 1


def optional_id(params: QueryDict, name: str) -> int | None:
    """The id named ``name`` (None when absent or blank); anything else is refused."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise Invalid(f"{name}: '{raw[:40]}' is not a valid id.", fields={name: "Not a valid id."})
    return int(raw)
