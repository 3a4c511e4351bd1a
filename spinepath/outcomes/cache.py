"""The outcome dashboard's aggregates and charts, computed once per change of the data.

Computing them reads every visit and measurement of the cohort (about a second at 100,000
patients). They are kept under the follow-up data's version (spinepath/followup/cache.py: it
changes whenever a visit, a measurement or an injection does), the safety data's version
(spinepath/safety/cache.py: adverse events, re-interventions, lots, earlier spine procedures),
the day, the policy (responder thresholds) and the filters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any, TypeVar

from spinepath.followup.cache import versioned
from spinepath.safety.cache import data_version as safety_version
from spinepath.web.policy import policy_digest

T = TypeVar("T")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached(kind: str, today: date, filters: Any, compute: Callable[[], T]) -> T:
    """``compute()``, or its value for the same data, day, policy and filters."""
    policy, chosen = policy_digest(), _digest(asdict(filters))
    name = f"outcomes:{kind}:{safety_version()}:{policy}:{chosen}"
    return versioned(name, today, compute)
