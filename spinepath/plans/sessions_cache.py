"""The injection sessions still to book (the worklist's and the bookings page's list), kept in
the shared cache per *version* of the plans and bookings: computing it reads every accepted plan
(about half a second at 100,000 patients), and it changes only when a plan, a plan line, a
procedure, an appointment or a patient's name does (spinepath.versions: their tables' versions
change in the transaction of every write to them, by any route)."""

from __future__ import annotations

from spinepath.pathway.portal import InjectionSession
from spinepath.plans.models import CarePlan
from spinepath.web.versioned import Versioned

SESSIONS = Versioned(
    "plans:sessions",
    # The patients' table too: each session to book is shown with its patient's name.
    (
        "plans_careplan",
        "plans_planline",
        "plans_procedure",
        "public_appointment",
        "patients_patient",
    ),
)


def sessions_to_book_cached(limit: int = 50) -> list[tuple[CarePlan, InjectionSession]]:
    from spinepath.plans.selectors import sessions_to_book

    return SESSIONS.cached(f"to-book:{limit}", lambda: sessions_to_book(limit))
