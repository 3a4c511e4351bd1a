"""The injection sessions still to book (the worklist's and the bookings page's list), kept in
the shared cache per *version* of the plans and bookings: computing it reads every accepted plan
(about half a second at 100,000 patients), and it changes only when a plan, a plan line, a
procedure or an appointment does - each bumps the version, now and again after the commit (the
bookings app connects its appointments: spinepath.public.listeners)."""

from __future__ import annotations

from typing import Any

from spinepath.pathway.portal import InjectionSession
from spinepath.plans.models import CarePlan
from spinepath.web.versioned import Versioned

SESSIONS = Versioned("plans:sessions")


def sessions_changed(**kwargs: Any) -> None:
    SESSIONS.changed(**kwargs)


def sessions_to_book_cached(
    limit: int = 50, versions: str = ""
) -> list[tuple[CarePlan, InjectionSession]]:
    """``versions``: the versions of the plans', procedures' and appointments' tables the caller
    read (a change the signals do not hear, such as SQL typed by hand, gives a new key too)."""
    from spinepath.plans.selectors import sessions_to_book

    return SESSIONS.cached(f"to-book:{limit}:{versions}", lambda: sessions_to_book(limit))


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    for sender in ("plans.CarePlan", "plans.PlanLine", "plans.Procedure"):
        post_save.connect(sessions_changed, sender=sender, dispatch_uid=f"sessions-save-{sender}")
        post_delete.connect(sessions_changed, sender=sender, dispatch_uid=f"sessions-del-{sender}")
