"""The follow-up completion page on a 360 px and a 390 px phone: its verdict reads whole, and its
wide tables scroll inside their own box, never the page; the worklist's line of completion
loads after the worklist (issue 27)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from browser_helpers import screenshot
from django.utils import timezone
from treatment_helpers import accepted_plan_for, inject, on_day, reviewed_patient
from web_helpers import signed_in

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every table box on the page: how wide it is and how wide its table.
_BOXES = """() => [...document.querySelectorAll('.table-scroll')].map(
  (box) => [box.clientWidth, box.scrollWidth, box.getBoundingClientRect().right])"""


def test_the_completion_page_fits_a_phone(live_server: Any, browser: Any) -> None:
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password="x" * 14, role="clinician"
    )
    # Injected 200 days ago: the 6-week and 3-month windows have closed unanswered.
    injected = timezone.localdate() - timedelta(days=200)
    review = injected - timedelta(days=10)
    patient = reviewed_patient(clinician, review, "phone-completion")
    accepted_plan_for(patient, clinician, review)
    with on_day(injected, 14):
        inject(patient, clinician, injected)

    staff = signed_in(clinician)
    base = live_server.url
    host = re.sub(r"^https?://", "", base).split(":")[0]
    for width in (360, 390):
        context = browser.new_context(
            viewport={"width": width, "height": 780}, is_mobile=True, has_touch=True
        )
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
        page = context.new_page()
        page.goto(f"{base}/outcomes/completion/")
        scroll = int(page.evaluate("() => document.documentElement.scrollWidth"))
        assert scroll <= width, f"the page is {scroll} px wide at {width} px"
        banner = page.locator(".banner")
        assert "No 12-month visit is due yet (target 80%)" in banner.inner_text()
        box = banner.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
        boxes = page.evaluate(_BOXES)
        assert len(boxes) == 8  # each visit, which step got the answer, and six groupings
        assert all(right <= width + 1 for _, _, right in boxes)
        # The widest table (which reminder got the answer) scrolls inside its box.
        assert any(scroll_width > client_width for client_width, scroll_width, _ in boxes)
        if width == 360:
            screenshot(page, "fit-completion-360")
        # The worklist's line comes once the worklist is shown, and fits too.
        page.goto(f"{base}/worklist/")
        line = page.get_by_role("status").filter(has_text="Follow-up completion")
        line.get_by_text("No 12-month visit is due yet (target 80%).").wait_for()
        scroll = int(page.evaluate("() => document.documentElement.scrollWidth"))
        assert scroll <= width, f"the worklist is {scroll} px wide at {width} px"
        context.close()
