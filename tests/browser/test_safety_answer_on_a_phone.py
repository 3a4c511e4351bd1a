"""A worrying safety answer (PATHWAY.md section 10, issue 26): the patient answers the 6-week
check-in on a phone, says yes to fever, is told at once to call the clinic today, and the
clinician finds the task on their day, reviews it, and it leaves the day."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import (
    answer_the_low_back_pain_questions,
    screenshot,
    sign_in_enrolling_an_authenticator,
)
from treatment_helpers import treated

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.followup.models import ReassessmentVisit
from spinepath.followup.services import questionnaire_link_create
from spinepath.pathway.safety import SAFETY_QUESTIONS
from spinepath.safety.models import SafetyReport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_fever_reported_on_a_phone_reaches_the_clinicians_day(
    live_server: Any, browser: Any
) -> None:
    clinician = staff_user_create(
        actor=Actor.system(),
        username="dr.safety",
        password="correct-horse-battery",
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )
    patient = treated(clinician, days_ago=42)
    token = questionnaire_link_create(
        actor=Actor.system(), visit=ReassessmentVisit.objects.get(patient=patient, key="6w")
    )

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    phone.goto(f"{live_server.url}/q/{token}/")
    phone.locator("#id_pain").fill("40")
    answer_the_low_back_pain_questions(phone)
    for question in SAFETY_QUESTIONS:
        answer = "Yes" if question.key == "fever" else "No"
        phone.get_by_role("group", name=question.question).get_by_label(answer).check()
    phone.get_by_role("button", name="Send my answers").click()
    advice = phone.get_by_role("alert")
    assert "Call the clinic today" in advice.inner_text()
    assert "38.3" in advice.inner_text()
    screenshot(phone, "phone-safety-advice")
    assert SafetyReport.objects.get(patient=patient).worrying

    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.goto(f"{live_server.url}/accounts/login/")
    sign_in_enrolling_an_authenticator(desk, "dr.safety", "correct-horse-battery")
    desk.goto(f"{live_server.url}/day/")
    task = desk.get_by_role("region", name=re.compile("Safety answers to review"))
    assert patient.family_name in task.inner_text() and "fever or chills" in task.inner_text()
    screenshot(desk, "day-with-safety-task")
    task.get_by_role("link", name=re.compile(patient.family_name)).click()
    desk.get_by_label(re.compile("What you found and did")).fill(
        "Called: 37.6 once, wound clean. Advised paracetamol; will call back tomorrow."
    )
    desk.get_by_role("button", name="Reviewed: no adverse event").click()
    assert "Review recorded" in desk.content()
    desk.goto(f"{live_server.url}/day/")
    assert desk.get_by_role("region", name=re.compile("Safety answers to review")).count() == 0
