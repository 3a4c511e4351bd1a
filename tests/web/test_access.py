"""Login everywhere, roles, throttling and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from web_helpers import PASSWORD

from spinepath.audit.models import AppendOnlyError, AuditEvent


@pytest.mark.parametrize(
    "path",
    [
        "/patients/",
        "/patients/1/",
        "/consultations/1/review/",
        "/audit/",
        "/import/",
        "/decisions/1/",
        "/consultations/1/export.json",
    ],
)
def test_every_page_needs_a_login(db: Any, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_typed_chart_url_while_logged_out_shows_nothing(candidate_encounter: Any) -> None:
    response = Client().get(f"/patients/{candidate_encounter.patient_id}/", follow=True)
    assert b"Lopez" not in response.content
    assert b"Sign in" in response.content


def test_passwords_are_hashed_with_argon2(clinician: User) -> None:
    assert clinician.password.startswith("argon2")


def test_sessions_expire_after_inactivity() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_sign_in_and_see_the_patient_list(clinician: User) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "clin", "password": PASSWORD}, follow=True
    )
    assert b"Patients" in response.content
    assert response.wsgi_request.user.is_authenticated


def test_five_failed_sign_ins_lock_the_account(clinician: User) -> None:
    client = Client()
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "clin", "password": "wrong"})
        assert b"Please enter a correct username and password" in response.content
    response = client.post("/accounts/login/", {"username": "clin", "password": PASSWORD})
    assert b"Too many failed sign-ins" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_a_user_without_a_role_sees_no_patients(db: Any, candidate_encounter: Any) -> None:
    nobody = User.objects.create_user("nobody", password=PASSWORD)
    client = Client()
    client.force_login(nobody)
    assert client.get("/patients/").status_code == 403
    assert client.get(f"/patients/{candidate_encounter.patient_id}/").status_code == 403


def test_viewing_a_chart_is_audited(clinician_client: Client, candidate_encounter: Any) -> None:
    clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    event = AuditEvent.objects.filter(action="view", what="chart").get()
    assert event.username == "clin"
    assert event.patient_id == candidate_encounter.patient_id
    assert event.address == "127.0.0.1"


def test_audit_log_is_for_the_clinic_admin_only(
    admin_client: Client, coordinator_client: Client, candidate_encounter: Any
) -> None:
    assert coordinator_client.get("/audit/").status_code == 403
    response = admin_client.get(f"/audit/?patient={candidate_encounter.patient_id}")
    assert response.status_code == 200
    assert b"Imported" in response.content


def test_audit_log_filters_by_user(
    admin_client: Client,
    clinician_client: Client,
    coordinator_client: Client,
    candidate_encounter: Any,
) -> None:
    clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    coordinator_client.get(f"/patients/{candidate_encounter.patient_id}/")
    page = admin_client.get("/audit/?user=coord").context["page"]
    assert {e.username for e in page} == {"coord"}


def test_audit_events_are_append_only(candidate_encounter: Any) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    event.what = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
