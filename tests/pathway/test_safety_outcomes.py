"""Safety as an outcome (PATHWAY.md section 10): the trials' composite endpoint, and which later
surgery or injection is a re-intervention at a treated level."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spinepath.pathway.policy import InvalidPolicy, Policy, parse_policy
from spinepath.pathway.safety_outcomes import (
    LaterIntervention,
    TreatedSite,
    composite_at_visit,
    composite_success,
    composite_visits,
    first_reintervention,
    reintervention_at_treated_level,
    reintervention_problems,
)

POLICY = Policy()
INJECTED = date(2026, 3, 2)
DISC = TreatedSite("discogenic", "L4-L5", None, INJECTED, course=1)
LIGAMENT = TreatedSite("myoligamentous", None, "left", INJECTED, course=1)


def later(days: int = 90, **changes: object) -> LaterIntervention:
    values: dict[str, object] = {
        "kind": "surgery",
        "performed_on": INJECTED + timedelta(days=days),
        "levels": frozenset({"L4-L5"}),
    }
    values.update(changes)
    return LaterIntervention(**values)  # type: ignore[arg-type]


# --- The composite endpoint -------------------------------------------------------------------


def test_half_the_pain_and_fifteen_odi_points_is_a_composite_success() -> None:
    assert composite_success(-50.0, -15.0, False, POLICY) is True
    assert composite_success(-49.9, -30.0, False, POLICY) is False
    assert composite_success(-80.0, -14.0, False, POLICY) is False


def test_a_missing_measure_leaves_the_composite_unknown() -> None:
    assert composite_success(None, -20.0, False, POLICY) is None
    assert composite_success(-60.0, None, False, POLICY) is None


def test_a_re_intervention_before_the_visit_fails_even_when_the_measures_pass() -> None:
    assert composite_success(-90.0, -40.0, True, POLICY) is False
    assert composite_success(None, None, True, POLICY) is False


def test_the_thresholds_are_the_clinics_policy() -> None:
    lenient = parse_policy(
        'name="x"\nversion="1"\ncomposite_pain_min_pct = 30\ncomposite_odi_min_points = 10'
    )
    assert composite_success(-35.0, -12.0, False, lenient) is True
    assert composite_success(-35.0, -12.0, False, POLICY) is False


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('name="x"\nversion="1"\ncomposite_pain_min_pct = 120', "composite_pain_min_pct"),
        ('name="x"\nversion="1"\ncomposite_odi_min_points = -5', "composite_odi_min_points"),
    ],
)
def test_a_composite_threshold_out_of_range_names_its_key(text: str, key: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        parse_policy(text)
    assert caught.value.key == key


@given(
    pain=st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)),
    odi=st.one_of(st.none(), st.floats(-100, 100, allow_nan=False)),
)
def test_a_re_intervention_never_makes_a_success(pain: float | None, odi: float | None) -> None:
    assert composite_success(pain, odi, True, POLICY) is False
    without = composite_success(pain, odi, False, POLICY)
    assert (without is None) == (pain is None or odi is None)


@given(
    pain=st.floats(-100, 100, allow_nan=False),
    odi=st.floats(-100, 100, allow_nan=False),
    better_pain=st.floats(0, 100, allow_nan=False),
    better_odi=st.floats(0, 100, allow_nan=False),
)
def test_more_improvement_never_turns_a_success_into_a_failure(
    pain: float, odi: float, better_pain: float, better_odi: float
) -> None:
    if composite_success(pain, odi, False, POLICY):
        assert composite_success(pain - better_pain, odi - better_odi, False, POLICY)


def test_a_patient_re_intervened_and_not_measured_fails_once_the_window_closed() -> None:
    def visit(**changes: bool) -> bool | None:
        values = {"measured": False, "window_closed": True, "reintervened": True, **changes}
        return composite_at_visit(None, None, policy=POLICY, **values)

    assert visit() is False
    assert visit(window_closed=False) is None  # not counted before the window closes
    assert visit(reintervened=False) is None  # lost, not a failure
    assert composite_at_visit(
        -60.0, -20.0, measured=True, window_closed=False, reintervened=False, policy=POLICY
    )


def test_the_composite_is_scored_at_twelve_and_twenty_four_months() -> None:
    assert [v.key for v in composite_visits(POLICY)] == ["12m", "24m"]


# --- Re-intervention at a treated level -------------------------------------------------------


def test_a_fusion_at_the_treated_disc_level_is_a_re_intervention() -> None:
    assert reintervention_at_treated_level(DISC, later(levels=frozenset({"L4-L5", "L5-S1"})))


def test_a_surgery_at_another_level_is_not() -> None:
    assert not reintervention_at_treated_level(DISC, later(levels=frozenset({"L3-L4"})))


def test_a_facet_injection_at_the_treated_level_counts_whatever_the_side() -> None:
    facet = later(kind="injection", generator="facet", side="right")
    assert reintervention_at_treated_level(DISC, facet)


def test_anything_on_or_before_the_day_of_the_injection_is_not_a_re_intervention() -> None:
    assert not reintervention_at_treated_level(DISC, later(days=0))
    assert not reintervention_at_treated_level(DISC, later(days=-30))


def test_an_injection_of_the_same_course_is_the_treatment_itself() -> None:
    second = later(days=30, kind="injection", generator="discogenic", course=1)
    assert not reintervention_at_treated_level(DISC, second)
    assert reintervention_at_treated_level(DISC, later(days=400, kind="injection", course=2))


def test_a_target_without_a_level_counts_the_same_structure_on_the_same_side() -> None:
    again = later(kind="injection", levels=frozenset(), generator="myoligamentous", side="left")
    assert reintervention_at_treated_level(LIGAMENT, again)
    both = later(kind="injection", levels=frozenset(), generator="myoligamentous", side="bilateral")
    assert reintervention_at_treated_level(LIGAMENT, both)
    other_side = later(
        kind="injection", levels=frozenset(), generator="myoligamentous", side="right"
    )
    assert not reintervention_at_treated_level(LIGAMENT, other_side)
    # A lumbar surgery names levels, not the ligament: it does not count for it.
    assert not reintervention_at_treated_level(LIGAMENT, later())


def test_the_first_re_intervention_of_a_course_is_the_earliest_that_counts() -> None:
    facet = TreatedSite("facet", "L5-S1", "left", INJECTED, course=1)
    found = first_reintervention(
        [DISC, facet],
        [
            later(days=500),
            later(days=200, levels=frozenset({"L5-S1"})),
            later(days=100, levels=frozenset({"L2-L3"})),
        ],
    )
    assert found is not None and found.performed_on == INJECTED + timedelta(days=200)
    assert first_reintervention([DISC], []) is None


@given(
    days=st.integers(-400, 400),
    level=st.sampled_from(["L3-L4", "L4-L5", "L5-S1"]),
    course=st.one_of(st.none(), st.integers(1, 3)),
)
def test_a_re_intervention_is_always_later_at_the_level_and_of_another_course(
    days: int, level: str, course: int | None
) -> None:
    found = reintervention_at_treated_level(
        DISC, later(days=days, levels=frozenset({level}), course=course)
    )
    assert found == (days > 0 and level == "L4-L5" and course != 1)


def test_a_record_names_the_field_of_each_problem() -> None:
    today = INJECTED + timedelta(days=365)
    ok = reintervention_problems(
        DISC, kind="surgery", performed_on=today, level="L4-L5", today=today
    )
    assert ok == {}
    wrong = reintervention_problems(
        DISC, kind="massage", performed_on=today + timedelta(days=1), level="L3-L4", today=today
    )
    assert set(wrong) == {"kind", "performed_on", "level"}
    assert "in the future" in wrong["performed_on"]
    assert "is not at the treated level" in wrong["level"]
    early = reintervention_problems(
        DISC, kind="injection", performed_on=INJECTED, level="L4-L5", today=today
    )
    assert "not after the injection" in early["performed_on"]
    ligament = reintervention_problems(
        LIGAMENT, kind="injection", performed_on=today, level="L4-L5", today=today
    )
    assert "leave the level empty" in ligament["level"]
