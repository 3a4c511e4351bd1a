"""Figures of a day: computed once, by the first request that asks, and kept for the day.

"Patients like you" and the clinic's model are of the data up to the day before today. Kept in
the database (``DailyFigures``) rather than a server's cache, every app server and every
request of the day reads the same figures: a patient who read them on one server accepts the
same figures on another, and a correction made during the day to an older record shows from
the next day's figures, not halfway through someone's reading. Each key holds the policy's
digest, so an adopted policy (its responder thresholds, its minimum) computes afresh. Figures
older than ``KEEP_DAYS`` are removed when a day's first figures are written; an accepted plan
keeps its own copy of what the patient read.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from typing import TypeVar

from django.db import IntegrityError, transaction

from spinepath.outcomes.models import DailyFigures
from spinepath.web.policy import clinic_policy

T = TypeVar("T")
KEEP_DAYS = 30


def _policy_digest() -> str:
    text = json.dumps(asdict(clinic_policy()), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def of_the_day(name: str, as_of: date, compute: Callable[[], T]) -> T:
    """The figures ``name`` for the date of the data ``as_of``: those already computed for the
    day, else ``compute()``'s, kept (when two requests compute at once, the first kept wins and
    both return it)."""
    key = f"{name}:{_policy_digest()}"
    found = DailyFigures.objects.filter(as_of=as_of, key=key).values_list("data", flat=True)
    for data in found:
        return pickle.loads(bytes(data))
    started = time.perf_counter()
    value = compute()
    try:
        with transaction.atomic():
            DailyFigures.objects.create(
                as_of=as_of,
                key=key,
                data=pickle.dumps(value),
                seconds=time.perf_counter() - started,
            )
            DailyFigures.objects.filter(as_of__lt=as_of - timedelta(days=KEEP_DAYS)).delete()
    except IntegrityError:
        for data in DailyFigures.objects.filter(as_of=as_of, key=key).values_list(
            "data", flat=True
        ):
            return pickle.loads(bytes(data))
    return value
