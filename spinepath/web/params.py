"""Ids in query strings and posted forms: a malformed or out-of-range one is a 400, not a 500."""

from __future__ import annotations

import re

from django.http import QueryDict

from spinepath.errors import Invalid

# Database ids are positive and fit in a signed 64-bit integer on both engines. ASCII digits
# only: str.isdigit() also accepts "²" and "٣", which int() rejects or reads as another id.
MAX_ID = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")


def parse_id(raw: str) -> int | None:
    """A plausible database id written in ASCII digits, or None."""
    raw = raw.strip()
    if not _ID.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


def optional_id(params: QueryDict, name: str) -> int | None:
    """The id named ``name`` (None when absent or blank); anything else is refused."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise Invalid(f"{name}: '{raw[:40]}' is not a valid id.", fields={name: "Not a valid id."})
    return value
