"""The candidacy rules of PATHWAY.md section 3, as the pathway's own examples."""

from __future__ import annotations

from workup_builder import DROP, decision_for, mri_levels, recommended

from spinepath.pathway.policy import Policy


def test_single_moderate_disc_with_plateaued_care_is_a_candidate() -> None:
    decision = decision_for()
    assert decision.decision == "candidate"
    assert recommended(decision) == [("intradiscal_msc", "L4-L5")]
    assert decision.prognosis is not None and decision.prognosis.tier == "strongest"


def test_every_rule_is_reported_with_a_sentence() -> None:
    decision = decision_for()
    ids = [rule.id for rule in decision.rules]
    assert ids == [
        "red_flag_screen",
        "neurological_status",
        "mri_within_window",
        "mri_reviewed",
        "chronic_pain",
        "conservative_care",
        "recovery_after_surgery",
        "disc_levels_localised",
        "facet_block",
        "pain_generator_confirmed",
    ]
    assert all(rule.text.endswith(".") for rule in decision.rules)


def test_a_red_flag_on_imaging_refers_urgently() -> None:
    decision = decision_for(imaging=[{**decision_for_imaging(), "fracture": "acute"}])
    assert decision.decision == "refer_urgent"
    assert recommended(decision) == [("urgent_referral", None)]


def decision_for_imaging() -> dict[str, object]:
    from workup_builder import base_document

    study: dict[str, object] = base_document()["imaging"][0]
    return study


def test_red_flag_beats_everything_else() -> None:
    decision = decision_for(
        red_flags__malignancy=True, imaging=[], exam__motor_deficit="progressive"
    )
    assert decision.decision == "refer_urgent"


def test_unrecorded_red_flag_needs_workup() -> None:
    decision = decision_for(red_flags__infection=DROP)
    assert decision.decision == "needs_workup"
    assert decision.rule("red_flag_screen").outcome == "unknown"
    assert "red_flags.infection" in decision.missing


def test_progressive_motor_deficit_refers_to_surgery_even_if_chronic() -> None:
    decision = decision_for(exam__motor_deficit="progressive", exam__radiculopathy_onset="chronic")
    assert decision.decision == "refer_surgical"
    assert recommended(decision) == [("surgical_evaluation", None)]


def test_extrusion_with_stable_weakness_refers_to_surgery() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 4, "herniation": "extrusion"})
    decision = decision_for(exam__motor_deficit="stable", imaging=[mri(levels=levels)])
    assert decision.decision == "refer_surgical"


def test_extrusion_without_weakness_is_not_a_surgical_referral() -> None:
    levels = mri_levels(
        L4_L5={"pfirrmann": 4, "disc_height_loss_pct": 20, "herniation": "extrusion"}
    )
    decision = decision_for(imaging=[mri(levels=levels)])
    assert decision.decision == "candidate"


def test_unrecorded_motor_status_needs_workup() -> None:
    decision = decision_for(exam__motor_deficit=DROP)
    assert decision.decision == "needs_workup"
    assert "exam.motor_deficit" in decision.missing


def mri(**changes: object) -> dict[str, object]:
    study = dict(decision_for_imaging())
    study.update(changes)
    return study


def test_no_mri_needs_imaging() -> None:
    decision = decision_for(imaging=[])
    assert decision.decision == "needs_imaging"
    assert recommended(decision) == [("mri", None)]


def test_mri_older_than_twelve_months_needs_imaging() -> None:
    decision = decision_for(imaging=[mri(date="2025-11-01")])
    assert decision.decision == "needs_imaging"
    assert "2025-11-01" in decision.recommendations[0].text


def test_mri_exactly_twelve_months_old_is_recent() -> None:
    assert decision_for(imaging=[mri(date="2025-11-02")]).decision == "candidate"


def test_findings_come_from_the_most_recent_mri() -> None:
    old = mri(date="2026-01-10", levels=mri_levels(L3_L4={"pfirrmann": 3}))
    decision = decision_for(imaging=[old, mri()])
    assert recommended(decision) == [("intradiscal_msc", "L4-L5")]


def test_unreviewed_mri_needs_workup_with_review() -> None:
    decision = decision_for(imaging=[mri(reviewed=False)])
    assert decision.decision == "needs_workup"
    assert ("mri", None) in recommended(decision)
    assert all(g.status != "confirmed" for g in decision.generators if g.generator == "discogenic")


