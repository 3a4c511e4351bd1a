"""Every page a patient opens, and the staff pages used on the move (the follow-up worklist,
the clinic's day), fit a 360 px and a 390 px phone without sideways scrolling; the patient's
pages use plain words (issue 25)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from browser_helpers import screenshot
from django.test import Client
from django.utils import timezone
from treatment_helpers import accepted_plan_for, inject, on_day, released, reviewed_patient
from web_helpers import acting, signed_in

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.followup.models import ReassessmentVisit
from spinepath.followup.services import questionnaire_link_create
from spinepath.patients.models import Patient
from spinepath.plans.services import plan_revise
from spinepath.portal.services import PATIENT_KEY, SEEN_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 390)

# Words a patient's page never uses: clinical shorthand the consultation explains in plain words,
# and the codes the software keeps (an underscore in a word is a code that leaked).
NOT_FOR_PATIENTS = (
    "pfirrmann",
    "discogenic",
    "myoligamentous",
    "radicular",
    "modic",
    "endplate",
    "concordant",
    "generator",
    "spondylolisthesis",
    "post_procedural",
    "needs_workup",
    "refer_urgent",
    "book_consultation",
)
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _page_width(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def _visible_text(page: Any) -> str:
    return str(page.evaluate("() => document.body.innerText"))


_OVERFLOWING = """(width) => {
  const past = (e) => e && e.getBoundingClientRect().right > width + 1;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '');
  return [...document.querySelectorAll('body *')]
    .filter((e) => past(e) && !past(e.parentElement))
    .slice(0, 5)
    .map((e) => name(e) + ' ' + Math.round(e.getBoundingClientRect().right));
}"""


def _overflowing(page: Any, width: int) -> list[str]:
    """The outermost elements that reach past the screen's right edge (for the message)."""
    return list(page.evaluate(_OVERFLOWING, width))


def _check(page: Any, name: str, width: int, *, patient: bool = True) -> None:
    assert _page_width(page) <= width, (
        f"{name} is {_page_width(page)} px wide at {width} px: {_overflowing(page, width)}"
    )
    if patient:
        text = _visible_text(page)
        found = [w for w in NOT_FOR_PATIENTS if w in text.lower()]
        assert not found, f"{name} says {found}"
        assert not CODE.findall(text), f"{name} shows codes {CODE.findall(text)}"
    if width == 360:
        screenshot(page, f"fit-{name}-{width}")


def test_patient_pages_and_the_worklist_fit_a_phone(live_server: Any, browser: Any) -> None:
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password="x" * 14, role="clinician"
    )
    coordinator = staff_user_create(
        actor=Actor.system(), username="coord", password="x" * 14, role="coordinator"
    )
    today = timezone.localdate()
    injected = today - timedelta(days=45)
    review = injected - timedelta(days=10)
    patient = reviewed_patient(clinician, review, "fit-1")
    Patient.objects.filter(pk=patient.pk).update(
        email="maria.lopez.with.a.long.address@example.org", birth_date="1961-04-30"
    )
    patient.refresh_from_db()  # the plan's figures are of the patient as the chart has them
    first = accepted_plan_for(patient, clinician, review, sessions=2)
    with on_day(injected, 14):
        inject(patient, clinician, injected)
    released(plan_revise(plan=first, actor=acting(clinician)), clinician)
    visit = ReassessmentVisit.objects.filter(patient=patient).order_by("opens").first()
    assert visit is not None
    token = questionnaire_link_create(actor=Actor.system(), visit=visit)

    staff = signed_in(coordinator)
    mine = Client()
    session = mine.session
    session[PATIENT_KEY] = patient.pk
    session[SEEN_KEY] = int(timezone.now().timestamp())
    session.save()
    base = live_server.url
    host = re.sub(r"^https?://", "", base).split(":")[0]
    patient_pages = [
        ("home", "/my/"),
        ("consultation", "/my/consultation/"),
        ("plan", "/my/plan/"),
        ("appointments", "/my/appointments/"),
        ("questionnaires", "/my/questionnaires/"),
        ("progress", "/my/progress/"),
        ("report-a-problem", "/my/safety/"),
    ]
    public_pages = [
        ("public-home", "/"),
        ("public-screen", "/public/screen/"),
        ("public-request", "/public/request/"),
        ("sign-in", "/my/sign-in/"),
        ("questionnaire", f"/q/{token}/"),
    ]
    staff_pages = [
        ("worklist", "/worklist/"),
        ("day", "/day/"),
        ("week", "/week/"),
        ("requests", "/requests/"),
        ("bookings", "/bookings/"),
        ("chart", f"/patients/{patient.pk}/"),
        ("safety", "/safety/"),
    ]
    for width in WIDTHS:
        context = browser.new_context(
            viewport={"width": width, "height": 780}, is_mobile=True, has_touch=True
        )
        context.add_cookies(
            [{"name": "sessionid", "value": session.session_key, "domain": host, "path": "/"}]
        )
        page = context.new_page()
        for name, path in patient_pages:
            page.goto(f"{base}{path}")
            _check(page, name, width)
        context.clear_cookies()
        for name, path in public_pages:
            page.goto(f"{base}{path}")
            _check(page, name, width)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": staff.cookies["sessionid"].value,
                    "domain": host,
                    "path": "/",
                }
            ]
        )
        for name, path in staff_pages:
            page.goto(f"{base}{path}")
            _check(page, name, width, patient=False)
        context.close()
