"""PATHWAY.md section 3, rows 3-5: "not now" comes before imaging and diagnostic procedures.

An MRI, a medial branch block or a discography cannot make a person with weeks of pain, or one
still improving with physical therapy, a candidate today; the honest answer is "not now", with
what to do instead and, in words only, what a later review would start with.
"""

from __future__ import annotations

from workup_builder import DROP, decision_for, mri_levels

NO_MRI: list[object] = []
IMPROVING = {"physical_therapy_weeks": 8, "nsaid_trial": True, "status": "improving"}
FACET_AT_L5_S1 = [
    {
        "modality": "MRI",
        "date": "2026-08-20",
        "reviewed": True,
        "levels": mri_levels(L5_S1={"facet_arthropathy": 2}),
    }
]
NOT_NOW_KINDS = {"watchful_waiting", "physical_therapy", "wait_recovery"}


def kinds(decision: object) -> set[str]:
    return {r.kind for r in decision.recommendations}  # type: ignore[attr-defined]


def test_one_month_of_pain_without_mri_is_not_now_and_asks_for_no_mri() -> None:
    decision = decision_for(history__pain_duration_months=1, imaging=NO_MRI)

    assert decision.decision == "not_candidate"
    assert kinds(decision) == {"watchful_waiting"}
    (advice,) = decision.recommendations
    assert "come back if it lasts longer" in advice.text
    assert "the first step will be an MRI of the lower back" in advice.text
    assert decision.rule("mri_within_window").outcome == "fail"  # still reported
    assert "1 month," in decision.rule("chronic_pain").text


def test_still_improving_with_a_suspected_facet_gets_no_block_yet() -> None:
    decision = decision_for(
        history__conservative_care=IMPROVING, exam__facet_pattern=True, imaging=FACET_AT_L5_S1
    )

    assert decision.decision == "not_candidate"
    assert kinds(decision) == {"physical_therapy"}
    assert decision.rule("facet_block").outcome == "fail"
    assert "medial branch block (a numbing test) at L5-S1" in decision.recommendations[0].text
    assert "still helping" in decision.summary


def test_recent_discectomy_with_an_old_mri_waits_for_recovery_not_for_an_mri() -> None:
    decision = decision_for(
        history__prior_procedures=[
            {"kind": "discectomy", "date": "2026-08-10", "levels": ["L4-L5"]}
        ],
        imaging__0__date="2025-06-03",
    )

    assert decision.decision == "not_candidate"
    assert kinds(decision) == {"wait_recovery"}
    assert "2027-02-10" in decision.recommendations[0].text
    assert "a new MRI" in decision.recommendations[0].text


def test_stable_weakness_without_mri_still_needs_the_mri_first() -> None:
    decision = decision_for(
        exam__motor_deficit="stable", history__conservative_care=IMPROVING, imaging=NO_MRI
    )

    assert decision.decision == "needs_imaging"
    assert kinds(decision) == {"mri"}


def test_stable_weakness_with_an_unread_mri_has_it_read_before_saying_not_now() -> None:
    decision = decision_for(
        exam__motor_deficit="stable",
        history__conservative_care=IMPROVING,
        exam__facet_pattern=True,
        imaging=[{**FACET_AT_L5_S1[0], "reviewed": False}],
    )

    assert decision.decision == "needs_workup"
    assert kinds(decision) == {"mri"}  # the review, and no block


def test_stable_weakness_with_a_read_mri_is_not_now() -> None:
    decision = decision_for(
        exam__motor_deficit="stable",
        history__conservative_care=IMPROVING,
        exam__facet_pattern=True,
        imaging=FACET_AT_L5_S1,
    )

    assert decision.decision == "not_candidate"
    assert kinds(decision) == {"physical_therapy"}


def test_an_incomplete_red_flag_screen_without_mri_records_the_screen_first() -> None:
    decision = decision_for(red_flags__malignancy=DROP, imaging=NO_MRI)

    assert decision.decision == "needs_workup"
    assert decision.recommendations == ()
    assert decision.missing == ("red_flags.malignancy",)
    assert decision.summary.startswith("Record these before deciding anything else")


def test_unrecorded_timing_comes_before_not_now() -> None:
    decision = decision_for(
        history__pain_duration_months=DROP, history__conservative_care=IMPROVING, imaging=NO_MRI
    )

    assert decision.decision == "needs_workup"
    assert decision.missing == ("history.pain_duration_months",)


def test_a_malignancy_on_a_13_month_old_mri_refers_urgently_and_names_the_study() -> None:
    decision = decision_for(imaging__0__date="2025-10-01", imaging__0__malignancy=True)

    assert decision.decision == "refer_urgent"
    rule = decision.rule("red_flag_screen")
    assert rule.outcome == "fail"
    assert "a possible cancer in the spine (MRI of 2025-10-01)" in rule.text
    assert "No warning signs" not in rule.text


def test_a_red_flag_on_an_older_mri_that_a_recent_one_replaced_is_history() -> None:
    old = {"modality": "MRI", "date": "2024-01-10", "malignancy": True, "levels": []}
    decision = decision_for(imaging=[old, FACET_AT_L5_S1[0]])

    assert decision.decision != "refer_urgent"
    assert decision.rule("red_flag_screen").outcome == "pass"


def test_a_red_flag_on_an_old_mri_with_no_newer_one_still_warns() -> None:
    old = {"modality": "MRI", "date": "2024-01-10", "infection": True, "levels": []}
    decision = decision_for(imaging=[old])

    assert decision.decision == "refer_urgent"
    assert "(MRI of 2024-01-10)" in decision.rule("red_flag_screen").text
