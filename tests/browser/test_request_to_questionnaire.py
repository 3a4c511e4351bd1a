"""One thread from request to reassessment (issue 25's "done when"): a new patient asks for a
consultation on a phone; the coordinator makes the chart and books it on the clinician's day;
the clinician starts it from the day, records it and signs a candidate, writes and releases the
plan; the patient accepts it at home; the coordinator books the injection session; the
clinician records the injection from the day, which completes the session; six weeks later the
patient answers the first questionnaire. Every page is checked with axe-core at 390 px, and the
patient's pages also for their width."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from browser_helpers import (
    answer_the_low_back_pain_questions,
    record_a_candidate_consultation,
    record_the_injection,
    screenshot,
    sign_in_enrolling_an_authenticator,
)
from django.core import mail
from django.utils import timezone
from test_public_pages import accessibility_violations
from treatment_helpers import catalogue_lot, on_day
from web_helpers import acting

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.models import CandidacyDecision
from spinepath.followup.models import OutcomeMeasurement
from spinepath.pathway.safety import SAFETY_QUESTIONS
from spinepath.plans.models import CarePlan, Procedure
from spinepath.portal.services import link_send
from spinepath.public.models import Appointment, ConsultationRequest, Room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
PHONE = {"width": 390, "height": 844}


def checked(page: Any, name: str, *, patient: bool = False) -> None:
    """axe-core finds nothing; a patient's page also fits the phone's width."""
    violations = accessibility_violations(page)
    assert violations == [], f"{name}: {violations}"
    if patient:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width} px"
    screenshot(page, f"thread-{name}")


def _phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True)
    return context.new_page()


def _staff(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base}/day/")
    sign_in_enrolling_an_authenticator(page, username, PASSWORD)
    return page


def test_a_new_patient_from_the_public_request_to_the_first_questionnaire(
    live_server: Any, browser: Any
) -> None:
    staff_user_create(
        actor=Actor.system(),
        username="clin",
        password=PASSWORD,
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )
    coordinator = staff_user_create(
        actor=Actor.system(),
        username="coord",
        password=PASSWORD,
        role="coordinator",
        first_name="Carl",
        last_name="Ortiz",
    )
    for name, kind in (
        ("Consultation room 1", "consultation"),
        ("Fluoroscopy suite", "fluoroscopy"),
    ):
        Room.objects.get_or_create(name=name, defaults={"kind": kind})
    base = live_server.url
    today = timezone.localdate()

    # 1. The public request, on a phone.
    phone = _phone(browser)
    phone.goto(f"{base}/")
    checked(phone, "public-home", patient=True)
    phone.get_by_role("link", name="Request a consultation").first.click()
    phone.get_by_label("Your name").fill("Rosa Marquez")
    phone.get_by_label(re.compile("Your date of birth")).fill("1972-03-04")
    phone.get_by_label("Email").fill("rosa@example.org")
    phone.get_by_label(re.compile("I agree that the clinic contacts me")).check()
    checked(phone, "public-request", patient=True)
    phone.get_by_role("button", name=re.compile("Send")).click()
    checked(phone, "public-request-thanks", patient=True)
    asked = ConsultationRequest.objects.get()
    assert asked.status == ConsultationRequest.NEW and asked.patient is None

    # 2. The coordinator makes the chart from the request and books the consultation.
    coord = _staff(browser, base, "coord")
    coord.get_by_role("link", name="Requests").first.click()
    checked(coord, "requests")
    coord.get_by_role("link", name="Rosa Marquez").click()
    assert coord.get_by_label("First name").input_value() == "Rosa"
    assert coord.get_by_label("Date of birth").input_value() == "1972-03-04"
    checked(coord, "request")
    coord.get_by_role("button", name="Make the chart and link it").click()
    coord.get_by_role("link", name="Book the consultation").click()
    coord.get_by_label("Clinician").select_option(label="Ana Rivera")
    coord.get_by_label("Room").select_option(label="Consultation room 1")
    coord.get_by_label("Date").fill(today.isoformat())
    coord.get_by_label("Time").fill("14:00")
    coord.get_by_label("Minutes").select_option("90")
    checked(coord, "book-consultation")
    coord.get_by_role("button", name="Book", exact=True).click()
    assert "a confirmation is on its way to rosa@example.org" in coord.content()
    asked.refresh_from_db()
    assert asked.status == ConsultationRequest.BOOKED and asked.patient is not None
    patient = asked.patient

    # 3. The clinician's day: the consultation, started from there.
    clin = _staff(browser, base, "clin")
    assert "Today" in clin.locator("h1").inner_text()
    assert "Marquez, Rosa" in clin.content() and "no MRI on file" in clin.content()
    checked(clin, "clinician-day")
    clin.get_by_role("button", name="Start the consultation").click()
    consultation = Appointment.objects.get(kind="consultation")
    assert consultation.status == Appointment.DONE
    asked.refresh_from_db()
    assert asked.status == ConsultationRequest.SEEN
    record_a_candidate_consultation(clin, (today - timedelta(days=60)).isoformat(), checked=checked)
    clin.click("text=Sign decision as Ana Rivera")
    assert CandidacyDecision.objects.get().decision == "candidate"
    checked(clin, "signed-decision")

    # 4. The plan, written from the decision and released to the patient.
    clin.get_by_role("link", name="Write the plan").click()
    if clin.get_by_role("button", name="Write a plan from the decision").count():
        clin.get_by_role("button", name="Write a plan from the decision").click()
    else:
        clin.click("text=Write a plan from the decision")
    checked(clin, "plan-draft")
    clin.click("button:has-text('Release to the patient')")
    plan = CarePlan.objects.get(patient=patient)
    assert plan.status == CarePlan.RELEASED

    # 5. The patient accepts it at home, signed in with the emailed link.
    coord.goto(f"{base}/patients/{patient.pk}/")
    checked(coord, "chart")
    mail.outbox.clear()
    coord.get_by_role("button", name=re.compile("Email a sign-in link")).click()
    link = re.search(r"/my/in/([A-Za-z0-9_-]+)/", mail.outbox[-1].body)
    assert link is not None
    phone.goto(f"{base}/my/in/{link.group(1)}/")
    phone.get_by_label("Your date of birth").fill("1972-03-04")
    phone.get_by_role("button", name="Sign in").click()
    checked(phone, "patient-home", patient=True)
    phone.get_by_role("link", name="My appointments").first.click()
    assert "Consultation" in phone.content()
    checked(phone, "patient-appointments", patient=True)
    phone.get_by_role("link", name="My plan").first.click()
    checked(phone, "patient-plan", patient=True)
    phone.get_by_label("I have read the plan and agree").check()
    phone.get_by_label("Type your full name").fill("Rosa Marquez")
    phone.get_by_role("button", name="Accept the plan").click()
    assert "You accepted your plan" in phone.content()
    plan.refresh_from_db()
    assert plan.status == CarePlan.ACCEPTED and plan.accepted_by == CarePlan.BY_PATIENT

    # 6. The coordinator books the injection session into the fluoroscopy suite, today.
    coord.goto(f"{base}/plans/{plan.pk}/")
    coord.get_by_role("link", name="Book this session").first.click()
    coord.get_by_label("Clinician").select_option(label="Ana Rivera")
    coord.get_by_label("Procedure room").select_option(label="Fluoroscopy suite")
    coord.get_by_label("Date").fill(today.isoformat())
    coord.get_by_label("Time").fill("16:00")
    checked(coord, "book-session")
    coord.get_by_role("button", name="Book the session").click()
    session = Appointment.objects.get(kind="injection")
    assert session.status == Appointment.BOOKED

    # 7. The clinician records the injection from the day: the session is done.
    clin.goto(f"{base}/day/")
    assert "16:00-17:00" in clin.content()
    clin.get_by_role("link", name="Record the injection").click()
    record_the_injection(clin, today.isoformat(), catalogue_lot().code, "Ana Rivera")
    checked(clin, "record-injection")
    clin.click("button:has-text('Record procedure')")
    assert Procedure.objects.get().patient == patient
    session.refresh_from_db()
    assert session.status == Appointment.DONE
    clin.goto(f"{base}/day/")
    assert "Record the injection" not in clin.content()
    phone.goto(f"{base}/my/plan/")
    assert (
        "done"
        in phone.locator("section", has_text="Your visits and injection sessions").inner_text()
    )

    # 8. Six weeks on, the first questionnaire.
    with on_day(today + timedelta(days=43), 9):
        # The staff's sessions ended weeks ago; the coordinator sends the link from the chart.
        mail.outbox.clear()
        link_send(actor=acting(coordinator), patient=patient)
        link = re.search(r"/my/in/([A-Za-z0-9_-]+)/", mail.outbox[-1].body)
        assert link is not None
        phone.goto(f"{base}/my/in/{link.group(1)}/")
        phone.get_by_label("Your date of birth").fill("1972-03-04")
        phone.get_by_role("button", name="Sign in").click()
        phone.get_by_role("link", name="My questionnaires").first.click()
        checked(phone, "patient-questionnaires", patient=True)
        phone.get_by_role("button", name="Answer now").first.click()
        checked(phone, "questionnaire", patient=True)
        slider = phone.get_by_label("Pain slider, 0 to 100")
        slider.focus()
        for _ in range(3):
            slider.press("ArrowRight")
        for i in range(1, 11):
            phone.locator(f"input[name=odi_{i}][value='1']").check()
        answer_the_low_back_pain_questions(phone)
        for question in SAFETY_QUESTIONS:
            phone.get_by_role("group", name=question.question).get_by_label("No").check()
        phone.get_by_role("button", name=re.compile("Send")).click()
        assert "Thank you" in phone.content()
        checked(phone, "questionnaire-thanks", patient=True)
    assert OutcomeMeasurement.objects.filter(patient=patient).count() == 1
