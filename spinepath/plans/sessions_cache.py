"""The injection sessions still to book (the worklist's and the bookings page's list), kept in
the shared cache per *version* of the plans and bookings: computing it reads every accepted plan
(about half a second at 100,000 patients), and it changes only when a plan, a plan line, a
procedure or an appointment does - each bumps the version, now and again after the commit."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.db import transaction

from spinepath.pathway.portal import InjectionSession
from spinepath.plans.models import CarePlan

VERSION_KEY = "plans:sessions-version"
MAX_AGE = 15 * 60


def _version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, secrets.token_hex(8), None)
        version = cache.get(VERSION_KEY) or "unknown"
    return str(version)


def _bump() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), None)


def sessions_changed(**_: Any) -> None:
    _bump()
    transaction.on_commit(_bump)


def sessions_to_book_cached(limit: int = 50) -> list[tuple[CarePlan, InjectionSession]]:
    from spinepath.plans.selectors import sessions_to_book

    key = f"plans:to-book:{_version()}:{limit}"
    value = cache.get(key)
    if value is None:
        value = sessions_to_book(limit)
        cache.set(key, value, MAX_AGE)
    return value  # type: ignore[no-any-return]


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    for sender in ("plans.CarePlan", "plans.PlanLine", "plans.Procedure", "public.Appointment"):
        post_save.connect(sessions_changed, sender=sender, dispatch_uid=f"sessions-save-{sender}")
        post_delete.connect(sessions_changed, sender=sender, dispatch_uid=f"sessions-del-{sender}")
