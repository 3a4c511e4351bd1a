"""The clinic's policy for the web application: the latest version the clinic admin adopted
(spinepath/policies/models.py) over SPINEPATH_POLICY over the shipped defaults - a draft that
names only some settings keeps the clinic's file for the rest - else the file alone.

Every process keeps the policy in memory and asks the database at most every
``RECHECK_SECONDS`` whether a newer version was adopted (one indexed row), so an adoption
reaches every worker and app server within seconds without a restart.
"""

from __future__ import annotations

import threading
import time
from functools import cache

from django.conf import settings

from spinepath.actions import current_scope
from spinepath.pathway.policy import Policy, parse_policy
from spinepath.policies import load_policy

RECHECK_SECONDS = 2.0
_lock = threading.Lock()
_state: dict[str, object] = {"checked": -1e9, "adopted": None, "policy": None}


@cache
def file_policy() -> Policy:
    return load_policy(settings.SPINEPATH_POLICY_FILE)


def _latest_adopted() -> tuple[int, str] | None:
    from django.db import DatabaseError

    from spinepath.policies.models import AdoptedPolicy

    try:
        return AdoptedPolicy.objects.order_by("-id").values_list("id", "text").first()
    except DatabaseError:  # before the migration that creates the table
        return None


def clinic_policy(*, fresh: bool = False) -> Policy:
    """The policy in force. ``fresh``: ask the database now (a signature binds the policy, so
    it never relies on a copy up to RECHECK_SECONDS old).

    Inside a write (spinepath.actions), read once: every later call in the same write gets the
    same policy (a ``fresh`` call after a cached one reads the database once more, and the
    rest of the write uses what it read)."""
    scope = current_scope()
    if scope is None:
        return _policy_now(fresh=fresh)
    memo = scope.memo
    if "policy" not in memo or (fresh and not memo.get("policy fresh")):
        memo["policy"] = _policy_now(fresh=fresh)
        memo["policy fresh"] = fresh or memo.get("policy fresh", False)
    return memo["policy"]  # type: ignore[no-any-return]


def _policy_now(*, fresh: bool) -> Policy:
    now = time.monotonic()
    policy = _state["policy"]
    recent = now - float(_state["checked"]) < RECHECK_SECONDS  # type: ignore[arg-type]
    if isinstance(policy, Policy) and recent and not fresh:
        return policy
    with _lock:
        latest = _latest_adopted()
        # The row's id and its text: after a restore the database gives the next adoption an
        # id a worker may have seen before with another text.
        adopted = latest
        if not isinstance(_state["policy"], Policy) or adopted != _state["adopted"]:
            _state["policy"] = (
                parse_policy(latest[1], base=file_policy()) if latest else file_policy()
            )
            _state["adopted"] = adopted
        _state["checked"] = now
        return _state["policy"]  # type: ignore[return-value]


_DIGEST: list[tuple[object, str]] = []  # the policy read last, and its digest


def policy_digest() -> str:
    """A digest of the policy in force as this process sees it: what keeps figures and pages
    computed under one policy from being shown under another. Computed once per policy read
    (clinic_policy() gives the same object until the policy in force changes)."""
    import hashlib
    import json
    from dataclasses import asdict

    policy = clinic_policy()
    last = _DIGEST[0] if _DIGEST else None
    if last is not None and last[0] is policy:
        return last[1]
    text = json.dumps(asdict(policy), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    _DIGEST[:] = [(policy, digest)]
    return digest


def forget_policy() -> None:
    """Read the policy again at the next call (after an adoption in this process; tests)."""
    _state["checked"] = -1e9
