"""Figures of a day: computed once, by the first request that asks, and kept.

"Patients like you" and the clinic's model are of the data up to the day before today. Kept in
the database (``DailyFigures``) rather than a server's cache, every app server and every
request of the day reads the same figures: a patient who read them on one server accepts the
same figures on another, and a correction made during the day to an older record shows in the
next day's figures, not halfway through someone's reading. Each key holds the policy's digest,
so an adopted policy (its responder thresholds, its minimum) computes afresh.

Kept for good: the figures of any day can be traced afterwards (the treated patients behind
them, spinepath/outcomes/views.py: ``like_you``). After a bulk import or a restore, the clinic
admin recounts the day's figures (:func:`figures_recount`): the earlier ones are kept, marked
superseded, and the next request computes them again (a plan read before is then not accepted
until read again: its content hash holds the figures).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.outcomes.models import DailyFigures
from spinepath.web.policy import policy_digest

T = TypeVar("T")


def _standing(as_of: date, key: str) -> Any:
    return DailyFigures.objects.filter(as_of=as_of, key=key, superseded_at__isnull=True)


def of_the_day(name: str, as_of: date, compute: Callable[[], T]) -> T:
    """The figures ``name`` for the date of the data ``as_of``: those already computed for the
    day, else ``compute()``'s, kept (when two requests compute at once, the first kept wins and
    both return it)."""
    found = stored(name, as_of)
    if found is not None:
        return found[0]  # type: ignore[no-any-return]
    key = f"{name}:{policy_digest()}"
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
    except IntegrityError:
        found = stored(name, as_of)
        if found is not None:
            return found[0]  # type: ignore[no-any-return]
    return value


def stored(name: str, as_of: date) -> tuple[Any, datetime] | None:
    """The figures ``name`` kept for ``as_of`` under today's policy, with when they were
    computed; None when none are kept (nothing is computed here)."""
    key = f"{name}:{policy_digest()}"
    for data, at in _standing(as_of, key).values_list("data", "computed_at"):
        return pickle.loads(bytes(data)), at
    return None


@action("policy_draft")
def figures_recount(*, actor: Actor, as_of: date) -> int:
    """The clinic admin recounts the figures of ``as_of`` (after an import or a restore): the
    ones kept are marked superseded (kept, no longer read), and the next request computes them
    from the records as they are (counted again at once by the page that asked). Returns how
    many were superseded. A second recount (a double click) sets aside figures counted from the
    same records: the figures patients read are the same, and no plan being read is refused."""
    standing = DailyFigures.objects.select_for_update().filter(
        as_of=as_of, superseded_at__isnull=True
    )
    count = standing.update(superseded_at=timezone.now(), superseded_by=actor.username[:150])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"figures of {as_of.isoformat()} recounted ({count} kept figures superseded)",
    )
    return count
