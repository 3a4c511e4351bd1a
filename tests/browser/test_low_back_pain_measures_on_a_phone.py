"""The ICHOM low back pain questions on a phone (PATHWAY.md section 11, issue 27): a patient at
360 and 390 px answers back and leg pain 0-10, work, pain medication and opioids on the check-in
link; a question left out is named where it is asked, what was given stays, and nothing on
the page - the questions, the 0-10 scales, the messages - makes it scroll sideways."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import answer_the_low_back_pain_questions, screenshot
from treatment_helpers import treated

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.services import questionnaire_link_create
from spinepath.pathway.ichom import LBP_MISSING, LBP_QUESTIONS
from spinepath.pathway.safety import SAFETY_QUESTIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Any, width: int) -> None:
    scroll = int(page.evaluate("() => document.documentElement.scrollWidth"))
    assert scroll <= width, f"the page is {scroll} px wide on a {width} px phone"


@pytest.mark.parametrize("width", [360, 390])
def test_a_patient_answers_back_and_leg_pain_work_and_medication_on_a_phone(
    live_server: Any, browser: Any, width: int
) -> None:
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password="correct-horse-battery", role="clinician"
    )
    patient = treated(clinician, days_ago=42)
    token = questionnaire_link_create(
        actor=Actor.system(), visit=ReassessmentVisit.objects.get(patient=patient, key="6w")
    )
    context = browser.new_context(
        viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    phone.goto(f"{live_server.url}/q/{token}/")
    _fits(phone, width)
    for question in LBP_QUESTIONS.values():
        assert phone.get_by_role("group", name=question).is_visible()
    # Each point of the 0-10 scale is a target a thumb can tap.
    back = phone.get_by_role("group", name=LBP_QUESTIONS["back_pain_nrs"])
    for label in back.locator("label").all():
        box = label.bounding_box()
        assert box is not None and box["width"] >= 40 and box["height"] >= 40, box

    # The overall pain and the safety questions, but not yet the back, legs and medication.
    phone.locator("#id_pain").fill("45")
    for question in SAFETY_QUESTIONS:
        phone.get_by_role("group", name=question.question).get_by_label("No").check()
    phone.get_by_role("group", name=LBP_QUESTIONS["leg_pain_nrs"]).get_by_label(
        "3", exact=True
    ).check()
    phone.get_by_role("button", name="Send my answers").click()
    for name, message in LBP_MISSING.items():
        group = phone.get_by_role("group", name=LBP_QUESTIONS[name])
        if name == "leg_pain_nrs":
            assert message not in group.inner_text()
            assert group.get_by_label("3", exact=True).is_checked()  # kept
        else:
            assert message in group.inner_text(), name
    assert phone.locator("#id_pain").input_value() == "45"
    _fits(phone, width)
    screenshot(phone, f"phone-low-back-pain-missing-{width}")
    assert not OutcomeMeasurement.objects.exists()

    answer_the_low_back_pain_questions(
        phone,
        back=6,
        leg=3,
        work="Working part time because of my back pain",
        medication="Yes, every day",
        opioids="Yes",
    )
    _fits(phone, width)
    screenshot(phone, f"phone-low-back-pain-answered-{width}")
    phone.get_by_role("button", name="Send my answers").click()
    assert "Thank you" in phone.locator("h1").inner_text()
    _fits(phone, width)
    context.close()

    measured = OutcomeMeasurement.objects.get()
    assert (measured.back_pain_nrs, measured.leg_pain_nrs) == (6, 3)
    assert (measured.work_status, measured.analgesic_use, measured.opioid_use) == (
        "part_time_back_pain",
        "daily",
        True,
    )
    assert measured.pain_vas == 45
