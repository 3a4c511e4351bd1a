"""Properties that hold for every workup, on generated workups (hypothesis)."""

from __future__ import annotations

import copy
import os
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spinepath.pathway.dates import months_before
from spinepath.pathway.decision import INJECTION_KINDS, Decision
from spinepath.pathway.engine import decide
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import workup_from_dict

REVIEW = date(2026, 11, 2)
LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
POLICY = Policy()


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(None), strategy)


def days_before(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda d: (REVIEW - timedelta(days=d)).isoformat())


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


level_finding = st.builds(
    lambda level, **f: drop_none({"level": level, **f}),
    level=st.sampled_from(LEVELS),
    pfirrmann=optional(st.integers(1, 5)),
    disc_height_loss_pct=optional(st.sampled_from([0, 10, 30, 49, 50, 70])),
    endplate_bone_on_bone=optional(st.booleans()),
    herniation=optional(
        st.sampled_from(["none", "bulge", "protrusion", "extrusion", "sequestration"])
    ),
    nerve_root_compression=optional(st.booleans()),
    facet_arthropathy=optional(st.integers(0, 3)),
    ligament_injury=optional(st.booleans()),
)

mri = st.builds(
    lambda levels, **f: drop_none({"modality": "MRI", **f, "levels": levels}),
    date=days_before(0, 500),
    reviewed=optional(st.booleans()),
    levels=st.lists(level_finding, max_size=5, unique_by=lambda f: f["level"]),
    infection=optional(st.just(False)),
    malignancy=optional(st.just(False)),
    fracture=optional(st.sampled_from(["none", "healed"])),
)

block = st.one_of(
    st.builds(
        lambda **f: drop_none({"kind": "medial_branch", **f}),
        date=days_before(0, 200),
        levels=st.lists(st.sampled_from(LEVELS), min_size=1, max_size=2, unique=True),
        side=optional(st.sampled_from(["left", "right", "bilateral"])),
        relief_pct=st.integers(0, 100),
    ),
    st.builds(
        lambda **f: drop_none({"kind": "sacroiliac", **f}),
        date=days_before(0, 200),
        side=optional(st.sampled_from(["left", "right", "bilateral"])),
        relief_pct=st.integers(0, 100),
    ),
    st.builds(
        lambda **f: {"kind": "discography", **f},
        date=days_before(0, 200),
        levels=st.lists(st.sampled_from(LEVELS), min_size=1, max_size=3, unique=True),
        concordant=st.booleans(),
    ),
)

procedure = st.builds(
    lambda **f: drop_none(f),
    kind=st.sampled_from(["discectomy", "fusion", "epidural_steroid", "radiofrequency_ablation"]),
    date=days_before(0, 1500),
    levels=st.lists(st.sampled_from(LEVELS), max_size=2, unique=True),
    improved_after=optional(st.booleans()),
)

workups = st.builds(
    lambda history, red_flags, exam, imaging, blocks: {
        "schema": "spinepath.workup/1",
        "patient": {"id": "h-1", "birth_date": "1960-01-01"},
        "assessed_on": REVIEW.isoformat(),
        "history": history,
        "red_flags": red_flags,
        "exam": exam,
        "imaging": imaging,
        "diagnostic_blocks": blocks,
    },
    history=st.builds(
        lambda care, **f: drop_none({**f, "conservative_care": care}),
        pain_duration_months=optional(st.sampled_from([0, 1, 2.9, 3, 6, 24])),
        pattern=optional(st.sampled_from(["axial", "radicular", "mixed"])),
        care=optional(
            st.builds(
                lambda **f: drop_none(f),
                physical_therapy_weeks=optional(st.sampled_from([0, 4, 6, 12])),
                nsaid_trial=optional(st.booleans()),
                status=optional(st.sampled_from(["not_tried", "improving", "plateaued"])),
            )
        ),
        prior_procedures=optional(st.lists(procedure, max_size=2)),
    ),
    red_flags=st.builds(
        lambda **f: drop_none(f),
        cauda_equina=optional(st.just(False)),
        infection=optional(st.just(False)),
        malignancy=optional(st.just(False)),
        fracture=optional(st.just(False)),
    ),
    exam=st.builds(
        lambda **f: drop_none(f),
        motor_deficit=optional(st.sampled_from(["none", "none", "stable", "progressive"])),
        facet_pattern=optional(st.booleans()),
        si_provocation_positive=optional(st.integers(0, 6)),
        ligament_tenderness=optional(st.booleans()),
    ),
    imaging=st.lists(mri, max_size=2),
    blocks=st.lists(block, max_size=3),
)

