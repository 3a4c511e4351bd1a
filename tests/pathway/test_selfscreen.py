"""The public self-screen mirrors the candidacy rules a person can answer about themselves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spinepath.pathway.policy import Policy
from spinepath.pathway.selfscreen import RED_FLAG_QUESTIONS, ScreenAnswers, self_screen

LIKELY = ScreenAnswers(
    red_flags=frozenset(),
    pain_months=18,
    where="back",
    therapy_weeks=10,
    still_improving="no",
    tried_anti_inflammatories="yes",
    mri="recent",
    surgery_months_ago=None,
)


def screen(**changes: object) -> str:
    return self_screen(replace(LIKELY, **changes), Policy()).outcome  # type: ignore[arg-type]


def test_long_standing_back_pain_after_therapy_with_recent_mri_may_be_a_candidate() -> None:
    assert screen() == "book_consultation"


@pytest.mark.parametrize("flag", sorted(RED_FLAG_QUESTIONS))
def test_each_red_flag_means_see_a_doctor_today(flag: str) -> None:
    assert screen(red_flags=frozenset({flag})) == "see_doctor_today"


def test_red_flag_comes_before_everything_else() -> None:
    assert screen(red_flags=frozenset({"cancer"}), mri="none", pain_months=1) == "see_doctor_today"


def test_pain_of_two_months_is_conservative_care_first() -> None:
    assert screen(pain_months=2) == "conservative_care_first"


def test_three_weeks_of_therapy_is_conservative_care_first() -> None:
    assert screen(therapy_weeks=3) == "conservative_care_first"


def test_still_improving_is_conservative_care_first() -> None:
    assert screen(still_improving="yes") == "conservative_care_first"


def test_leg_dominant_pain_is_conservative_care() -> None:
    assert screen(where="leg") == "conservative_care_first"


def test_recent_surgery_means_healing_first() -> None:
    assert screen(surgery_months_ago=2) == "conservative_care_first"
    assert screen(surgery_months_ago=8) == "book_consultation"


@pytest.mark.parametrize("mri", ["older", "none", "unsure", None])
def test_no_recent_mri_means_mri_first(mri: str | None) -> None:
    assert screen(mri=mri) == "mri_first"


def test_every_result_gives_reasons() -> None:
    result = self_screen(replace(LIKELY, pain_months=1, therapy_weeks=0), Policy())
    assert len(result.reasons) == 2
    assert result.title == "Conservative care first"


def test_weeks_of_pain_without_an_mri_is_conservative_care_not_an_mri() -> None:
    result = self_screen(replace(LIKELY, pain_months=1, mri="none"), Policy())
    assert result.outcome == "conservative_care_first"
    assert any("an MRI of the lower back is the next step; not before" in r for r in result.reasons)


def test_a_stable_weak_leg_without_a_recent_mri_means_mri_first_even_when_not_now() -> None:
    assert screen(stable_weakness="yes", pain_months=1, mri="none") == "mri_first"
    assert screen(stable_weakness="yes", still_improving="yes", mri="older") == "mri_first"


def test_a_stable_weak_leg_with_a_recent_mri_follows_the_other_answers() -> None:
    assert screen(stable_weakness="yes", pain_months=1) == "conservative_care_first"
    assert screen(stable_weakness="yes") == "book_consultation"
