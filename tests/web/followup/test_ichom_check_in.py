"""The ICHOM low back pain measures at every check-in (PATHWAY.md section 11): back and leg pain
0-10, work status, analgesic and opioid use, asked beside the overall pain score - on the
patient's link page (each answered), on the staff's paper form (as written) and through the
services (every value checked)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from treatment_helpers import treated
from web_helpers import LBP_ANSWERED, NOTHING_WORRYING, acting

from spinepath.actors import Actor
from spinepath.errors import Invalid
from spinepath.followup import services
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.pathway.ichom import LBP_MISSING, LbpAnswers

ODI = {f"odi_{i}": "2" for i in range(1, 11)}
ANSWERS = {"pain": "35", **ODI, **NOTHING_WORRYING, **LBP_ANSWERED}


def _link(patient: Any) -> str:
    visit = ReassessmentVisit.objects.get(patient=patient, key="6w")
    return services.questionnaire_link_create(actor=Actor.system(), visit=visit)


def _text(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_the_patient_answers_back_and_leg_pain_work_and_medication_on_the_link_page(
    clinician: Any,
) -> None:
    token = _link(treated(clinician, 40))
    page = _text(Client().get(f"/q/{token}/"))
    for question in (
        "Your pain right now, 0 to 100",  # the overall pain is still asked, as before
        "Your back pain over the last week, 0 to 10",
        "Your leg pain over the last week, 0 to 10",
        "Which describes your work now?",
        "Working part time because of my back pain",
        "Not working for other reasons (retired, student, homemaker, looking for work)",
        "Do you take pain medication for your back or leg pain?",
        "Do you take opioid pain medication for it",
    ):
        assert question in page
    sent = {
        **ANSWERS,
        "back_pain_nrs": "7",
        "leg_pain_nrs": "0",
        "work_status": "sick_leave",
        "analgesic_use": "daily",
        "opioid_use": "yes",
    }
    response = Client().post(f"/q/{token}/", sent)
    assert "your answers are saved" in _text(response)
    measured = OutcomeMeasurement.objects.get()
    assert (measured.back_pain_nrs, measured.leg_pain_nrs) == (7, 0)
    assert (measured.work_status, measured.analgesic_use, measured.opioid_use) == (
        "sick_leave",
        "daily",
        True,
    )
    # The overall pain stays the outcome the responder rule reads, never derived from them.
    assert measured.pain_vas == 35


def test_each_unanswered_question_is_named_and_what_was_given_is_kept(clinician: Any) -> None:
    token = _link(treated(clinician, 40))
    response = Client().post(
        f"/q/{token}/", {"pain": "35", **ODI, **NOTHING_WORRYING, "leg_pain_nrs": "3"}
    )
    assert response.status_code == 400
    page = _text(response)
    for name in ("back_pain_nrs", "work_status", "analgesic_use", "opioid_use"):
        assert LBP_MISSING[name] in page, name
        assert f'id="{name}-error"' in page
    assert LBP_MISSING["leg_pain_nrs"] not in page
    assert 'name="leg_pain_nrs" value="3" id="id_leg_pain_nrs_3" required checked' in page
    assert 'value="35"' in page  # the pain typed is kept
    assert not OutcomeMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("changed", "named", "message"),
    [
        ({"back_pain_nrs": "11"}, "back_pain_nrs", "Back pain: choose a number from 0 to 10."),
        ({"leg_pain_nrs": "-1"}, "leg_pain_nrs", "Leg pain: choose a number from 0 to 10."),
        ({"back_pain_nrs": "seven"}, "back_pain_nrs", "Back pain: choose a number"),
        ({"work_status": "astronaut"}, "work_status", "Work status: choose one of the list."),
        ({"analgesic_use": "sometimes"}, "analgesic_use", "Pain medication: choose no"),
        ({"opioid_use": "maybe"}, "opioid_use", LBP_MISSING["opioid_use"]),
        (
            {"analgesic_use": "none", "opioid_use": "yes"},
            "opioid_use",
            "You said you take no pain medication",
        ),
    ],
)
def test_a_wrong_answer_is_named_at_its_question_never_a_server_error(
    clinician: Any, changed: dict[str, str], named: str, message: str
) -> None:
    token = _link(treated(clinician, 40))
    response = Client().post(f"/q/{token}/", {**ANSWERS, **changed})
    assert response.status_code == 400
    page = _text(response)
    assert message in page and f'id="{named}-error"' in page
    assert not OutcomeMeasurement.objects.exists()


def test_a_licensed_instrument_is_not_asked_without_the_licence(clinician: Any) -> None:
    """EQ-5D needs a EuroQol licence: off by default (policy eq5d_licensed), never asked."""
    token = _link(treated(clinician, 40))
    page = _text(Client().get(f"/q/{token}/"))
    for word in ("EQ-5D", "EuroQol", "mobility", "self-care", "anxiety"):
        assert word not in page


# --- Staff: the paper form -------------------------------------------------------------------


def _paper(v: ReassessmentVisit, **changes: str) -> dict[str, str]:
    return {
        "action": "paper",
        "paper-measured_on": timezone.localdate().isoformat(),
        "paper-scale": "vas",
        "paper-pain": "40",
        **{f"paper-odi_{i}": "1" for i in range(1, 11)},
        **{f"paper-{k}": v for k, v in NOTHING_WORRYING.items()},
        **{f"paper-{k}": v for k, v in changes.items()},
    }


def test_staff_enter_the_measures_as_written_on_the_paper_form(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 40)
    v = ReassessmentVisit.objects.get(patient=patient, key="6w")
    form = _text(coordinator_client.get(f"/visits/{v.pk}/"))
    assert "Your back pain over the last week, 0 to 10" in form
    assert "Not answered on the form" in form
    response = coordinator_client.post(
        f"/visits/{v.pk}/",
        _paper(
            v,
            back_pain_nrs="6",
            leg_pain_nrs="5",
            work_status="not_working_back_pain",
            analgesic_use="occasional",
            opioid_use="no",
        ),
    )
    assert response.status_code == 302
    measured = OutcomeMeasurement.objects.get()
    assert (measured.back_pain_nrs, measured.leg_pain_nrs, measured.opioid_use) == (6, 5, False)
    assert measured.source == "paper" and measured.work_status == "not_working_back_pain"
    page = _text(coordinator_client.get(f"/visits/{v.pk}/"))
    assert "6 / 10" in page and "5 / 10" in page
    assert "Not working because of my back pain" in page and "Yes, now and then" in page


def test_a_paper_form_left_blank_keeps_the_blanks_and_a_wrong_value_is_named(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 40)
    v = ReassessmentVisit.objects.get(patient=patient, key="6w")
    wrong = coordinator_client.post(
        f"/visits/{v.pk}/", _paper(v, analgesic_use="none", opioid_use="yes")
    )
    assert wrong.status_code == 400
    assert "You said you take no pain medication" in _text(wrong)
    assert not OutcomeMeasurement.objects.exists()
    blank = coordinator_client.post(f"/visits/{v.pk}/", _paper(v, back_pain_nrs="3"))
    assert blank.status_code == 302
    measured = OutcomeMeasurement.objects.get()
    assert (measured.back_pain_nrs, measured.leg_pain_nrs, measured.work_status) == (3, None, "")
    assert measured.opioid_use is None
    assert "not answered" in _text(coordinator_client.get(f"/visits/{v.pk}/"))


# --- The services and the database hold the values whatever the route -----------------------


def test_the_service_refuses_a_value_out_of_range_by_field(clinician: Any) -> None:
    patient = treated(clinician, 40)
    v = ReassessmentVisit.objects.get(patient=patient, key="6w")
    with pytest.raises(Invalid) as refused:
        services.paper_form_enter(
            actor=acting(clinician),
            visit=v,
            measured_on=timezone.localdate(),
            answers=services.Answers(
                40, "vas", [1] * 10, lbp=LbpAnswers(back_pain_nrs=12, work_status="retired")
            ),
        )
    assert set(refused.value.fields) == {"back_pain_nrs", "work_status"}
    assert not OutcomeMeasurement.objects.exists()


def test_the_database_refuses_a_pain_rating_over_ten(clinician: Any) -> None:
    patient = treated(clinician, 40)
    services.paper_form_enter(
        actor=acting(clinician),
        visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
        measured_on=timezone.localdate(),
        answers=services.Answers(40, "vas", [1] * 10),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.update(leg_pain_nrs=11)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.update(analgesic_use="none", opioid_use=True)


def test_answers_given_before_the_measures_existed_stay_valid_and_show_as_not_answered(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, 40)
    v = ReassessmentVisit.objects.get(patient=patient, key="6w")
    services.paper_form_enter(
        actor=acting(clinician),
        visit=v,
        measured_on=timezone.localdate(),
        answers=services.Answers(40, "vas", [1] * 10),  # no ICHOM answers at all
    )
    measured = OutcomeMeasurement.objects.get()
    assert measured.back_pain_nrs is None and measured.pain_vas == 40
    page = _text(clinician_client.get(f"/visits/{v.pk}/"))
    assert page.count("not answered") == 5
