"""A keyboard-wedge scanner types a lot's code and Enter into the procedure form: the Enter
moves on instead of sending the half-filled form, and the lot is recorded (issue 26)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from browser_helpers import (
    fill_the_checks,
    fill_the_injection,
    screenshot,
    sign_in_enrolling_an_authenticator,
)
from django.utils import timezone
from test_public_pages import accessibility_violations
from treatment_helpers import accepted_plan_for, reviewed_patient
from web_helpers import acting

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.plans.biologics import lot_create, product_create
from spinepath.plans.models import Procedure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def test_a_scanned_lot_code_and_enter_fill_the_field_and_move_on(
    live_server: Any, browser: Any
) -> None:
    clinician = staff_user_create(
        actor=Actor.system(),
        username="clin",
        password=PASSWORD,
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )
    admin = staff_user_create(
        actor=Actor.system(), username="boss", password=PASSWORD, role="clinic_admin"
    )
    product = product_create(
        actor=acting(admin),
        name="Marrow concentrate kit",
        kind="bmac",
        source="autologous",
        establishment="Clinic cell lab (FEI 3001234567)",
    )
    lot_create(
        actor=acting(admin),
        product_id=product.pk,
        lot="L7",
        code="0100123456789012L7",
        expires_on=timezone.localdate() + timedelta(days=30),
    )
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "scan-1")
    accepted_plan_for(patient, clinician, review)

    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/patients/{patient.pk}/procedures/new/")
    sign_in_enrolling_an_authenticator(page, "clin", PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/procedures/new/")
    lot = page.get_by_label("Product lot (scan or type the code on the label)")
    lot.click()
    page.keyboard.type("0100123456789012L7")
    page.keyboard.press("Enter")  # what the scanner sends last
    assert Procedure.objects.count() == 0  # the Enter sent nothing
    assert page.evaluate("() => document.activeElement.name") == "cells_million"
    page.keyboard.type("12")
    page.get_by_label("Viability (%)").fill("91")
    page.select_option("#id_material", "msc")
    page.select_option("#id_guidance", "fluoroscopy")
    fill_the_injection(page)
    fill_the_checks(page, "Ana Rivera")
    assert accessibility_violations(page) == []
    screenshot(page, "procedure-scanned-lot")
    page.get_by_role("button", name="Record procedure").click()
    recorded = Procedure.objects.get()
    assert recorded.lot is not None and recorded.lot.lot == "L7"
    assert "Marrow concentrate kit, lot L7" in page.content()
    page.wait_for_load_state("networkidle")  # the chart's outcome image, before the test ends
    context.close()
