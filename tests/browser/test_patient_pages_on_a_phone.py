"""A patient on a phone: signs in with the emailed link and date of birth, reads the decision,
accepts the written plan, downloads a calendar file and answers the due questionnaire - with
axe-core finding nothing on any of the patient's pages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import answer_the_low_back_pain_questions, screenshot
from django.core import mail
from django.utils import timezone
from test_public_pages import accessibility_violations
from treatment_helpers import accepted_plan_for, inject, on_day, released, reviewed_patient
from web_helpers import acting

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.followup.models import OutcomeMeasurement
from spinepath.pathway.safety import SAFETY_QUESTIONS
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan
from spinepath.plans.services import plan_revise
from spinepath.portal.services import link_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_uses_their_pages_on_a_phone(live_server: Any, browser: Any) -> None:
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password="correct-horse-battery", role="clinician"
    )
    coordinator = staff_user_create(
        actor=Actor.system(), username="coord", password="correct-horse-battery", role="coordinator"
    )
    today = timezone.localdate()
    injected = today - timedelta(days=40)
    review = injected - timedelta(days=10)
    patient = reviewed_patient(clinician, review, "phone-1")
    Patient.objects.filter(pk=patient.pk).update(email="maria@example.org", birth_date="1961-04-30")
    patient.refresh_from_db()
    first = accepted_plan_for(patient, clinician, review)
    with on_day(injected, 14):
        inject(patient, clinician, injected)
    # A new version of the plan, written and released today, to read and accept at home.
    draft = released(plan_revise(plan=first, actor=acting(clinician)), clinician)
    mail.outbox.clear()
    link_send(actor=acting(coordinator), patient=patient)
    token = re.search(r"/my/in/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
        accept_downloads=True,
    )
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/my/in/{token}/")
    assert "Lopez" not in page.content()
    assert accessibility_violations(page) == []
    page.get_by_label("Your date of birth").fill("1961-04-30")
    page.get_by_role("button", name="Sign in").click()
    assert "Hello Maria" in page.locator("h1").inner_text()
    assert accessibility_violations(page) == []
    screenshot(page, "patient-home-phone")

    page.get_by_role("link", name="My consultation").first.click()
    assert "Regenerative injections are a reasonable option for you" in page.content()
    assert "Has a clinician reviewed your MRI?" in page.content()
    assert accessibility_violations(page) == []
    screenshot(page, "patient-consultation-phone")

    page.get_by_role("link", name="My plan").first.click()
    assert f"Plan version {draft.version}" in page.content()
    assert accessibility_violations(page) == []
    page.get_by_label("I have read the plan and agree").check()
    page.get_by_label("Type your full name").fill("maria lopez")
    screenshot(page, "patient-plan-phone")
    page.get_by_role("button", name="Accept the plan").click()
    assert "You accepted your plan" in page.content()
    assert accessibility_violations(page) == []
    draft.refresh_from_db()
    assert draft.status == CarePlan.ACCEPTED and draft.accepted_by == CarePlan.BY_PATIENT

    page.get_by_role("link", name="My appointments").first.click()
    assert accessibility_violations(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").first.click()
    assert "BEGIN:VCALENDAR" in Path(download.value.path()).read_text()
    screenshot(page, "patient-appointments-phone")

    page.get_by_role("link", name="My questionnaires").first.click()
    assert accessibility_violations(page) == []
    page.get_by_role("button", name="Answer now").first.click()
    assert "Lopez" not in page.content()
    slider = page.get_by_label("Pain slider, 0 to 100")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    for i in range(1, 11):
        page.locator(f"input[name=odi_{i}][value='1']").check()
    answer_the_low_back_pain_questions(page)
    for question in SAFETY_QUESTIONS:
        page.get_by_role("group", name=question.question).get_by_label("No").check()
    page.get_by_role("button", name=re.compile("Send")).click()
    assert "Thank you" in page.content()
    assert OutcomeMeasurement.objects.filter(patient=patient).count() == 1

    page.goto(f"{base}/my/progress/")
    assert "Too early to judge" in page.content()
    assert accessibility_violations(page) == []
    screenshot(page, "patient-progress-phone")
    context.close()
