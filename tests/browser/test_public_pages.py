"""The public pages at phone and desktop size, with an accessibility check (axe-core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import screenshot

from spinepath.public.models import ConsultationRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# axe-core from the npm registry, vendored for the tests (nothing loads from the internet).
AXE = Path(__file__).parent / "vendor" / "axe-core-4.10.3.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def accessibility_violations(page: Any) -> list[str]:
    """Every rule of WCAG 2 A and AA and axe's best practices run on the page; each rule it
    violates, with how many elements do. axe details only the violations (``resultTypes``):
    every rule still runs on every element, but the elements that pass, and those it cannot
    decide, are not listed one by one, nor sent back from the browser (megabytes a page)."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: ['wcag2a', 'wcag2aa', 'best-practice'],
                resultTypes: ['violations'],
            });
            return result.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.length}));
        }"""
    )
    return [f"{v['id']}: {v['help']} ({v['nodes']})" for v in violations]


@pytest.mark.parametrize("size", sorted(SIZES))
def test_public_pages_work_and_pass_axe(live_server: Any, browser: Any, size: str) -> None:
    # axe is injected as a script the Content-Security-Policy would (rightly) block.
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone", bypass_csp=True)
    page = context.new_page()
    base = live_server.url

    page.goto(f"{base}/")
    assert "Back pain has sources" in page.content()
    assert accessibility_violations(page) == []
    screenshot(page, f"public-indication-{size}")

    page.click("text=Check if you may be a candidate >> nth=0")
    assert accessibility_violations(page) == []
    page.check("text=More than a year")
    page.check("text=Mostly in my back")
    page.check("text=6 weeks or more")
    page.locator("fieldset", has_text="still getting better").get_by_label("No", exact=True).check()
    page.locator("fieldset", has_text="anti-inflammatory").get_by_label("Yes", exact=True).check()
    page.check("text=Yes, from the last 12 months")
    page.locator("fieldset", has_text="back surgery").get_by_label("No", exact=True).check()
    page.locator("fieldset", has_text="leg or foot weak").get_by_label("No", exact=True).check()
    screenshot(page, f"public-screen-{size}")
    page.click("text=See my result")
    assert "You may be a candidate" in page.locator("h1").inner_text()
    assert accessibility_violations(page) == []
    screenshot(page, f"public-screen-result-{size}")

    page.click("text=Request a consultation >> nth=-1")
    page.fill("#id_name", "Maria Lopez")
    page.fill("#id_email", "maria@example.org")
    page.fill("#id_preferred_times", "Tuesday mornings")
    page.click("text=Send my request")
    assert "with your consent" in page.locator(".errorlist").inner_text()
    assert page.locator("#id_preferred_times").input_value() == "Tuesday mornings"
    assert accessibility_violations(page) == []
    page.check("#id_consent_to_contact")
    page.click("text=Send my request")
    assert "Thank you" in page.locator("h1").inner_text()
    screenshot(page, f"public-request-thanks-{size}")
    context.close()
    assert ConsultationRequest.objects.get().screen_outcome == "book_consultation"
