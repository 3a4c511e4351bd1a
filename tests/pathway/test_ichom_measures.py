"""The ICHOM low back pain measures and the baseline case-mix (PATHWAY.md section 11)."""

from __future__ import annotations

from datetime import date

import pytest

from spinepath.pathway.ichom import (
    ANALGESIC_USE,
    WORK_STATUS,
    LbpAnswers,
    age_on,
    bmi_if_known,
    body_mass_index,
    casemix_problems,
    comorbidity_count,
    comorbidity_problem,
    lbp_missing,
    lbp_problems,
    previous_spine_surgery,
)

# --- BMI -----------------------------------------------------------------------------------


def test_bmi_is_weight_over_height_squared_to_one_decimal() -> None:
    assert body_mass_index(175, 70) == 22.9  # 70 / 1.75^2 = 22.857...
    assert body_mass_index(160, 95.5) == 37.3  # 95.5 / 1.6^2 = 37.30...
    assert body_mass_index(200, 100) == 25.0


@pytest.mark.parametrize(
    ("height", "weight", "named"),
    [(1.75, 70, "height"), (175, 70000, "weight"), (99, 70, "height"), (175, 24, "weight")],
)
def test_a_height_in_metres_or_a_weight_in_grams_is_refused_by_name(
    height: float, weight: float, named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{named}:"):
        body_mass_index(height, weight)


def test_no_bmi_is_guessed_from_a_missing_or_implausible_value() -> None:
    assert bmi_if_known(None, 70) is None
    assert bmi_if_known(175, None) is None
    assert bmi_if_known(1.75, 70) is None
    assert bmi_if_known(175, 70) == 22.9


# --- The patient's answers --------------------------------------------------------------------

ALL = LbpAnswers(
    back_pain_nrs=6,
    leg_pain_nrs=3,
    work_status="part_time_back_pain",
    analgesic_use="daily",
    opioid_use=True,
)


def test_a_complete_answer_has_no_problem() -> None:
    assert lbp_problems(ALL) == {}
    assert lbp_missing(ALL) == {}


def test_each_missing_answer_is_named_at_its_own_question() -> None:
    missing = lbp_missing(LbpAnswers(back_pain_nrs=0))
    assert set(missing) == {"leg_pain_nrs", "work_status", "analgesic_use", "opioid_use"}
    assert "leg pain" in missing["leg_pain_nrs"] and "No leg pain is 0" in missing["leg_pain_nrs"]
    assert "work" in missing["work_status"]


def test_no_leg_pain_is_an_answer_not_a_blank() -> None:
    assert "leg_pain_nrs" not in lbp_missing(LbpAnswers(leg_pain_nrs=0))


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        (LbpAnswers(back_pain_nrs=11), "back_pain_nrs"),
        (LbpAnswers(leg_pain_nrs=-1), "leg_pain_nrs"),
        (LbpAnswers(back_pain_nrs=True), "back_pain_nrs"),  # type: ignore[arg-type]
        (LbpAnswers(work_status="astronaut"), "work_status"),
        (LbpAnswers(analgesic_use="sometimes"), "analgesic_use"),
        (LbpAnswers(analgesic_use="none", opioid_use=True), "opioid_use"),
    ],
)
def test_a_value_that_cannot_be_stored_is_named(answers: LbpAnswers, field: str) -> None:
    assert set(lbp_problems(answers)) == {field}


def test_the_choices_follow_the_ichom_categories() -> None:
    assert list(WORK_STATUS) == [
        "full_time",
        "part_time_back_pain",
        "part_time_other",
        "sick_leave",
        "not_working_back_pain",
        "not_working_other",
    ]
    assert list(ANALGESIC_USE) == ["none", "occasional", "daily"]


# --- Case-mix -------------------------------------------------------------------------------


def test_none_of_the_conditions_is_an_answer_and_cannot_be_ticked_with_one() -> None:
    assert comorbidity_problem(["none"]) is None
    assert comorbidity_problem(["diabetes", "depression"]) is None
    assert comorbidity_problem(["none", "diabetes"]) is not None
    assert comorbidity_problem(["gout"]) is not None
    assert comorbidity_count(None) is None
    assert comorbidity_count(["none"]) == 0
    assert comorbidity_count(["diabetes", "depression"]) == 2


def test_case_mix_problems_are_named_by_field() -> None:
    problems = casemix_problems(
        height_cm=1.8, weight_kg=80, smoking_status="sometimes", comorbidities=["none", "cancer"]
    )
    assert set(problems) == {"height_cm", "smoking_status", "comorbidities"}
    fine = casemix_problems(height_cm=None, weight_kg=None, smoking_status="", comorbidities=None)
    assert fine == {}


def test_an_earlier_spine_surgery_is_yes_no_only_when_asked_and_unknown_otherwise() -> None:
    assert previous_spine_surgery(["fusion"], asked=None) is True
    assert previous_spine_surgery(["epidural_steroid"], asked=True) is False
    assert previous_spine_surgery([], asked=True) is False
    assert previous_spine_surgery([], asked=None) is None


def test_age_in_whole_years_on_the_day() -> None:
    assert age_on(date(1970, 5, 1), date(2026, 4, 30)) == 55
    assert age_on(date(1970, 5, 1), date(2026, 5, 1)) == 56
    assert age_on(None, date(2026, 5, 1)) is None
