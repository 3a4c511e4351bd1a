"""Screenshots of the running application, as a user sees it (Debian's Chromium, headless).

.venv/bin/python scripts/screenshots.py [BASE_URL]   -> var/screenshots/*.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base}/accounts/login/")
        page.screenshot(path=OUT / "login.png")
        page.fill("#id_username", "dr.rivera")
        page.fill("#id_password", "spinepath-demo")
        page.click("button[type=submit]")
        page.screenshot(path=OUT / "patients.png", full_page=True)
        page.click("text=Lopez, Maria")
        page.screenshot(path=OUT / "chart.png", full_page=True)
        page.click("text=Open the decision")
        page.screenshot(path=OUT / "decision.png", full_page=True)
        page.goto(f"{base}/patients/?q=walsh")
        page.click("text=Walsh, Ben")
        page.click("text=Resume consultation")
        page.screenshot(path=OUT / "imaging_step.png", full_page=True)
        page.click("text=1. Intake & history")
        page.screenshot(path=OUT / "history_step.png", full_page=True)
        page.click("text=4. Candidacy review")
        page.screenshot(path=OUT / "review.png", full_page=True)
        browser.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