def test_review_not_recorded_needs_workup() -> None:
    study = mri()
    del study["reviewed"]
    decision = decision_for(imaging=[study])
    assert decision.decision == "needs_workup"
    assert decision.rule("mri_reviewed").outcome == "unknown"


def test_short_pain_is_watchful_waiting() -> None:
    decision = decision_for(history__pain_duration_months=2)
    assert decision.decision == "not_candidate"
    assert recommended(decision) == [("watchful_waiting", None)]


def test_pain_duration_not_recorded_needs_workup() -> None:
    assert decision_for(history__pain_duration_months=DROP).decision == "needs_workup"


def test_still_improving_with_therapy_is_not_a_candidate_yet() -> None:
    decision = decision_for(history__conservative_care__status="improving")
    assert decision.decision == "not_candidate"
    assert recommended(decision) == [("physical_therapy", None)]


def test_four_weeks_of_therapy_is_under_the_minimum() -> None:
    decision = decision_for(history__conservative_care__physical_therapy_weeks=4)
    assert decision.decision == "not_candidate"
    assert decision.rule("conservative_care").outcome == "fail"


def test_no_nsaid_trial_fails_conservative_care() -> None:
    decision = decision_for(history__conservative_care__nsaid_trial=False)
    assert decision.rule("conservative_care").outcome == "fail"


def test_nsaid_trial_not_recorded_is_unknown_not_a_pass() -> None:
    decision = decision_for(history__conservative_care__nsaid_trial=DROP)
    assert decision.rule("conservative_care").outcome == "unknown"
    assert decision.decision == "needs_workup"


def test_fusion_four_months_ago_means_waiting() -> None:
    fusion = {"kind": "fusion", "date": "2026-07-01", "levels": ["L5-S1"], "improved_after": False}
    decision = decision_for(history__prior_procedures=[fusion])
    assert decision.decision == "not_candidate"
    assert ("wait_recovery", None) in recommended(decision)
    assert "2027-01-01" in decision.rule("recovery_after_surgery").text


def test_epidural_injection_last_month_starts_no_wait() -> None:
    injection = {"kind": "epidural_steroid", "date": "2026-10-01", "improved_after": False}
    decision = decision_for(history__prior_procedures=[injection])
    assert decision.decision == "candidate"
    post = [g for g in decision.generators if g.generator == "post_procedural"]
    assert post and not post[0].is_target


def test_surgery_seven_months_ago_is_past_the_wait() -> None:
    surgery = {"kind": "laminectomy", "date": "2026-04-01", "levels": ["L3-L4"]}
    decision = decision_for(history__prior_procedures=[surgery])
    assert decision.rule("recovery_after_surgery").outcome == "pass"
    assert decision.decision == "candidate"


def test_fused_level_is_not_eligible() -> None:
    fusion = {"kind": "fusion", "date": "2024-01-01", "levels": ["L4-L5"]}
    decision = decision_for(history__prior_procedures=[fusion])
    assert decision.decision == "not_candidate"
    assert ("surgical_evaluation", None) in recommended(decision)


def test_bone_on_bone_only_level_is_severe_collapse() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 4, "endplate_bone_on_bone": True})
    decision = decision_for(imaging=[mri(levels=levels)])
    assert decision.decision == "not_candidate"
    assert recommended(decision) == [("surgical_evaluation", None)]


def test_height_loss_at_the_limit_is_severe_collapse() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 4, "disc_height_loss_pct": 50})
    assert decision_for(imaging=[mri(levels=levels)]).decision == "not_candidate"


def test_height_loss_just_under_the_limit_is_eligible() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 4, "disc_height_loss_pct": 49.9})
    assert decision_for(imaging=[mri(levels=levels)]).decision == "candidate"


def test_height_loss_not_recorded_needs_workup_before_treating_the_disc() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 3})
    del levels[3]["disc_height_loss_pct"]
    decision = decision_for(imaging=[mri(levels=levels)])
    assert decision.decision == "needs_workup"
    assert ("mri", "L4-L5") in recommended(decision)


def test_leg_dominant_pain_excludes_the_disc_and_is_conventional_care() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 3, "nerve_root_compression": True})
    decision = decision_for(history__pattern="radicular", imaging=[mri(levels=levels)])
    assert decision.decision == "not_candidate"
    statuses = {(g.generator, g.status) for g in decision.generators}
    assert ("discogenic", "excluded") in statuses
    assert ("radicular", "confirmed") in statuses
    assert recommended(decision) == [("conventional_care", None)]


