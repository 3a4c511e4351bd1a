"""Follow-up that patients finish (PATHWAY.md section 11): who is due, who is lost, which
reminder got the answer, and the warning under the clinic's target at 12 months."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spinepath.pathway.completion import (
    ANSWERED,
    DISTANCE_UNKNOWN,
    GROUPINGS,
    IN_PROGRESS,
    LETTER_POST_DAYS,
    LOST,
    NOT_RECORDED,
    STATES,
    CompletionCounts,
    age_band,
    completion_warning,
    distance_band,
    percent_text,
    reached_on,
    step_that_got_the_answer,
    step_words,
    visit_state,
)
from spinepath.pathway.policy import InvalidPolicy, Policy, parse_policy

POLICY = Policy()
OPENS = date(2026, 3, 2)


def test_the_age_band_is_the_age_on_the_visits_due_date() -> None:
    born = date(1986, 6, 15)
    assert age_band(born, date(2026, 6, 14)) == "under 40"  # 39 the day before the birthday
    assert age_band(born, date(2026, 6, 15)) == "40-49"
    assert age_band(date(1956, 1, 1), date(2026, 1, 1)) == "70 and over"
    assert age_band(date(1970, 2, 1), date(2026, 1, 1)) == "50-59"
    assert age_band(None, date(2026, 1, 1)) == NOT_RECORDED


def test_the_distance_band_from_the_clinic() -> None:
    assert distance_band(0) == "under 10 km"
    assert distance_band(9.99) == "under 10 km"
    assert distance_band(10) == "10-49 km"
    assert distance_band(149.9) == "50-149 km"
    assert distance_band(150) == "150 km or more"
    assert distance_band(None) == DISTANCE_UNKNOWN


def test_an_open_unanswered_visit_is_in_progress_not_lost() -> None:
    assert visit_state(window_closed=False, answered_inside=False) == IN_PROGRESS
    assert visit_state(window_closed=True, answered_inside=False) == LOST
    assert visit_state(window_closed=True, answered_inside=True) == ANSWERED
    assert visit_state(window_closed=False, answered_inside=True) == ANSWERED


def test_the_step_that_got_the_answer_is_the_last_that_reached_the_patient_before_it() -> None:
    steps = [
        ("email_1", OPENS),
        ("email_2", OPENS + timedelta(days=5)),
        ("text", None),  # skipped: the patient chose no texts
        ("call", OPENS + timedelta(days=14)),
    ]
    assert step_that_got_the_answer(steps, OPENS + timedelta(days=12)) == "email_2"
    assert step_that_got_the_answer(steps, OPENS + timedelta(days=14)) == "call"  # same day
    assert step_that_got_the_answer(steps, OPENS - timedelta(days=1)) is None  # before any
    assert step_that_got_the_answer(steps, None) is None  # not answered


def test_a_letter_reaches_the_patient_days_after_it_is_printed_and_a_failed_text_never() -> None:
    printed = OPENS + timedelta(days=25)
    # Posted, then delivered: an answer given the day it was printed came before it.
    arrives = printed + timedelta(days=LETTER_POST_DAYS)
    assert reached_on("letter", "sent", OPENS + timedelta(days=18), printed) == arrives
    assert step_that_got_the_answer([("letter", arrives)], printed) is None
    assert reached_on("letter", "sent", OPENS + timedelta(days=18), None) is None
    assert reached_on("sms", "failed", OPENS, None) is None
    assert reached_on("sms", "retry", OPENS, None) is None
    assert reached_on("email", "skipped", OPENS, None) is None
    assert reached_on("call", "sent", OPENS, None) == OPENS
    # Answered on day 20, after the call task (day 14), before the letter was printed (day 25).
    steps = [("call", OPENS + timedelta(days=14)), ("letter", printed)]
    assert step_that_got_the_answer(steps, OPENS + timedelta(days=20)) == "call"


def test_the_warning_under_the_target_and_not_at_it() -> None:
    assert completion_warning("12 months", 64, 100, 80) == (
        "12-month follow-up is 64% (target 80%): outcomes from fewer than 80% of patients may "
        "not represent all patients treated"
    )
    assert completion_warning("12 months", 80, 100, 80) is None
    assert completion_warning("12 months", 9, 10, 80) is None
    assert completion_warning("12 months", 0, 0, 80) is None  # nobody due yet


def test_a_share_under_the_target_is_never_rounded_up_to_it() -> None:
    assert percent_text(796, 1000, 80) == "79.6%"
    warning = completion_warning("12 months", 796, 1000, 80)
    assert warning is not None and warning.startswith("12-month follow-up is 79.6% (target 80%)")
    assert percent_text(796, 1000) == "80%"  # no target at this visit: rounded as usual
    assert percent_text(1, 1000) == "0.1%"
    assert percent_text(999, 1000) == "99.9%"
    assert percent_text(1, 3) == "33%"
    assert percent_text(0, 0) == "-"


def test_a_channel_used_twice_is_named_by_its_place() -> None:
    assert step_words(POLICY.reminder_steps) == {
        "email_1": "the first email",
        "email_2": "the second email",
        "text": "the text message",
        "call": "the phone call",
        "letter": "the letter by post",
    }


def test_the_target_is_the_clinics_policy() -> None:
    assert POLICY.completion_target_pct == 80
    lenient = parse_policy('name = "x"\nversion = "1"\ncompletion_target_pct = 70\n')
    counts = CompletionCounts()
    counts.add("12m", ANSWERED, {}, n=3)
    counts.add("12m", LOST, {}, n=1)
    assert counts.completion(lenient).warning is None  # 75% against 70%
    assert counts.completion(POLICY).warning is not None  # 75% against 80%
    with pytest.raises(InvalidPolicy) as raised:
        parse_policy('name = "x"\nversion = "1"\ncompletion_target_pct = 120\n')
    assert raised.value.key == "completion_target_pct"


def test_completion_per_visit_step_and_group() -> None:
    counts = CompletionCounts()
    women_far = {"sex": "Female", "distance": "150 km or more", "age": "60-69"}
    men_near = {"sex": "Male", "distance": "under 10 km", "age": "40-49"}
    counts.add("12m", ANSWERED, women_far, n=2)
    counts.add("12m", LOST, women_far, n=3)
    counts.add("12m", ANSWERED, men_near, n=5)
    counts.add("12m", IN_PROGRESS, men_near, n=7)
    counts.add_answered_after("12m", "letter", 2)
    counts.add_answered_after("12m", "email_1", 1)
    done = counts.completion(POLICY)
    twelve = next(v for v in done.visits if v.key == "12m")
    assert (twelve.tally.due, twelve.tally.answered, twelve.tally.in_progress) == (10, 7, 7)
    assert twelve.tally.text == "70%" and twelve.tally.below_target
    assert twelve.before_any == 4
    letter = next(s for s in twelve.steps if s.key == "letter")
    assert (letter.answered_after, letter.share_of_due) == (2, "20%")
    assert done.warning is not None and done.warning.startswith("12-month follow-up is 70%")
    sex = next(g for g in done.groupings if g.key == "sex")
    assert [r.value for r in sex.rows] == ["Female", "Male"]
    female, male = sex.rows
    at_12 = [v.key for v in done.visits].index("12m")
    assert (female.tallies[at_12].due, female.tallies[at_12].answered) == (5, 2)
    assert female.flagged and not male.flagged
    distance = next(g for g in done.groupings if g.key == "distance")
    assert [r.value for r in distance.rows] == ["under 10 km", "150 km or more"]
    payer = next(g for g in done.groupings if g.key == "payer")
    assert [r.value for r in payer.rows] == [NOT_RECORDED]
    six = next(v for v in done.visits if v.key == "6m")
    assert six.tally.due == 0 and six.tally.text == "-"


_VISITS = [v.key for v in POLICY.visits]
_STEPS = [None, *(s.key for s in POLICY.reminder_steps)]
_rows = st.lists(
    st.tuples(
        st.sampled_from(_VISITS),
        st.sampled_from(STATES),
        st.sampled_from(["Female", "Male", ""]),
        st.sampled_from(["under 40", "70 and over"]),
        st.sampled_from(_STEPS),
        st.integers(1, 50),
    ),
    max_size=40,
)


@given(_rows)
def test_every_visit_counts_once_in_each_grouping_and_each_answer_once_by_step(
    rows: list[tuple[str, str, str, str, str | None, int]],
) -> None:
    counts = CompletionCounts()
    for visit, state, sex, age, step, n in rows:
        counts.add(visit, state, {"sex": sex, "age": age}, n=n)
        if state == ANSWERED and step is not None:
            counts.add_answered_after(visit, step, n)
    done = counts.completion(POLICY)
    for i, visit in enumerate(done.visits):
        total = visit.tally
        assert total.due == total.answered + total.lost
        assert total.due == sum(n for v, s, *_, n in rows if v == visit.key and s != IN_PROGRESS)
        by_step = visit.before_any + sum(s.answered_after for s in visit.steps)
        assert by_step == total.answered
        for grouping in done.groupings:
            assert sum(r.tallies[i].due for r in grouping.rows) == total.due
            assert sum(r.tallies[i].answered for r in grouping.rows) == total.answered
            assert sum(r.tallies[i].in_progress for r in grouping.rows) == total.in_progress
    assert {g.key for g in done.groupings} == {key for key, _ in GROUPINGS}
    twelve = done.target_visit
    assert twelve is not None
    under = twelve.tally.due > 0 and twelve.tally.answered / twelve.tally.due < 0.8
    assert (done.warning is not None) == under
