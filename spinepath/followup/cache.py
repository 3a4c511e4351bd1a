"""Figures computed from every reassessment visit, kept in the shared cache per *data version*.

Counting or aggregating the visits reads hundreds of thousands of rows at 100,000 patients, and
pages that show such figures (the open follow-up count on every staff page, the worklist's
count and pages, the outcome dashboard) are opened far more often than a visit changes. The
data version is a token that changes whenever a visit, a measurement or a patient (whose name
sorts the worklist) is saved or deleted, or a plan's injections change: at once, and again
after the commit (a request that read the old data before the commit and cached it under the
first new version is not believed after it). A key also holds the day, since visits fall due
and windows close with the date. As a safety net against a change made without a signal (a
bulk update by hand), an entry lives at most ``MAX_AGE``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from spinepath.web.versioned import Versioned

FOLLOWUP = Versioned("followup")
MAX_AGE = FOLLOWUP.max_age
T = TypeVar("T")


def data_version() -> str:
    return FOLLOWUP.version()


def data_changed(**kwargs: Any) -> None:
    """Visits or measurements changed: every figure computed from them is old."""
    FOLLOWUP.changed(**kwargs)


def versioned(name: str, today: date, compute: Callable[[], T]) -> T:
    """``compute()``, or its value for the same data and day (``name`` says what it is)."""
    return FOLLOWUP.cached(f"{name}:{today.isoformat()}", compute)


def connect() -> None:
    """Listen for changes to visits and measurements (from the app's ready())."""
    from django.db.models.signals import post_delete, post_save

    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
    from spinepath.patients.models import Patient
    from spinepath.plans.events import injections_changed

    # A patient's name orders the worklist when it is sorted by patient.
    for model in (ReassessmentVisit, OutcomeMeasurement, Patient):
        uid = model._meta.label_lower
        post_save.connect(data_changed, sender=model, dispatch_uid=f"followup-save-{uid}")
        post_delete.connect(data_changed, sender=model, dispatch_uid=f"followup-del-{uid}")
    injections_changed.connect(data_changed, dispatch_uid="followup-injections")
