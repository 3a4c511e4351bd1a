"""A clinician signs, finds a mistake, amends the signed consultation with a reason and signs
again; the chart shows the amendment and the field's earlier value."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import screenshot, sign_in_enrolling_an_authenticator
from web_helpers import import_encounter

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.models import Amendment, CandidacyDecision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def test_amend_a_signed_consultation_and_sign_again(live_server: Any, page: Any) -> None:
    clinician = staff_user_create(
        actor=Actor.system(),
        username="clin",
        password=PASSWORD,
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )
    encounter = import_encounter(clinician)
    base = live_server.url
    page.goto(f"{base}/consultations/{encounter.pk}/review/")
    sign_in_enrolling_an_authenticator(page, "clin", PASSWORD)
    page.click("text=Sign decision as Ana Rivera")
    assert "Candidacy decision, signed" in page.locator("h1").inner_text()

    # Signed means locked: the history step is read-only and says how to change it.
    page.goto(f"{base}/consultations/{encounter.pk}/history/")
    assert "Signed and locked" in page.content()
    assert page.locator("#id_pain_duration_months").is_disabled()

    page.goto(f"{base}/consultations/{encounter.pk}/review/")
    page.fill("#id_reason", "Pain began two months ago, not two years: mistyped at intake.")
    page.click("button:has-text('Amend this consultation')")
    assert "Amendment opened" in page.locator(".messages").inner_text()
    assert "Being amended after signing" in page.content()
    page.fill("#id_pain_duration_months", "2")
    page.click("button:has-text('Save')")
    page.goto(f"{base}/consultations/{encounter.pk}/review/")
    assert page.locator(".decision-banner .title").inner_text() == "Not a candidate"
    assert "Pain began two months ago" in page.content()
    screenshot(page, "browser-amendment-review")
    page.click("text=Sign decision as Ana Rivera")

    assert list(CandidacyDecision.objects.order_by("id").values_list("decision", flat=True)) == [
        "candidate",
        "not_candidate",
    ]
    assert Amendment.objects.get().closed_by is not None
    page.goto(f"{base}/patients/{encounter.patient_id}/")
    chart = page.content()
    assert "amended after signing" in chart
    row = page.locator("tr", has_text="pain_duration_months").first
    assert "24" in row.inner_text() and "2" in row.inner_text()
    screenshot(page, "browser-amendment-chart")
