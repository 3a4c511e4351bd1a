"""Sign-in everywhere, roles, argon2, session expiry and sign-in throttling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from web_helpers import PASSWORD, signed_in


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


@pytest.mark.clinic_password_hashers
def test_passwords_are_hashed_with_argon2(clinician: User) -> None:
    assert clinician.password.startswith("argon2")


def test_sessions_expire_after_inactivity() -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # Activity renews the session at most a minute late (not with a write per request).
    assert settings.SPINEPATH_SESSION_RENEW_SECONDS <= 60


def test_sign_in_and_see_the_patient_list(clinician: User) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "clin", "password": PASSWORD}, follow=True
    )
    assert b"Patients" in response.content
    assert response.wsgi_request.user.is_authenticated


def test_five_failed_sign_ins_lock_the_account(clinician: User) -> None:
    client = Client()
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "clin", "password": "wrong"})
        assert b"Please enter a correct username and password" in response.content
    response = client.post("/accounts/login/", {"username": "clin", "password": "wrong"})
    assert response.status_code == 429
    response = client.post("/accounts/login/", {"username": "clin", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_a_user_without_a_role_sees_no_patients(db: Any, candidate_encounter: Any) -> None:
    nobody = User.objects.create_user("nobody", password=PASSWORD)
    client = signed_in(nobody)
    assert client.get("/patients/").status_code == 403
    assert client.get(f"/patients/{candidate_encounter.patient_id}/").status_code == 403


def _signed_in(user: User) -> Client:
    return signed_in(user)


def test_a_session_ends_after_30_minutes_without_activity(clinician: User) -> None:
    client = _signed_in(clinician)
    assert client.get("/patients/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_idle_time_counts_from_the_last_activity_not_the_sign_in(clinician: User) -> None:
    client = _signed_in(clinician)
    start = timezone.now()
    for minutes, status in ((5, 200), (10, 200), (10.5, 200), (39, 200), (70, 302)):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/patients/").status_code == status, minutes


def test_activity_keeps_the_session_alive(clinician: User) -> None:
    client = _signed_in(clinician)
    start = timezone.now()
    for minutes in (20, 40, 60):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/patients/").status_code == 200


def test_failures_for_made_up_usernames_do_not_lock_out_a_real_user(clinician: User) -> None:
    # Behind the clinic's NAT everyone shares one address: guessing cannot lock the clinic out.
    client = Client()
    for attempt in range(20):
        client.post("/accounts/login/", {"username": f"guess{attempt}", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "clin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.wsgi_request.user.is_authenticated


def test_the_lock_lifts_after_the_window(clinician: User) -> None:
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "clin", "password": "wrong"})
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        response = client.post(
            "/accounts/login/", {"username": "clin", "password": PASSWORD}, follow=True
        )
    assert response.wsgi_request.user.is_authenticated


def test_staff_saved_with_no_role_are_told_what_to_do_and_nothing_changes(
    admin_client: Client, coordinator: Any
) -> None:
    """Not Django's bare "This field is required." (found by a walkthrough)."""
    from django.contrib.auth.models import User

    created = admin_client.post(
        "/accounts/staff/", {"username": "nora", "first_name": "Nora", "last_name": "Lind"}
    )
    assert created.status_code == 400
    assert "Roles: tick at least one" in created.content.decode()
    assert "Nora" in created.content.decode()  # what was entered is kept
    assert not User.objects.filter(username="nora").exists()
    changed = admin_client.post(f"/accounts/staff/{coordinator.pk}/", {})
    assert "Roles: tick at least one" in changed.content.decode()
    assert list(coordinator.groups.values_list("name", flat=True)) == ["coordinator"]
