"""The gates over one standing of the patient (PATHWAY.md promises 1, 2, 4 and section 9)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from typing import Any

import pytest
from workup_builder import mri_levels, workup

from spinepath.pathway import gates
from spinepath.pathway.biologics import KIND_MATERIAL
from spinepath.pathway.engine import decide
from spinepath.pathway.gates import ProcedureAttempt, procedure_refusals
from spinepath.pathway.plans import Target
from spinepath.pathway.policy import Policy, parse_policy
from spinepath.pathway.standing import (
    Consultation,
    Mri,
    Plan,
    PlannedProduct,
    Signature,
    Standing,
    clinical_facts,
    signed_targets,
)
from spinepath.pathway.workup import Workup

DISC = Target("discogenic", "L4-L5", None)
POLICY = Policy()
MRI = Mri(date(2026, 8, 20), reviewed=True)


def signed(
    consultation_id: int, w: Workup, signed_on: date, kind: str | None = None
) -> Consultation:
    made = decide(w, POLICY)
    return Consultation(
        id=consultation_id,
        review_date=w.assessed_on,
        status="finished",
        signature=Signature(
            decision_id=consultation_id * 10,
            kind=kind or made.decision,
            signed_on=signed_on,
            signed_by="Dr Rivera",
            signed_at=datetime.combine(signed_on, time(10)),
            targets=signed_targets(made.to_dict()),
            facts_as_signed=clinical_facts(w.to_json_dict()),
        ),
        workup=w,
    )


def unsigned(consultation_id: int, w: Workup) -> Consultation:
    return Consultation(consultation_id, w.assessed_on, "in-progress", None, w)


def standing(**changes: Any) -> Standing:
    """A candidate signed on 2026-09-01 (review 2026-11-02 in the builder is moved earlier),
    an accepted plan with one injection at L4-L5, today 2026-12-01."""
    base = workup(assessed_on="2026-09-01")
    values: dict[str, Any] = {
        "patient_id": 1,
        "today": date(2026, 12, 1),
        "consultations": (signed(1, base, date(2026, 9, 1)),),
        "mris": (MRI,),
        "plans": (Plan(5, 1, "accepted", 10, date(2026, 9, 15), (DISC,)),),
        "recorded": {},
    }
    values.update(changes)
    return Standing(**values)


def attempt(**changes: Any) -> ProcedureAttempt:
    values: dict[str, Any] = {
        "performed_on": date(2026, 12, 1),
        "target": DISC,
        "material": "msc",
        "guidance": "fluoroscopy",
    }
    values.update(changes)
    return ProcedureAttempt(**values)


def codes(refusals: list[gates.Refusal]) -> list[str]:
    return [r.code for r in refusals]


# --- The decision in force ----------------------------------------------------------------


def test_the_decision_in_force_is_the_latest_consultation_by_review_date() -> None:
    older = signed(1, workup(assessed_on="2026-09-01"), date(2026, 11, 20))  # signed late
    urgent = workup(assessed_on="2026-10-01", red_flags__cauda_equina=True)
    newer = signed(2, urgent, date(2026, 10, 1))
    in_force = gates.decision_in_force(standing(consultations=(older, newer)))
    assert in_force.signature is not None and in_force.signature.kind == "refer_urgent"


def test_a_consultation_is_not_signed_once_a_newer_one_exists() -> None:
    older = unsigned(1, workup(assessed_on="2026-09-01"))
    newer = unsigned(2, workup(assessed_on="2026-10-01"))
    found = gates.sign_refusal(standing(consultations=(older, newer)), 1)
    assert found is not None and found.code == "newer_consultation_exists"
    assert "2026-10-01" in found.sentence
    assert gates.sign_refusal(standing(consultations=(older, newer)), 2) is None


def test_facts_changed_since_signing_stop_the_decision() -> None:
    base = signed(1, workup(assessed_on="2026-09-01"), date(2026, 9, 1))
    edited = dataclasses.replace(
        base, workup=workup(assessed_on="2026-09-01", exam__facet_pattern=True)
    )
    found = gates.prices_refusal(standing(consultations=(edited,)), POLICY)
    assert found is not None and found.code == "facts_changed_since_signing"


def test_an_amendment_stops_the_decision() -> None:
    base = signed(1, workup(assessed_on="2026-09-01"), date(2026, 9, 1))
    amending = dataclasses.replace(base, status="amending")
    found = gates.prices_refusal(standing(consultations=(amending,)), POLICY)
    assert found is not None and found.code == "decision_being_amended"


# --- A warning recorded anywhere stops injections at once ---------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        {"red_flags__cauda_equina": True},
        {"exam__motor_deficit": "progressive"},
        {
            "history__prior_procedures": [
                {"kind": "fusion", "date": "2026-09-20", "levels": ["L4-L5"]}
            ]
        },
    ],
)
def test_an_unsigned_newer_consultation_with_a_warning_stops_everything(
    facts: dict[str, Any],
) -> None:
    warned = unsigned(2, workup(assessed_on="2026-10-01", **facts))
    now = standing(consultations=(*standing().consultations, warned))
    for found in (
        gates.prices_refusal(now, POLICY),
        gates.plan_refusal(now, now.accepted_plan, POLICY),
        gates.booking_refusal(now, 5, POLICY),
    ):
        assert found is not None and found.code == "warning_in_newer_consultation"
        assert "2026-10-01" in found.sentence
    assert "warning_in_newer_consultation" in codes(procedure_refusals(now, attempt(), POLICY))
    plan = now.accepted_plan
    assert plan is not None and gates.care_plan_status(now, plan, POLICY) == "on-hold"


def test_an_unsigned_newer_consultation_without_a_warning_stops_nothing() -> None:
    quiet = unsigned(2, workup(assessed_on="2026-10-01", exam__facet_pattern=True))
    now = standing(consultations=(*standing().consultations, quiet))
    assert gates.prices_refusal(now, POLICY) is None
    assert procedure_refusals(now, attempt(), POLICY) == []


def test_an_unreadable_newer_consultation_fails_closed() -> None:
    broken = Consultation(2, date(2026, 10, 1), "in-progress", None, None, readable=False)
    now = standing(consultations=(*standing().consultations, broken))
    found = gates.prices_refusal(now, POLICY)
    assert found is not None and found.code == "newer_consultation_unreadable"


# --- Promise 1 and 4: prices --------------------------------------------------------------------


def test_prices_after_a_candidate_decision_with_a_recent_reviewed_mri() -> None:
    assert gates.prices_refusal(standing(), POLICY) is None


def test_no_prices_without_a_candidate_decision() -> None:
    not_now = signed(
        1,
        workup(assessed_on="2026-09-01", history__conservative_care__status="improving"),
        date(2026, 9, 1),
    )
    found = gates.prices_refusal(standing(consultations=(not_now,)), POLICY)
    assert found is not None and found.code == "not_candidate"
    assert gates.prices_refusal(standing(consultations=()), POLICY) is not None


@pytest.mark.parametrize(
    ("mris", "code"),
    [((), "no_mri"), ((Mri(date(2026, 8, 20), False),), "mri_not_reviewed")],
)
def test_no_prices_without_a_reviewed_mri(mris: tuple[Mri, ...], code: str) -> None:
    found = gates.prices_refusal(standing(mris=mris), POLICY)
    assert found is not None and found.code == code


def test_no_prices_once_the_mri_has_left_its_window() -> None:
    found = gates.prices_refusal(standing(today=date(2027, 8, 21)), POLICY)
    assert found is not None and found.code == "mri_too_old"
    assert gates.prices_refusal(standing(today=date(2027, 8, 20)), POLICY) is None


def test_a_newer_unreviewed_mri_is_the_one_that_counts() -> None:
    found = gates.prices_refusal(standing(mris=(MRI, Mri(date(2026, 11, 1), False))), POLICY)
    assert found is not None and found.code == "mri_not_reviewed"


# --- Promise 2: targets -------------------------------------------------------------------------


def test_a_confirmed_disc_can_be_planned_with_msc_under_fluoroscopy() -> None:
    assert gates.planned_target_refusal(standing(), DISC, "msc", "fluoroscopy", POLICY) is None


def test_an_unconfirmed_level_cannot_be_planned() -> None:
    other = Target("discogenic", "L5-S1", None)
    found = gates.planned_target_refusal(standing(), other, "msc", "fluoroscopy", POLICY)
    assert found is not None and found.code == "target_not_confirmed"


def test_disc_is_not_injected_with_prp() -> None:
    found = gates.planned_target_refusal(standing(), DISC, "prp", "fluoroscopy", POLICY)
    assert found is not None and "mesenchymal stem cells" in found.sentence


def test_ligament_is_injected_under_ultrasound() -> None:
    levels = mri_levels(L4_L5={"ligament_injury": True})
    w = workup(
        assessed_on="2026-09-01",
        exam__ligament_tenderness=True,
        imaging=[{"modality": "MRI", "date": "2026-08-20", "reviewed": True, "levels": levels}],
    )
    now = standing(consultations=(signed(1, w, date(2026, 9, 1)),))
    target = Target("myoligamentous", None, None)
    assert gates.planned_target_refusal(now, target, "prp", "ultrasound", POLICY) is None
    assert gates.planned_target_refusal(now, target, "prp", "fluoroscopy", POLICY) is not None


# --- The procedure gate -------------------------------------------------------------------------


def test_procedure_with_accepted_plan_and_recent_mri_is_allowed() -> None:
    assert procedure_refusals(standing(), attempt(), POLICY) == []


def test_procedure_without_accepted_plan_is_refused() -> None:
    assert codes(procedure_refusals(standing(plans=()), attempt(), POLICY)) == ["no_accepted_plan"]


def test_procedure_under_a_plan_of_an_earlier_decision_is_refused() -> None:
    old = (Plan(5, 1, "accepted", 999, date(2026, 9, 15), (DISC,)),)
    assert "no_accepted_plan" in codes(procedure_refusals(standing(plans=old), attempt(), POLICY))


def test_procedure_at_a_target_not_in_the_plan_is_refused() -> None:
    other = Target("facet", "L4-L5", "left")
    found = codes(procedure_refusals(standing(), attempt(target=other), POLICY))
    assert found[0] == "target_not_in_plan"


def test_procedure_after_the_mri_expires_is_refused() -> None:
    now = standing(today=date(2027, 12, 31))
    found = codes(procedure_refusals(now, attempt(performed_on=date(2027, 8, 21)), POLICY))
    assert found == ["mri_too_old"]


def test_procedure_dates_before_the_decision_or_acceptance_or_in_the_future() -> None:
    assert "before_decision" in codes(
        procedure_refusals(standing(), attempt(performed_on=date(2026, 8, 31)), POLICY)
    )
    assert codes(
        procedure_refusals(standing(), attempt(performed_on=date(2026, 9, 10)), POLICY)
    ) == ["before_acceptance"]
    assert codes(
        procedure_refusals(standing(), attempt(performed_on=date(2026, 12, 2)), POLICY)
    ) == ["in_the_future"]
    assert procedure_refusals(standing(), attempt(performed_on=date(2026, 9, 15)), POLICY) == []


def test_no_more_injections_at_a_target_than_the_plan_holds() -> None:
    found = procedure_refusals(standing(recorded={DISC: 1}), attempt(), POLICY)
    assert codes(found) == ["plan_injections_used"]
    assert (
        "holds 1 injection at L4-L5 disc and 1 injection is already recorded" in found[0].sentence
    )
    two = (Plan(5, 1, "accepted", 10, date(2026, 9, 15), (DISC, DISC)),)
    assert procedure_refusals(standing(plans=two, recorded={DISC: 1}), attempt(), POLICY) == []


def test_every_reason_is_given_at_once() -> None:
    now = standing(plans=(), mris=(Mri(date(2026, 8, 20), False),))
    found = procedure_refusals(now, attempt(performed_on=date(2026, 12, 2), material="prp"), POLICY)
    assert set(codes(found)) == {
        "in_the_future",
        "no_accepted_plan",
        "injection_not_suited",
        "mri_not_reviewed",
    }


def test_a_fused_level_newly_recorded_stops_the_injection_there() -> None:
    fused = workup(
        assessed_on="2026-11-25",
        history__prior_procedures=[{"kind": "fusion", "date": "2026-11-18", "levels": ["L4-L5"]}],
    )
    now = standing(consultations=(*standing().consultations, unsigned(2, fused)))
    assert "warning_in_newer_consultation" in codes(procedure_refusals(now, attempt(), POLICY))


def test_care_plan_status() -> None:
    now = standing(
        plans=(
            Plan(4, 1, "superseded", 10, None),
            Plan(5, 2, "accepted", 10, date(2026, 9, 15), (DISC,)),
            Plan(6, 3, "draft", 10, None),
        )
    )
    assert [gates.care_plan_status(now, p, POLICY) for p in now.plans] == [
        "revoked",
        "active",
        "draft",
    ]


def test_a_warning_started_after_the_signature_stops_whatever_its_review_date() -> None:
    """A consultation opened since the signature but dated before it (backdated, or a signed
    warning amended and moved back) still stops everything."""
    backdated = Consultation(
        2,
        date(2026, 8, 25),
        "in-progress",
        None,
        workup(assessed_on="2026-08-25", red_flags__cauda_equina=True),
        created_at=datetime(2026, 11, 1, 9),
    )
    now = standing(consultations=(backdated, *standing().consultations))
    found = gates.prices_refusal(now, POLICY)
    assert found is not None and found.code == "warning_in_newer_consultation"
    assert "no. 2" in found.sentence
    history = dataclasses.replace(backdated, created_at=datetime(2026, 8, 1, 9))
    assert (
        gates.prices_refusal(standing(consultations=(history, *standing().consultations)), POLICY)
        is None
    )


def test_a_review_date_never_reorders_the_consultations() -> None:
    older = unsigned(1, workup(assessed_on="2026-09-01"))
    newer = unsigned(2, workup(assessed_on="2026-10-01"))
    now = standing(consultations=(older, newer))
    found = gates.review_date_refusal(now, 2, date(2026, 8, 15))
    assert found is not None and found.code == "review_date_reorders"
    assert gates.review_date_refusal(now, 2, date(2026, 9, 20)) is None
    assert gates.review_date_refusal(now, 1, date(2026, 10, 2)) is not None


# --- Released, then offered (PATHWAY.md section 4) -------------------------------------------


def _plans(*plans: Plan) -> Standing:
    return standing(plans=plans)


DRAFT = Plan(6, 2, "draft", 10, None, (DISC,))
RELEASED = Plan(6, 2, "released", 10, None, (DISC,))


def test_only_a_draft_with_an_injection_is_released() -> None:
    assert gates.release_refusal(_plans(DRAFT), DRAFT, POLICY) is None
    empty = dataclasses.replace(DRAFT, injections=())
    assert gates.release_refusal(_plans(empty), empty, POLICY).code == "no_injection"
    for plan in (RELEASED, dataclasses.replace(DRAFT, status="accepted")):
        assert gates.release_refusal(_plans(plan), plan, POLICY).code == "not_a_draft"
    assert gates.release_refusal(_plans(), None, POLICY).code == "not_a_draft"


def test_a_draft_is_never_accepted_or_shown_to_the_patient() -> None:
    assert gates.acceptance_refusal(_plans(DRAFT), DRAFT, POLICY).code == "not_released"
    assert not gates.patient_may_see_plan(_plans(DRAFT), DRAFT, POLICY)
    assert gates.acceptance_refusal(_plans(RELEASED), RELEASED, POLICY) is None
    assert gates.patient_may_see_plan(_plans(RELEASED), RELEASED, POLICY)
    gone = dataclasses.replace(RELEASED, status="superseded")
    assert gates.acceptance_refusal(_plans(gone), gone, POLICY).code == "not_offered"
    assert not gates.patient_may_see_plan(_plans(gone), gone, POLICY)


def test_a_released_plan_waits_while_the_plan_gate_is_closed() -> None:
    """A release or an acceptance never passes a closed price gate: no reviewed MRI inside
    its window, or a plan of a decision no longer in force."""
    late = dataclasses.replace(_plans(RELEASED), today=date(2027, 12, 1))
    assert gates.acceptance_refusal(late, RELEASED, POLICY) is not None
    assert not gates.patient_may_see_plan(late, RELEASED, POLICY)
    other = dataclasses.replace(RELEASED, decision_id=99)
    assert gates.acceptance_refusal(_plans(other), other, POLICY).code == "plan_of_another_decision"
    stale_draft = dataclasses.replace(DRAFT, decision_id=99)
    assert (
        gates.release_refusal(_plans(stale_draft), stale_draft, POLICY).code
        == "plan_of_another_decision"
    )


def test_the_fhir_status_of_a_released_plan_is_draft_until_accepted() -> None:
    assert gates.care_plan_status(_plans(RELEASED), RELEASED, POLICY) == "draft"


def test_an_mri_that_arrived_after_the_signature_waits_for_its_review_whatever_its_date() -> None:
    late = Mri(date(2026, 7, 1), reviewed=False, late=True)
    held = standing(mris=(MRI, late))
    assert gates.prices_refusal(held, POLICY).code == "mri_not_reviewed"
    read = standing(mris=(MRI, dataclasses.replace(late, reviewed=True)))
    assert gates.prices_refusal(read, POLICY) is None


# --- The clinician's day: what each appointment still needs (pathway.day) -----------------------


def test_the_day_shows_nothing_missing_when_the_gates_hold() -> None:
    from spinepath.pathway.day import still_missing

    ready = standing()
    assert still_missing(ready, POLICY, "injection", date(2026, 12, 1), 5) == ()
    assert still_missing(ready, POLICY, "visit", date(2026, 12, 1), 5) == ()


def test_the_day_says_what_an_injection_session_still_needs() -> None:
    from spinepath.pathway.day import still_missing

    unreviewed = standing(mris=(Mri(date(2026, 8, 20), reviewed=False),))
    assert "MRI not reviewed" in still_missing(
        unreviewed, POLICY, "injection", date(2026, 12, 1), 5
    )
    draft = standing(plans=(Plan(5, 1, "released", 10, None, (DISC,)),))
    assert still_missing(draft, POLICY, "injection", date(2026, 12, 1), 5) == ("plan not accepted",)
    # The MRI leaves its window before the session's day: the day says so, as the gate will.
    late = still_missing(standing(), POLICY, "injection", date(2027, 9, 1), 5)
    assert "MRI too old: a new one first" in late
    urgent = unsigned(2, workup(assessed_on="2026-11-20", red_flags__cauda_equina=True))
    warned = standing(consultations=(*standing().consultations, urgent))
    found = still_missing(warned, POLICY, "injection", date(2026, 12, 1), 5)
    assert "decision not signed" in found
    assert "warning recorded: a clinician signs first" in found


def test_the_day_says_what_a_consultation_still_needs() -> None:
    from spinepath.pathway.day import still_missing

    new_patient = standing(consultations=(), mris=(), plans=())
    assert still_missing(new_patient, POLICY, "consultation", date(2026, 12, 1)) == (
        "no MRI on file",
    )
    block = signed(1, workup(assessed_on="2026-09-01"), date(2026, 9, 1), kind="needs_workup")
    block = dataclasses.replace(
        block,
        signature=dataclasses.replace(block.signature, advised=frozenset({"diagnostic_block"})),
    )
    found = still_missing(
        standing(consultations=(block,)), POLICY, "consultation", date(2026, 12, 1)
    )
    assert found == ("diagnostic block advised: result to record", "more workup needed")


@pytest.mark.parametrize(
    ("kind", "guidances", "room", "allowed"),
    [
        ("consultation", (), "consultation", True),
        ("consultation", (), "fluoroscopy", False),
        ("visit", (), "ultrasound", False),
        ("injection", ("fluoroscopy",), "fluoroscopy", True),
        ("injection", ("fluoroscopy",), "ultrasound", False),
        ("injection", ("ct",), "ultrasound", False),
        ("injection", ("ultrasound",), "ultrasound", True),
        ("injection", ("ultrasound",), "fluoroscopy", True),
        ("injection", ("ultrasound", "fluoroscopy"), "ultrasound", False),
        ("injection", (), "consultation", False),
    ],
)
def test_an_appointment_needs_a_room_of_its_kind(
    kind: str, guidances: tuple[str, ...], room: str, allowed: bool
) -> None:
    from spinepath.pathway.rooms import room_problem

    assert (room_problem(kind, guidances, room) is None) is allowed


# --- The regulatory route of each injection (PATHWAY.md section 10) ---------------------------


def _with_products(plan: Plan, *products: PlannedProduct) -> Plan:
    return dataclasses.replace(plan, products=products)


def _line(kind: str | None, ind_number: str = "", material: str = "msc") -> PlannedProduct:
    return PlannedProduct(
        7, "Intradiscal injection L4-L5", DISC, material, kind=kind, ind_number=ind_number
    )


def test_culture_expanded_msc_without_an_ind_is_neither_released_nor_accepted() -> None:
    for plan, gate in ((DRAFT, gates.release_refusal), (RELEASED, gates.acceptance_refusal)):
        without = _with_products(plan, _line("msc_expanded"))
        found = gate(_plans(without), without, POLICY)
        assert found is not None and found.code == "ind_required"
        assert "Intradiscal injection L4-L5 (culture-expanded MSC)" in found.sentence
        assert "An IND number is required" in found.sentence
        under = _with_products(plan, _line("msc_expanded", "IND 012345"))
        assert gate(_plans(under), under, POLICY) is None


def test_exosomes_and_donor_cells_need_an_ind_point_of_care_products_do_not() -> None:
    for kind in ("exosome", "msc_allogeneic"):
        plan = _with_products(RELEASED, _line(kind, material=KIND_MATERIAL[kind]))
        assert gates.regulatory_refusal(plan, POLICY) is not None
    for kind in ("bmac", "adipose", "prp"):
        plan = _with_products(RELEASED, _line(kind, material=KIND_MATERIAL[kind]))
        assert gates.regulatory_refusal(plan, POLICY) is None


def test_a_policy_that_puts_a_kind_under_an_ind_stops_the_plan_already_released() -> None:
    stricter = parse_policy(
        'name = "strict"\nversion = "1"\n[regulatory_routes]\nbmac = "ind"\n', base=POLICY
    )
    plan = _with_products(RELEASED, _line("bmac"))
    assert gates.acceptance_refusal(_plans(plan), plan, POLICY) is None
    assert gates.acceptance_refusal(_plans(plan), plan, stricter).code == "ind_required"


def test_a_line_that_does_not_state_its_kind_is_not_released_but_an_old_offer_stands() -> None:
    draft = _with_products(DRAFT, _line(None))
    found = gates.release_refusal(_plans(draft), draft, POLICY)
    assert found is not None and found.code == "product_kind_not_stated"
    assert "Intradiscal injection L4-L5" in found.sentence
    released = _with_products(RELEASED, _line(None))
    assert gates.acceptance_refusal(_plans(released), released, POLICY) is None


ACCEPTED = Plan(5, 1, "accepted", 10, date(2026, 9, 15), (DISC, DISC))


def test_a_lot_is_of_the_kind_the_accepted_plan_gives_at_the_target() -> None:
    plan = _with_products(ACCEPTED, _line("bmac"))
    held = standing(plans=(plan,))
    assert gates.lot_refusal(held, DISC, "bmac", POLICY) is None
    other = gates.lot_refusal(held, DISC, "adipose", POLICY)
    assert other is not None and other.code == "lot_not_planned"
    assert other.sentence == (
        "This lot is adipose-derived cells: the accepted plan gives autologous bone marrow "
        "concentrate at L4-L5 disc."
    )
    # A target the plan does not list is the procedure gate's to refuse, not the lot's.
    elsewhere = Target("discogenic", "L5-S1", None)
    assert gates.lot_refusal(held, elsewhere, "adipose", POLICY) is None


def test_a_lot_under_an_ind_goes_under_the_lines_ind_number() -> None:
    plan = _with_products(ACCEPTED, _line("bmac"), _line("msc_expanded", "IND 012345"))
    held = standing(plans=(plan,))
    assert gates.lot_refusal(held, DISC, "msc_expanded", POLICY) is None
    line = gates.planned_product(held, DISC, "msc_expanded")
    assert line is not None and line.ind_number == "IND 012345"


def test_a_line_that_does_not_state_its_kind_takes_no_lot_under_an_ind_without_a_number() -> None:
    held = standing(plans=(_with_products(ACCEPTED, _line(None)),))
    assert gates.lot_refusal(held, DISC, "adipose", POLICY) is None
    refused = gates.lot_refusal(held, DISC, "msc_expanded", POLICY)
    assert refused is not None and refused.code == "ind_required"
    assert "no IND number for it at L4-L5 disc" in refused.sentence
