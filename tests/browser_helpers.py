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


def answer_the_low_back_pain_questions(
    page: Any,
    *,
    back: int = 4,
    leg: int = 2,
    work: str = "Working full time",
    medication: str = "Yes, now and then",
    opioids: str = "No",
) -> None:
    """The ICHOM questions of a check-in (back and leg pain 0-10, work, pain medication,
    opioids) as a patient answers them: by tapping the answers under each question."""
    from spinepath.pathway.ichom import LBP_QUESTIONS

    page.get_by_role("group", name=LBP_QUESTIONS["back_pain_nrs"]).get_by_label(
        str(back), exact=True
    ).check()
    page.get_by_role("group", name=LBP_QUESTIONS["leg_pain_nrs"]).get_by_label(
        str(leg), exact=True
    ).check()
    page.get_by_role("group", name=LBP_QUESTIONS["work_status"]).get_by_label(work).check()
    page.get_by_role("group", name=LBP_QUESTIONS["analgesic_use"]).get_by_label(
        medication, exact=True
    ).check()
    page.get_by_role("group", name=LBP_QUESTIONS["opioid_use"]).get_by_label(
        opioids, exact=True
    ).check()


def record_a_candidate_consultation(
    page: Any, mri_on: str, *, checked: Any = lambda page, name: None
) -> None:
    """A consultation's four steps as a clinician fills them, from the history page open now to
    the candidacy review: no red flag, chronic axial pain after plateaued therapy, a normal exam,
    and a reviewed MRI of ``mri_on`` with one moderately worn disc at L4-L5 (a candidate).
    ``checked(page, name)`` runs on the history and review pages (an accessibility check)."""
    for flag in ("red_cauda_equina", "red_infection", "red_malignancy", "red_fracture"):
        page.select_option(f"#id_{flag}", "false")
    page.fill("#id_pain_duration_months", "20")
    page.select_option("#id_pattern", "axial")
    page.fill("#id_physical_therapy_weeks", "10")
    page.select_option("#id_nsaid_trial", "true")
    page.select_option("#id_conservative_status", "plateaued")
    page.select_option("#id_prior_procedures_asked", "true")
    page.fill("#id_pain_vas", "72")
    for section in range(1, 11):
        page.select_option(f"#id_odi_{section}", "3")
    checked(page, "history")
    page.click("text=Save and continue")
    page.select_option("#id_motor_deficit", "none")
    page.select_option("#id_facet_pattern", "false")
    page.fill("#id_si_provocation_positive", "0")
    page.select_option("#id_ligament_tenderness", "false")
    page.click("text=Save and continue")
    page.click("text=Add a study")
    page.select_option("#id_study-modality", "MRI")
    page.fill("#id_study-performed_on", mri_on)
    page.click("button:has-text('Add study')")
    for index in range(5):
        page.select_option(f"#id_lv-{index}-pfirrmann", "1")
        page.fill(f"#id_lv-{index}-disc_height_loss_pct", "0")
        page.select_option(f"#id_lv-{index}-endplate_bone_on_bone", "false")
    page.select_option("#id_lv-3-pfirrmann", "3")
    page.fill("#id_lv-3-disc_height_loss_pct", "20")
    # The review attests the study as recorded: after the findings, in the same save.
    page.check("#id_study-attest")
    page.click("text=Save findings")
    page.click("text=Continue to the candidacy review")
    checked(page, "review")


def record_the_injection(page: Any, day: str, lot_code: str, time_out_by: str) -> None:
    """The procedure form as a clinician fills it for MSC into the disc under fluoroscopy: the
    checks before the injection (the time-out led by ``time_out_by``, a name), the day, the
    lot scanned from the label and its measured dose, the volume at the level and the
    fluoroscopy the machine reports. The form is left for the caller to check and send."""
    fill_the_checks(page, time_out_by)
    page.fill("#id_performed_on", day)
    page.select_option("#id_material", "msc")
    page.fill("#id_dose", "10 million cells")
    page.select_option("#id_guidance", "fluoroscopy")
    page.get_by_label("Product lot (scan or type the code on the label)").fill(lot_code)
    page.fill("#id_cells_million", "10")
    page.fill("#id_viability_pct", "92")
    fill_the_injection(page)


def fill_the_checks(page: Any, time_out_by: str) -> None:
    """Consent confirmed, site marked, time-out performed and who led it (by name)."""
    page.get_by_label("Consent confirmed").check()
    page.get_by_label("Site marked").check()
    page.get_by_label("Time-out performed").check()
    page.get_by_label("Time-out led by").select_option(label=time_out_by)


def fill_the_injection(page: Any) -> None:
    """The volume at the level and the fluoroscopy time and air kerma."""
    page.get_by_label("Volume per level (ml)").fill("1.5")
    page.get_by_label("Fluoroscopy time (seconds)").fill("40")
    page.get_by_label("Air kerma (mGy)").fill("5.2")
