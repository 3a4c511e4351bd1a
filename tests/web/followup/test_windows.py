"""A reassessment counts only when measured inside its window (PATHWAY.md section 7).

Links are issued only for a window they can reach and answer only inside it; paper forms
outside it are kept, flagged, and left out of the clinic's outcomes.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from django.core import mail
from django.test import Client
from django.utils import timezone
from treatment_helpers import on_day, treated
from web_helpers import LBP_ANSWERED, NOTHING_WORRYING

from spinepath.actors import Actor
from spinepath.followup import services
from spinepath.followup.models import OutcomeMeasurement, QuestionnaireLink, ReassessmentVisit

ANSWERS = {
    "pain": "35",
    **{f"odi_{i}": "2" for i in range(1, 11)},
    **NOTHING_WORRYING,
    **LBP_ANSWERED,
}


def visit(patient: Any, key: str) -> ReassessmentVisit:
    return ReassessmentVisit.objects.get(patient=patient, key=key)


def paper(day: str, confirm: bool = False) -> dict[str, str]:
    data = {
        "action": "paper",
        "paper-measured_on": day,
        "paper-scale": "vas",
        "paper-pain": "30",
        **{f"paper-odi_{i}": "1" for i in range(1, 11)},
        **{f"paper-{k}": v for k, v in NOTHING_WORRYING.items()},
    }
    if confirm:
        data["paper-confirm_outside_window"] = "on"
    return data


# --- links are issued only for a window they can reach --------------------------------------


def test_a_link_for_a_closed_window_is_refused_with_its_dates(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 60)  # the 6-week window ran from day 28 to day 56
    six_weeks = visit(patient, "6w")
    for send in ({}, {"send": "email"}):
        response = coordinator_client.post(f"/visits/{six_weeks.pk}/link/", send, follow=True)
        text = response.content.decode()
        assert f"closed on {six_weeks.closes:%-d %B %Y}" in text
        assert f"it was open {six_weeks.opens:%-d %B %Y} to {six_weeks.closes:%-d %B %Y}" in text
    assert not QuestionnaireLink.objects.exists()
    assert not mail.outbox


def test_a_link_for_a_window_that_opens_after_it_would_expire_is_refused(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 10)  # 6 weeks opens on day 28; a link lasts 14 days
    six_weeks = visit(patient, "6w")
    page = coordinator_client.get(f"/visits/{six_weeks.pk}/")
    assert b"No questionnaire link now" in page.content
    assert b"Create a link to hand over" not in page.content
    response = coordinator_client.post(f"/visits/{six_weeks.pk}/link/", follow=True)
    assert f"opens on {six_weeks.opens:%-d %B %Y}".encode() in response.content
    assert not QuestionnaireLink.objects.exists()


def test_a_link_for_a_window_opening_within_its_lifetime_is_issued(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 20)  # 6 weeks opens in 8 days
    response = coordinator_client.post(f"/visits/{visit(patient, '6w').pk}/link/", follow=True)
    assert b"New single-use link (shown once)" in response.content
    assert QuestionnaireLink.objects.count() == 1


# --- a link answers only inside its window ---------------------------------------------------


def test_a_twelve_month_link_answered_on_the_injection_day_counts_for_nothing(
    clinician: Any,
) -> None:
    patient = treated(clinician, 0)
    twelve_months = visit(patient, "12m")
    # A link made before windows were checked (or forged in the database): still refused.
    token = "t" * 43
    QuestionnaireLink.objects.create(
        visit=twelve_months,
        token_hash=services._hash(token),
        expires_at=timezone.now() + timedelta(days=14),
    )
    page = Client().get(f"/q/{token}/")
    assert page.status_code == 409
    assert f"This check-in opens on {twelve_months.opens:%-d %B %Y}".encode() in page.content
    assert b"Send my answers" not in page.content
    response = Client().post(f"/q/{token}/", ANSWERS)
    assert response.status_code == 409 and b"Nothing was saved" in response.content
    assert not OutcomeMeasurement.objects.exists()


def test_a_link_answers_once_its_window_opens(clinician: Any) -> None:
    patient = treated(clinician, 20)
    six_weeks = visit(patient, "6w")
    token = services.questionnaire_link_create(actor=Actor.system(), visit=six_weeks)
    early = Client().post(f"/q/{token}/", ANSWERS)
    assert early.status_code == 409 and not OutcomeMeasurement.objects.exists()
    with on_day(six_weeks.opens, 9):
        response = Client().post(f"/q/{token}/", ANSWERS)
    assert b"your answers are saved" in response.content
    measured = OutcomeMeasurement.objects.get()
    assert measured.measured_on == six_weeks.opens and not measured.outside_window


def test_a_link_answered_after_its_window_closed_is_refused(clinician: Any) -> None:
    patient = treated(clinician, 50)  # 6 weeks closes on day 56; the link lasts to day 64
    six_weeks = visit(patient, "6w")
    token = services.questionnaire_link_create(actor=Actor.system(), visit=six_weeks)
    with on_day(six_weeks.closes + timedelta(days=1)):
        page = Client().get(f"/q/{token}/")
        response = Client().post(f"/q/{token}/", ANSWERS)
    assert page.status_code == 410 and response.status_code == 410
    assert f"closed on {six_weeks.closes:%-d %B %Y}".encode() in response.content
    assert not OutcomeMeasurement.objects.exists()


# --- paper forms outside the window: confirmed, kept, flagged, not counted --------------------


def test_the_paper_form_date_starts_inside_the_window(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 100)
    closed = coordinator_client.get(f"/visits/{visit(patient, '6w').pk}/")
    assert closed.context["paper"]["measured_on"].value() == visit(patient, "6w").closes
    open_now = coordinator_client.get(f"/visits/{visit(patient, '3m').pk}/")
    assert open_now.context["paper"]["measured_on"].value() == timezone.localdate()


def test_a_paper_form_outside_the_window_needs_a_confirmation(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 100)  # the 6-week window closed on day 56
    six_weeks = visit(patient, "6w")
    today = timezone.localdate().isoformat()
    refused = coordinator_client.post(f"/visits/{six_weeks.pk}/", paper(today))
    assert refused.status_code == 400
    assert "confirm_outside_window" in refused.context["paper"].errors
    assert b"is outside the 6 weeks window" in refused.content
    assert not OutcomeMeasurement.objects.exists()
    saved = coordinator_client.post(f"/visits/{six_weeks.pk}/", paper(today, confirm=True))
    assert saved.status_code == 302
    measured = OutcomeMeasurement.objects.get()
    assert measured.outside_window and measured.source == "paper"


def test_answers_outside_the_window_are_flagged_and_left_out_of_the_outcomes(
    clinician: Any, coordinator_client: Client, clinician_client: Client
) -> None:
    late = treated(clinician, 100)
    on_time = treated(clinician, 101, email="ben@example.org")
    today = timezone.localdate()
    coordinator_client.post(f"/visits/{visit(late, '6w').pk}/", paper(today.isoformat(), True))
    inside = (today - timedelta(days=60)).isoformat()  # day 41 of the other course
    response = coordinator_client.post(f"/visits/{visit(on_time, '6w').pk}/", paper(inside))
    assert response.status_code == 302
    assert not OutcomeMeasurement.objects.get(patient=on_time).outside_window

    page = coordinator_client.get(f"/visits/{visit(late, '6w').pk}/")
    assert b"outside window" in page.content and b"not counted" in page.content
    rows = coordinator_client.get("/worklist/?state=done").content.decode()
    assert rows.count("outside window") == 1

    summaries = clinician_client.get("/outcomes/").context["summaries"]
    six_weeks = next(s for s in summaries if s.key == "6w")
    assert six_weeks.measured == 1 and six_weeks.lost == 1
    assert six_weeks.pain_responders.n == 1

    export = clinician_client.get("/outcomes/export/cohort.csv")
    reader = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    by_patient = {(r["patient"], r["visit"]): r for r in reader}
    flagged = by_patient[(late.mrn, "6w")]
    assert flagged["status"] == "measured_outside_window"
    assert flagged["pain_vas"] == "30.0" and flagged["pain_responder"] == ""
    assert by_patient[(on_time.mrn, "6w")]["status"] == "measured"


def test_a_paper_form_inside_the_window_needs_no_confirmation(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 40)
    response = coordinator_client.post(
        f"/visits/{visit(patient, '6w').pk}/", paper(timezone.localdate().isoformat())
    )
    assert response.status_code == 302
    assert not OutcomeMeasurement.objects.get().outside_window