def test_radicular_pain_with_sequestration_adds_surgical_evaluation() -> None:
    levels = mri_levels(
        L4_L5={"pfirrmann": 3, "nerve_root_compression": True, "herniation": "sequestration"}
    )
    decision = decision_for(history__pattern="radicular", imaging=[mri(levels=levels)])
    assert decision.decision == "not_candidate"
    assert set(recommended(decision)) == {
        ("conventional_care", None),
        ("surgical_evaluation", None),
    }


def test_mixed_pattern_is_a_weaker_prognosis() -> None:
    decision = decision_for(history__pattern="mixed")
    assert decision.decision == "candidate"
    assert decision.prognosis is not None and decision.prognosis.tier == "weaker"


def test_two_disc_levels_are_a_typical_prognosis() -> None:
    worn = {"pfirrmann": 3, "disc_height_loss_pct": 20}
    decision = decision_for(imaging=[mri(levels=mri_levels(L4_L5=worn, L5_S1=worn))])
    assert decision.decision == "candidate"
    assert decision.prognosis is not None and decision.prognosis.tier == "typical"


def test_a_grade_two_disc_alone_is_normal_ageing_not_a_target() -> None:
    levels = mri_levels(L4_L5={"pfirrmann": 2, "disc_height_loss_pct": 5})
    decision = decision_for(imaging=[mri(levels=levels)])
    assert decision.decision == "not_candidate"
    assert not any(g.generator == "discogenic" for g in decision.generators)


def test_grade_two_discs_do_not_send_anyone_to_discography() -> None:
    ageing = {"pfirrmann": 2, "disc_height_loss_pct": 0}
    worn = {"pfirrmann": 4, "disc_height_loss_pct": 25}
    levels = mri_levels(L1_L2=ageing, L2_L3=ageing, L3_L4=ageing, L4_L5=worn, L5_S1=ageing)
    decision = decision_for(imaging=[mri(levels=levels)])
    assert decision.decision == "candidate"
    assert [g.level for g in decision.targets] == ["L4-L5"]
    assert not any(r.kind == "diagnostic_block" for r in decision.recommendations)


def test_earlier_procedures_not_asked_is_more_workup_first() -> None:
    decision = decision_for(history__prior_procedures=DROP)
    assert decision.decision == "needs_workup"
    assert "history.prior_procedures" in decision.missing
    assert decision.recommendations == ()


def test_three_worn_discs_without_discography_need_workup() -> None:
    worn = {"pfirrmann": 3, "disc_height_loss_pct": 20}
    levels = mri_levels(L3_L4=worn, L4_L5=worn, L5_S1=worn)
    decision = decision_for(imaging=[mri(levels=levels)])
    assert decision.decision == "needs_workup"
    assert decision.rule("disc_levels_localised").outcome == "fail"
    assert ("diagnostic_block", "L4-L5") in recommended(decision)


def test_concordant_discography_confirms_only_the_levels_it_names() -> None:
    worn = {"pfirrmann": 3, "disc_height_loss_pct": 20}
    levels = mri_levels(L3_L4=worn, L4_L5=worn, L5_S1=worn)
    disco = {"kind": "discography", "date": "2026-10-01", "levels": ["L4-L5"], "concordant": True}
    decision = decision_for(imaging=[mri(levels=levels)], diagnostic_blocks=[disco])
    assert decision.decision == "candidate"
    assert recommended(decision) == [("intradiscal_msc", "L4-L5")]


def test_fused_levels_do_not_count_against_the_disc_limit() -> None:
    worn = {"pfirrmann": 3, "disc_height_loss_pct": 20}
    levels = mri_levels(L3_L4=worn, L4_L5=worn, L5_S1=worn)
    fusion = {"kind": "fusion", "date": "2020-01-01", "levels": ["L5-S1"]}
    decision = decision_for(imaging=[mri(levels=levels)], history__prior_procedures=[fusion])
    assert decision.rule("disc_levels_localised").outcome == "pass"
    assert decision.decision == "candidate"
    assert {r.level for r in decision.recommendations} == {"L3-L4", "L4-L5"}


def facet_case(**changes: object) -> dict[str, object]:
    levels = mri_levels(L5_S1={"facet_arthropathy": 2})
    return {"exam__facet_pattern": True, "imaging": [mri(levels=levels)], **changes}


