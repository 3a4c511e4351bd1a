"""A clinician opens a SMART app from a chart in a real browser: the launch, the consent page,
Allow and Deny take the browser to the app (the page's CSP lets its form answer to the app's
registered address), and a request that cannot be granted is a page with a link back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browser_helpers import screenshot, sign_in_enrolling_an_authenticator
from django.utils import timezone
from treatment_helpers import reviewed_patient

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.fhir_api.models import SmartApp
from spinepath.fhir_api.smart.registry import Registration, smart_app_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
APP = "https://app.example.org"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_allow_and_deny_reach_the_app_from_a_real_browser(
    live_server: Any, page: Any, settings: Any
) -> None:
    settings.SPINEPATH_BASE_URL = live_server.url
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password=PASSWORD, role="clinician"
    )
    patient = reviewed_patient(clinician, timezone.localdate() - timedelta(days=2), "smart-b")
    app, _secret = smart_app_create(
        actor=Actor.system(),
        registration=Registration(
            name="Outcomes viewer",
            kind=SmartApp.PUBLIC,
            redirect_uris=f"{APP}/callback",
            launch_url=f"{APP}/launch",
            scopes="launch patient/*.rs",
            jwks="",
        ),
    )
    # The app's own pages (no network here): the browser reaching them is what is checked.
    page.context.route(f"{APP}/**", lambda route: route.fulfill(body="<p>the app</p>"))
    base = live_server.url
    page.goto(f"{base}/patients/{patient.pk}/")
    sign_in_enrolling_an_authenticator(page, "clin", PASSWORD)
    page.goto(f"{base}/patients/{patient.pk}/")

    def authorize(answer: str) -> dict[str, str]:
        # The app opens in a tab of its own.
        with page.context.expect_page() as opened:
            page.click("text=Open in Outcomes viewer")
        tab = opened.value
        tab.wait_for_url(f"{APP}/launch**")
        launched = query_of(tab.url)
        tab.close()
        assert launched["iss"] == f"{base}/fhir"
        params = {
            "response_type": "code",
            "client_id": app.application.client_id,
            "redirect_uri": f"{APP}/callback",
            "scope": "launch patient/*.rs",
            "state": f"st-{answer}",
            "aud": f"{base}/fhir",
            "launch": launched["launch"],
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        page.goto(f"{base}/smart/authorize?{urlencode(params)}")
        assert "Allow Outcomes viewer?" in page.locator("h1").inner_text()
        assert patient.mrn in page.content()
        screenshot(page, f"browser-smart-consent-{answer}")
        page.click(f"button:has-text('{answer}')")
        page.wait_for_url(f"{APP}/callback**")
        received = query_of(page.url)
        page.goto(f"{base}/patients/{patient.pk}/")
        return received

    allowed = authorize("Allow")
    assert allowed["state"] == "st-Allow" and allowed["code"]
    denied = authorize("Deny")
    assert denied["error"] == "access_denied" and denied["state"] == "st-Deny"

    # A request that cannot be granted: a page that says why, and a link back to the app.
    page.goto(
        f"{base}/smart/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": app.application.client_id,
                "redirect_uri": f"{APP}/callback",
                "scope": "launch patient/*.rs user/*.rs",
                "state": "st-bad",
                "aud": f"{base}/fhir",
            }
        )
    )
    assert "was not granted" in page.locator("h1").inner_text()
    page.click("text=Back to the app")
    page.wait_for_url(f"{APP}/callback**")
    assert query_of(page.url)["error"] in ("invalid_scope", "invalid_request")
