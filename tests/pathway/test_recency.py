"""How recent an MRI must be: one answer for the review, the pricing and the procedure gates."""

from __future__ import annotations

from datetime import date

from spinepath.pathway.policy import Policy
from spinepath.pathway.recency import mri_cutoff, mri_within_window

POLICY = Policy()


def test_an_mri_exactly_twelve_months_old_is_still_inside_the_window() -> None:
    assert mri_cutoff(date(2026, 11, 24), POLICY) == date(2025, 11, 24)
    assert mri_within_window(date(2025, 11, 24), date(2026, 11, 24), POLICY)
    assert not mri_within_window(date(2025, 11, 23), date(2026, 11, 24), POLICY)


def test_an_mri_after_the_day_is_not_one_the_day_could_rely_on() -> None:
    assert not mri_within_window(date(2026, 11, 25), date(2026, 11, 24), POLICY)


def test_the_window_follows_the_policy() -> None:
    six = Policy(name="short", version="1", mri_max_age_months=6)
    assert not mri_within_window(date(2026, 5, 1), date(2026, 11, 24), six)
    assert mri_within_window(date(2026, 5, 24), date(2026, 11, 24), six)


def test_a_month_end_cutoff_is_clamped() -> None:
    assert mri_cutoff(date(2027, 2, 28), Policy(name="x", version="1", mri_max_age_months=12)) == (
        date(2026, 2, 28)
    )
