"""Helpers of the browser tests (Debian's Chromium, never a downloaded browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_enrolling_an_authenticator(page: Any, username: str, password: str) -> None:
    """The first sign-in as a person does it: password, then the authenticator set-up page
    (its key read off the page, as a phone would scan it), then the recovery codes."""
    import base64

    from django_otp.oath import totp

    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    assert page.locator(".qr svg").count() == 1
    key = base64.b32decode(page.locator("code.secret").inner_text().strip())
    page.fill("#id_token", f"{totp(key):06d}")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.locator(".codes li").count() == 10
    page.click("text=I have kept them - continue")
