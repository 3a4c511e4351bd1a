"""Figures computed from every reassessment visit, kept in the shared cache per *data version*.

Counting or aggregating the visits reads hundreds of thousands of rows at 100,000 patients, and
pages that show such figures (the open follow-up count on every staff page, the worklist's
count and pages, the outcome dashboard) are opened far more often than a visit changes. The
data version is that of the tables the figures read: the visits, the measurements, the patients
(whose names sort the worklist) and the injections (spinepath.versions: it changes in the
transaction of every write to them, by any route). A key also holds the day, since visits fall
due and windows close with the date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from spinepath.web.versioned import Versioned

FOLLOWUP = Versioned(
    "followup",
    (
        "followup_reassessmentvisit",
        "followup_outcomemeasurement",
        "patients_patient",
        "plans_procedure",
    ),
)
T = TypeVar("T")


def data_version() -> str:
    return FOLLOWUP.version()


def versioned(name: str, today: date, compute: Callable[[], T]) -> T:
    """``compute()``, or its value for the same data and day (``name`` says what it is)."""
    return FOLLOWUP.cached(f"{name}:{today.isoformat()}", compute)
