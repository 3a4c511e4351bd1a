"""The audit log's hash chain, and its check.

Row n's ``hash`` is SHA-256 over row n-1's hash and row n's content (canonical JSON of its
fields, ``seq`` included). Row 1 follows ``GENESIS``. Changing a row's content breaks its own
hash; deleting a row leaves a gap in ``seq`` and a ``prev_hash`` that does not match; a row
inserted by hand needs a ``seq`` and a ``prev_hash`` that fit, and then breaks the row after it.
Truncating the end of the log is found by comparing the head (``seq`` and ``hash`` of the last
row, printed by ``spinepath audit verify``) with a copy kept elsewhere (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
CONTENT_FIELDS = (
    "seq", "at", "user_id", "username", "patient_id", "action", "what", "path", "address",
    "detail",
)  # fmt: skip


def canonical_address(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return None


def _at(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    content = {name: row.get(name) for name in CONTENT_FIELDS}
    content["at"] = _at(content["at"])
    content["detail"] = content["detail"] or {}
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    intact: bool
    rows: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    bad_id: int | None = None
    problem: str = ""


def _problem(row: Mapping[str, Any], prev_hash: str, expected_seq: int, last_id: int) -> str:
    if row["seq"] != expected_seq:
        return f"sequence number {row['seq']} where {expected_seq} was expected: rows are missing"
    if row["prev_hash"] != prev_hash:
        return (
            "its link to the row before does not match: a row before it was removed or "
            "replaced, or it was inserted"
        )
    if row["id"] <= last_id:
        return "it was inserted out of order (its id is lower than the row before)"
    if row_hash(prev_hash, row) != row["hash"]:
        return "its content does not match its hash: it was changed"
    return ""


def verify(rows: Iterable[Mapping[str, Any]]) -> Verdict:
    """Check rows in ``seq`` order (each a mapping with the content fields, ``id``,
    ``prev_hash`` and ``hash``); the first bad row is named."""
    prev_hash, expected_seq, last_id, count = GENESIS, 1, 0, 0
    for row in rows:
        count += 1
        problem = _problem(row, prev_hash, expected_seq, last_id)
        if problem:
            return Verdict(False, count, row["seq"], row["hash"], row["seq"], row["id"], problem)
        prev_hash, expected_seq, last_id = row["hash"], row["seq"] + 1, row["id"]
    return Verdict(True, count, expected_seq - 1, prev_hash)


def verify_database() -> Verdict:
    """Check the whole audit log in the database (Django must be set up)."""
    from spinepath.audit.models import AuditEvent

    fields = ("id", *CONTENT_FIELDS, "prev_hash", "hash")
    rows = AuditEvent.objects.order_by("seq").values(*fields).iterator(chunk_size=5000)
    return verify(rows)
