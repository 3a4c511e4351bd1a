"""Issue 30: a candidate reads how patients like them did at this clinic on a phone, in plain
words, beside the published studies - on "My consultation" and on the written plan."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import screenshot
from django.core import mail
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from test_public_pages import accessibility_violations
from treatment_helpers import released, reviewed_patient
from web_helpers import acting

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.outcomes.synthetic import generate_cohort
from spinepath.patients.models import SYNTHETIC_ID_PREFIX, Patient
from spinepath.plans.services import plan_create
from spinepath.portal.services import link_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCE = re.compile(
    r"Of (\d+) patients like you who answered at 12 months, (\d+) had at least 30% less pain\."
)


def test_a_candidate_reads_patients_like_them_on_a_phone(live_server: Any, browser: Any) -> None:
    today = timezone.localdate()
    generate_cohort(300, seed=7, today=today)
    Patient.objects.filter(external_id__startswith=SYNTHETIC_ID_PREFIX).update(
        external_id=Concat(Value("treated-"), F("mrn"))
    )  # the clinic's own treated patients, not demonstration ones
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password="correct-horse-battery", role="clinician"
    )
    patient = reviewed_patient(clinician, today - timezone.timedelta(days=2), "odds-phone")
    Patient.objects.filter(pk=patient.pk).update(email="maria@example.org", birth_date="1961-04-30")
    patient.refresh_from_db()
    released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    mail.outbox.clear()
    link_send(actor=acting(clinician), patient=patient)
    token = re.search(r"/my/in/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]

    context = browser.new_context(
        viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True, bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/my/in/{token}/")
    page.get_by_label("Your date of birth").fill("1961-04-30")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="My consultation").first.click()

    section = page.locator("section.odds")
    assert section.get_by_role("heading", name="How patients like you did at this clinic").count()
    text = " ".join(section.inner_text().split())
    found = SENTENCE.search(text)
    assert found, text
    assert int(found.group(1)) >= 30
    assert "the true share is likely between" in text
    assert "What published studies found" in text
    assert "these figures are not a promise of your result" in text
    # The features matched on are in words, never the records' codes.
    compared = text[text.index("Compared with") :].split(".")[0]
    assert "an injection into a disc" in compared
    for code in ("discogenic", "axial", "radicular", "no_disc"):
        assert code not in compared
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert accessibility_violations(page) == []
    section.scroll_into_view_if_needed()
    screenshot(page, "odds-consultation-phone")

    page.get_by_role("link", name="My plan").first.click()
    plan_text = " ".join(page.locator("section.odds").inner_text().split())
    assert SENTENCE.search(plan_text)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "odds-plan-phone")
    context.close()