# SPINEPATH_EXAMPLES=3000 searches harder (run before changing a rule).
EXAMPLES = int(os.environ.get("SPINEPATH_EXAMPLES", "300"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def decided(doc: dict[str, Any], policy: Policy = POLICY) -> Decision:
    return decide(workup_from_dict(doc), policy)


@SETTINGS
@given(workups, st.sampled_from(["cauda_equina", "infection", "malignancy", "fracture"]))
def test_a_red_flag_always_refers_urgently(doc: dict[str, Any], flag: str) -> None:
    doc["red_flags"][flag] = True
    assert decided(doc).decision == "refer_urgent"


@SETTINGS
@given(workups)
def test_no_candidate_without_a_reviewed_mri_inside_the_window(doc: dict[str, Any]) -> None:
    decision = decided(doc)
    if decision.decision != "candidate":
        return
    cutoff = months_before(REVIEW, POLICY.mri_max_age_months)
    mris = [s for s in doc["imaging"] if s["modality"] == "MRI"]
    latest = max(mris, key=lambda s: s["date"])
    assert latest["date"] >= cutoff.isoformat()
    assert latest.get("reviewed") is True


@SETTINGS
@given(workups)
def test_injections_only_at_confirmed_eligible_generators(doc: dict[str, Any]) -> None:
    decision = decided(doc)
    targets = {(g.generator, g.level, g.side) for g in decision.targets}
    for rec in decision.recommendations:
        if rec.kind in INJECTION_KINDS:
            assert decision.decision == "candidate"
            assert (rec.generator, rec.level, rec.side) in targets


@SETTINGS
@given(workups)
def test_every_rule_has_text_and_a_known_outcome(doc: dict[str, Any]) -> None:
    decision = decided(doc)
    assert len(decision.rules) == 10
    for rule in decision.rules:
        assert rule.text.strip()
        assert rule.outcome in ("pass", "fail", "not_applicable", "unknown")
    assert decision.recommendations or decision.decision == "needs_workup"


@SETTINGS
@given(workups)
def test_prognosis_only_for_candidates(doc: dict[str, Any]) -> None:
    decision = decided(doc)
    assert (decision.prognosis is not None) == (decision.decision == "candidate")


@SETTINGS
@given(workups, st.sampled_from(["cauda_equina", "infection", "malignancy", "fracture"]))
def test_adding_a_red_flag_never_makes_a_candidate(doc: dict[str, Any], flag: str) -> None:
    changed = copy.deepcopy(doc)
    changed["red_flags"][flag] = True
    assert decided(changed).decision != "candidate"


@SETTINGS
@given(workups)
def test_removing_the_mri_never_makes_a_candidate(doc: dict[str, Any]) -> None:
    changed = copy.deepcopy(doc)
    changed["imaging"] = [s for s in doc["imaging"] if s["modality"] != "MRI"]
    assert decided(changed).decision != "candidate"


@SETTINGS
@given(workups, st.integers(1, 100))
def test_lowering_a_block_relief_never_makes_a_candidate(doc: dict[str, Any], drop: int) -> None:
    if decided(doc).decision == "candidate":
        return
    changed = copy.deepcopy(doc)
    for b in changed["diagnostic_blocks"]:
        if "relief_pct" in b:
            b["relief_pct"] = max(0, b["relief_pct"] - drop)
    assert decided(changed).decision != "candidate"


NOT_NOW = ("chronic_pain", "conservative_care", "recovery_after_surgery")
# Row 3: earlier spine procedures are asked, even when the answer is none.
SAFETY_AND_TIMING = (
    "red_flag_screen",
    "neurological_status",
    "chronic_pain",
    "conservative_care",
    "recovery_after_surgery",
)


@SETTINGS
@given(workups)
def test_the_decision_is_the_first_that_applies(doc: dict[str, Any]) -> None:
    """PATHWAY.md section 3, row by row, read off the rules the decision reports."""
    decision = decided(doc)
    outcome = {r.id: r.outcome for r in decision.rules}
    motor = doc["exam"].get("motor_deficit")
    not_now = any(outcome[r] == "fail" for r in NOT_NOW)
    if outcome["red_flag_screen"] == "fail":
        assert decision.decision == "refer_urgent"
    elif outcome["neurological_status"] == "fail":
        assert decision.decision == "refer_surgical"
    elif any(outcome[r] == "unknown" for r in SAFETY_AND_TIMING):
        assert decision.decision == "needs_workup"
        assert decision.recommendations == ()
    elif not_now and motor == "none":
        assert decision.decision == "not_candidate"
    elif outcome["mri_within_window"] == "fail":
        assert decision.decision == "needs_imaging"
    elif not_now:
        # a stable deficit: the MRI is read here first, then "not now"
        assert decision.decision in ("needs_workup", "not_candidate")
        assert {r.kind for r in decision.recommendations} <= {
            "mri",
            "watchful_waiting",
            "physical_therapy",
            "wait_recovery",
        }
    elif decision.decision == "candidate":
        assert outcome["pain_generator_confirmed"] == "pass"
    else:
        assert decision.decision in ("needs_workup", "not_candidate")


@SETTINGS
@given(workups)
def test_not_now_without_a_deficit_never_sends_for_imaging_or_a_block(doc: dict[str, Any]) -> None:
    decision = decided(doc)
    outcome = {r.id: r.outcome for r in decision.rules}
    if decision.decision in ("refer_urgent", "refer_surgical"):
        return
    if doc["exam"].get("motor_deficit") != "none":
        return
    if any(outcome[r] == "fail" for r in NOT_NOW):
        assert decision.decision != "needs_imaging"
        kinds = {r.kind for r in decision.recommendations}
        assert "diagnostic_block" not in kinds
        assert "mri" not in kinds


@SETTINGS
@given(workups)
def test_a_motor_deficit_without_mri_needs_the_mri_or_a_referral(doc: dict[str, Any]) -> None:
    changed = copy.deepcopy(doc)
    changed["imaging"] = []
    changed["exam"]["motor_deficit"] = "stable"
    decision = decided(changed)
    outcome = {r.id: r.outcome for r in decision.rules}
    if any(outcome[r] == "unknown" for r in SAFETY_AND_TIMING):
        assert decision.decision == "needs_workup"  # the screen and history come first
    else:
        assert decision.decision in ("needs_imaging", "refer_urgent", "refer_surgical")


@SETTINGS
@given(
    workups,
    st.integers(0, 2000),
    st.sampled_from([("infection", True), ("malignancy", True), ("fracture", "acute")]),
)
def test_a_red_flag_on_the_latest_mri_refers_whatever_its_age(
    doc: dict[str, Any], age_days: int, flag: tuple[str, Any]
) -> None:
    changed = copy.deepcopy(doc)
    day = (REVIEW - timedelta(days=age_days)).isoformat()
    older = [s for s in changed["imaging"] if s["date"] < day]
    changed["imaging"] = [*older, {"modality": "MRI", "date": day, flag[0]: flag[1], "levels": []}]
    decision = decided(changed)
    assert decision.decision == "refer_urgent"
    assert day in decision.rule("red_flag_screen").text