def test_facet_pattern_without_block_needs_workup() -> None:
    decision = decision_for(**facet_case())
    assert decision.decision == "needs_workup"
    assert ("diagnostic_block", "L5-S1") in recommended(decision)


def test_facet_block_with_80_percent_relief_confirms() -> None:
    block = {
        "kind": "medial_branch",
        "date": "2026-10-01",
        "levels": ["L5-S1"],
        "side": "left",
        "relief_pct": 80,
    }
    decision = decision_for(**facet_case(diagnostic_blocks=[block]))
    assert decision.decision == "candidate"
    facet = [r for r in decision.recommendations if r.kind == "facet_injection"]
    assert [(r.level, r.side) for r in facet] == [("L5-S1", "left")]


def test_facet_block_under_the_threshold_excludes_the_level() -> None:
    block = {"kind": "medial_branch", "date": "2026-10-01", "levels": ["L5-S1"], "relief_pct": 60}
    decision = decision_for(**facet_case(diagnostic_blocks=[block]))
    facet = [g for g in decision.generators if g.generator == "facet"]
    assert [g.status for g in facet] == ["excluded"]
    assert all(r.kind != "facet_injection" for r in decision.recommendations)


def test_facet_pattern_without_arthropathy_suspects_nothing() -> None:
    decision = decision_for(exam__facet_pattern=True)
    assert decision.rule("facet_block").outcome == "not_applicable"
    assert decision.decision == "candidate"


def test_suspected_facet_blocks_candidacy_even_with_a_confirmed_disc() -> None:
    levels = mri_levels(
        L4_L5={"pfirrmann": 4, "disc_height_loss_pct": 25}, L5_S1={"facet_arthropathy": 1}
    )
    decision = decision_for(exam__facet_pattern=True, imaging=[mri(levels=levels)])
    assert decision.decision == "needs_workup"


def test_facet_without_block_is_confirmed_when_policy_does_not_require_one() -> None:
    policy = Policy(name="no-block", version="1", facet_block_required=False)
    decision = decision_for(policy, **facet_case())
    assert decision.decision == "candidate"
    assert decision.policy_name == "no-block"


def test_sacroiliac_pain_is_not_treated_regeneratively_by_default() -> None:
    levels = mri_levels()
    block = {"kind": "sacroiliac", "date": "2026-10-01", "side": "right", "relief_pct": 90}
    decision = decision_for(
        exam__si_provocation_positive=4, imaging=[mri(levels=levels)], diagnostic_blocks=[block]
    )
    assert decision.decision == "not_candidate"
    assert recommended(decision) == [("conventional_care", None)]


def test_sacroiliac_pain_is_treated_when_policy_allows() -> None:
    policy = Policy(name="si", version="1", sacroiliac_eligible=True)
    block = {"kind": "sacroiliac", "date": "2026-10-01", "side": "right", "relief_pct": 75}
    decision = decision_for(
        policy,
        exam__si_provocation_positive=3,
        imaging=[mri(levels=mri_levels())],
        diagnostic_blocks=[block],
    )
    assert decision.decision == "candidate"
    assert [(r.kind, r.side) for r in decision.recommendations] == [("ligament_injection", "right")]


def test_ligament_tenderness_with_injury_on_mri_is_a_candidate() -> None:
    levels = mri_levels(L4_L5={"ligament_injury": True})
    decision = decision_for(exam__ligament_tenderness=True, imaging=[mri(levels=levels)])
    assert decision.decision == "candidate"
    assert recommended(decision) == [("ligament_injection", None)]


def test_nothing_found_on_a_clean_mri_is_conventional_care() -> None:
    decision = decision_for(imaging=[mri(levels=mri_levels())])
    assert decision.decision == "not_candidate"
    assert recommended(decision) == [("conventional_care", None)]


def test_three_targets_are_a_weaker_prognosis() -> None:
    levels = mri_levels(
        L4_L5={"pfirrmann": 3, "disc_height_loss_pct": 10, "ligament_injury": True},
        L5_S1={"pfirrmann": 3, "disc_height_loss_pct": 10},
    )
    decision = decision_for(exam__ligament_tenderness=True, imaging=[mri(levels=levels)])
    assert decision.decision == "candidate"
    assert len(decision.targets) == 3
    assert decision.prognosis is not None and decision.prognosis.tier == "weaker"


def test_decision_records_the_policy() -> None:
    decision = decision_for(Policy(name="clinic-x", version="7"))
    assert decision.to_dict()["policy"] == {"name": "clinic-x", "version": "7"}
