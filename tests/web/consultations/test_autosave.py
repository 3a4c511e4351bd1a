"""Save as you go: each changed answer is stored at once (htmx), the wrong ones named."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from web_helpers import HISTORY, signed_in, start

AUTOSAVE = {"HTTP_HX_REQUEST": "true"}


def autosave(client: Client, encounter: Any, step: str, data: dict[str, str]) -> Any:
    return client.post(
        f"/consultations/{encounter.pk}/{step}/", {**data, "autosave": "1"}, **AUTOSAVE
    )


def test_a_changed_answer_is_saved_at_once(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = autosave(clinician_client, encounter, "history", HISTORY)
    assert response.status_code == 200
    assert b"Saved" in response.content
    assert b"<html" not in response.content
    encounter.refresh_from_db()
    assert encounter.pain_vas == 70 and encounter.odi_sections == [2] * 10
    assert encounter.last_step == "history"


def test_a_wrong_value_is_named_at_its_field_and_the_rest_is_saved(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    response = autosave(clinician_client, encounter, "history", {**HISTORY, "pain_vas": "140"})
    content = response.content.decode()
    assert "Saved, except" in content and "Pain today, VAS 0-100 mm" in content
    assert 'id="id_pain_vas_errors" hx-swap-oob="true"' in content
    assert "Ensure this value is less than or equal to 100." in content
    encounter.refresh_from_db()
    assert encounter.pain_vas is None
    assert encounter.goals == "Garden again" and encounter.red_fracture is False


def test_correcting_the_value_clears_its_message(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    autosave(clinician_client, encounter, "history", {**HISTORY, "pain_vas": "140"})
    response = autosave(clinician_client, encounter, "history", HISTORY)
    assert b'<div class="field-errors" id="id_pain_vas_errors" hx-swap-oob="true"></div>' in (
        response.content
    )
    encounter.refresh_from_db()
    assert encounter.pain_vas == 70


def test_a_tampered_odi_answer_keeps_the_stored_sections(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    autosave(clinician_client, encounter, "history", HISTORY)
    autosave(clinician_client, encounter, "history", {**HISTORY, "odi_4": "9"})
    encounter.refresh_from_db()
    assert encounter.odi_sections == [2] * 10


def test_the_odi_score_comes_from_the_domain(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = autosave(clinician_client, encounter, "history", {**HISTORY, "odi_8": ""})
    assert b"ODI 40 / 100" in response.content
    assert b"moderate" in response.content and b"from 9 of 10 sections" in response.content
    two_blank = autosave(
        clinician_client, encounter, "history", {**HISTORY, "odi_8": "", "odi_9": ""}
    )
    assert b"ODI: no score" in two_blank.content
    page = clinician_client.get(f"/consultations/{encounter.pk}/history/")
    assert b"ODI: no score" in page.content


def test_the_exam_saves_as_you_go(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = autosave(
        clinician_client,
        encounter,
        "exam",
        {"motor_deficit": "stable", "si_provocation_positive": "8", "facet_pattern": "true"},
    )
    assert b"Positive sacroiliac provocation tests" in response.content
    encounter.refresh_from_db()
    assert (encounter.motor_deficit, encounter.facet_pattern) == ("stable", True)
    assert encounter.si_provocation_positive is None


def test_autosave_needs_a_clinic_role(clinician: Any, clinician_client: Client) -> None:
    encounter = start(clinician_client, clinician)
    nobody = User.objects.create_user("nobody", password="correct-horse-battery")
    client = signed_in(nobody)
    assert autosave(client, encounter, "history", HISTORY).status_code == 403
    assert Client().post(f"/consultations/{encounter.pk}/history/", HISTORY).status_code == 302
    encounter.refresh_from_db()
    assert encounter.pain_vas is None


def test_the_pages_offer_save_as_you_go(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    for step in ("history", "exam"):
        page = clinician_client.get(f"/consultations/{encounter.pk}/{step}/").content.decode()
        assert 'hx-trigger="change delay:300ms"' in page
        assert 'name="next"' in page  # and the Save buttons still work without JavaScript
