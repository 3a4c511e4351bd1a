"""A clinician signs in, records a whole consultation for a new patient and signs a candidate."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import (
    record_a_candidate_consultation,
    record_the_injection,
    screenshot,
    sign_in_enrolling_an_authenticator,
)
from django.utils import timezone
from treatment_helpers import catalogue_lot

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.models import CandidacyDecision
from spinepath.plans.models import Procedure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def select(page: Any, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).select_option(value)


def test_record_a_consultation_and_sign_a_candidate(live_server: Any, page: Any) -> None:
    staff_user_create(
        actor=Actor.system(),
        username="clin",
        password=PASSWORD,
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )
    base = live_server.url

    page.goto(f"{base}/patients/")
    sign_in_enrolling_an_authenticator(page, "clin", PASSWORD)
    page.click("text=New patient")
    page.fill("#id_given_name", "Rosa")
    page.fill("#id_family_name", "Marquez")
    page.fill("#id_birth_date", "1972-03-04")
    page.select_option("#id_payer", "self_pay")
    page.click("text=Save")
    page.click("text=New consultation")

    # 1-3. Intake & history, the focused exam, a reviewed MRI with one moderately worn disc
    record_a_candidate_consultation(page, "2026-09-01")

    # 4. Candidacy review and signature
    assert page.locator(".decision-banner .title").inner_text() == (
        "Candidate for regenerative treatment"
    )
    assert page.locator("ul.rules li").count() == 10
    screenshot(page, "browser-review")
    page.click("text=Sign decision as Ana Rivera")
    assert "Candidacy decision, signed" in page.locator("h1").inner_text()
    screenshot(page, "browser-signed-decision")

    signed = CandidacyDecision.objects.get()
    assert signed.decision == "candidate"
    assert signed.decision_json["recommendations"][0]["level"] == "L4-L5"

    # The written plan: build, accept, print.
    page.click("text=Marquez, Rosa")
    page.click("text=Treatment plan and prices")
    page.click("text=Write a plan from the decision")
    assert "Treatment plan, version 1" in page.locator("h1").inner_text()
    assert "8,500.00" in page.locator("tfoot").inner_text()  # five reassessments since 2.2
    screenshot(page, "browser-plan-draft")
    assert "The patient does not see it until a clinician releases it" in page.content()
    page.click("button:has-text('Release to the patient')")
    assert "Released to the patient: it is on their own pages" in page.content()
    page.click("text=Patient accepts in the clinic")
    page.fill("#id_typed_name", "Rosa Marquez")
    page.check("#id_understood")
    page.click("button:has-text('Accept the plan')")
    assert "Accepted" in page.locator("h1").inner_text()
    pdf = page.request.get(page.url + "plan.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # The procedure, at the target the accepted plan lists.
    page.click("text=Record a procedure")
    record_the_injection(page, timezone.localdate().isoformat(), catalogue_lot().code, "Ana Rivera")
    page.click("button:has-text('Record procedure')")
    assert "Procedure recorded." in page.locator(".messages").inner_text()
    screenshot(page, "browser-chart-after-procedure")
    assert Procedure.objects.get().level == "L4-L5"
