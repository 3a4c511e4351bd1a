"""The outcome dashboard's aggregates and charts, computed once per change of the data.

Computing them reads every visit and measurement of the cohort (about a second at 100,000
patients); the dashboard is opened far more often than a measurement is recorded. So they are
kept in the shared cache under a *data version*: a token that changes after every commit that
touches a visit, a measurement or an injection (signals, and the plans app's
``injections_changed``), so the next request computes them anew. A key also holds the day
(visits fall due and windows close with the date), the policy and the filters. As a safety net
against a change made without a signal (a bulk update by hand), an entry lives at most
``MAX_AGE`` seconds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

from spinepath.web.policy import clinic_policy

VERSION_KEY = "outcomes:data-version"
MAX_AGE = 15 * 60
T = TypeVar("T")


def data_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, secrets.token_hex(8), None)
        version = cache.get(VERSION_KEY) or "unknown"
    return str(version)


def _bump() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), None)


def data_changed(**_: Any) -> None:
    """The outcome data changed: every cached aggregate is old. The version changes now, and
    again once the transaction commits: a request that read the data before the commit and
    cached it under the first new version is not believed after it."""
    _bump()
    transaction.on_commit(_bump)


def _policy_key() -> str:
    data = json.dumps(asdict(clinic_policy()), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def cached(kind: str, today: date, filters: Any, compute: Callable[[], T]) -> T:
    """``compute()``, or its value for the same data, day, policy and filters."""
    described = json.dumps(asdict(filters), sort_keys=True, default=str)
    digest = hashlib.sha256(described.encode()).hexdigest()[:16]
    key = f"outcomes:{kind}:{data_version()}:{_policy_key()}:{today.isoformat()}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, MAX_AGE)
    return value  # type: ignore[no-any-return]


def connect() -> None:
    """Listen for changes to the outcome data (called once, from the app's ready())."""
    from django.db.models.signals import post_delete, post_save

    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
    from spinepath.plans.events import injections_changed

    for model in (ReassessmentVisit, OutcomeMeasurement):
        uid = model._meta.label_lower
        post_save.connect(data_changed, sender=model, dispatch_uid=f"outcomes-save-{uid}")
        post_delete.connect(data_changed, sender=model, dispatch_uid=f"outcomes-del-{uid}")
    injections_changed.connect(data_changed, dispatch_uid="outcomes-injections")
