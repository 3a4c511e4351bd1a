"""How recent an MRI must be (PATHWAY.md promise 1 and ``mri_max_age_months``).

One answer to "is this MRI inside its window on that day?", asked by the candidacy review, the
pricing gate and the procedure gate alike: a treatment is planned, priced and done on imaging
no older than the policy allows on the day it happens, not on the day of the review.
"""

from __future__ import annotations

from datetime import date

from spinepath.pathway.dates import months_before
from spinepath.pathway.policy import Policy


def mri_cutoff(on: date, policy: Policy) -> date:
    """The oldest MRI date still inside the window on ``on``."""
    return months_before(on, policy.mri_max_age_months)


def mri_within_window(mri_date: date, on: date, policy: Policy) -> bool:
    """Whether an MRI of ``mri_date`` may be relied on ``on``: no older than
    ``mri_max_age_months`` and not after the day itself."""
    return mri_cutoff(on, policy) <= mri_date <= on
