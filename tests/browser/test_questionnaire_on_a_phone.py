"""A patient fills the check-in questionnaire on a phone-sized screen, by keyboard and touch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from browser_helpers import answer_the_low_back_pain_questions, screenshot
from django.utils import timezone
from treatment_helpers import injection_details, on_day, released
from web_helpers import acting

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.actions import attest_imported, decision_sign, workup_import
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.services import questionnaire_link_create
from spinepath.pathway.plans import Target
from spinepath.pathway.safety import SAFETY_KEYS
from spinepath.pathway.workup import workup_from_dict
from spinepath.plans.acceptance import plan_accept
from spinepath.plans.procedures import procedure_record
from spinepath.plans.services import plan_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_fills_the_questionnaire_on_a_phone(live_server: Any, browser: Any) -> None:
    from workup_builder import document

    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password="correct-horse-battery", role="clinician"
    )
    today = timezone.localdate()
    review = today - timedelta(days=50)
    doc = document(assessed_on=review.isoformat())
    doc["imaging"][0]["date"] = (today - timedelta(days=80)).isoformat()
    # Reviewed, signed and accepted on the review day: an injection is dated after both.
    with on_day(review):
        encounter = workup_import(
            workup=workup_from_dict(doc), actor=acting(clinician), names=("Maria", "Lopez")
        )
        attest_imported(encounter=encounter, actor=acting(clinician))
        decision_sign(encounter=encounter, actor=acting(clinician), token="q" * 24)
        plan = plan_create(patient=encounter.patient, actor=acting(clinician))
        plan = released(plan, clinician)
        plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician))
    procedure_record(
        patient=encounter.patient,
        actor=acting(clinician),
        target=Target("discogenic", "L4-L5", None),
        performed_on=today - timedelta(days=40),
        material="msc",
        guidance="fluoroscopy",
        **injection_details(time_out_by=clinician),
    )
    token = questionnaire_link_create(
        actor=Actor.system(), visit=ReassessmentVisit.objects.get(key="6w")
    )

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/q/{token}/")
    assert "Lopez" not in page.content()
    slider = page.get_by_label("Pain slider, 0 to 100")
    # No marker sits at 50 before the patient touches the slider (it would suggest an answer).
    assert "unset" in (slider.get_attribute("class") or "")
    slider.focus()
    for _ in range(12):
        page.keyboard.press("ArrowLeft")  # 50 -> 38 by keyboard alone
    assert page.locator("#id_pain").input_value() == "38"
    assert page.locator("#pain-slider-moved").input_value() == "1"  # an answer, not the 50
    assert "unset" not in (slider.get_attribute("class") or "")
    answer_the_low_back_pain_questions(page, back=5, leg=0)
    for key in SAFETY_KEYS:
        page.locator(f"#id_safety_{key}_1").check()  # "No" to each safety question
    for section in range(1, 11):
        if section != 8:  # leave one section blank, as a patient may
            page.locator(f"#id_odi_{section}_3").check()
    screenshot(page, "phone-questionnaire")
    page.click("text=Send my answers")
    assert "Thank you" in page.locator("h1").inner_text()
    screenshot(page, "phone-questionnaire-thanks")
    context.close()

    measured = OutcomeMeasurement.objects.get()
    assert measured.pain_vas == 38
    assert measured.odi_sections == [2] * 7 + [None] + [2, 2]
    assert (measured.back_pain_nrs, measured.leg_pain_nrs) == (5, 0)
