"""Sign-in: django-axes per username and address, the second factor, demo logins, and the
account pages - each tried the way an attacker would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from web_helpers import PASSWORD, signed_in, totp_now

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent


def _password(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_locked_username_still_signs_in_from_another_address(clinician: User) -> None:
    attacker = Client()
    for _ in range(5):
        _password(attacker, "clin", "wrong", address="198.51.100.9")
    assert _password(attacker, "clin", PASSWORD, address="198.51.100.9").status_code == 429
    assert _password(Client(), "clin", PASSWORD, address="10.0.0.1").status_code == 302
    assert AuditEvent.objects.filter(action="locked_out").exists()
    assert AuditEvent.objects.filter(action="sign_in_failed").count() >= 5


def test_the_password_alone_opens_no_page_in_production(clinician: User) -> None:
    client = Client()
    assert _password(client, "clin", PASSWORD).status_code == 302
    for path in ("/patients/", "/worklist/", "/audit/", "/import/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/accounts/second-factor/set-up/"


def test_enrolment_then_a_code_opens_the_app(clinician: User) -> None:
    client = Client()
    _password(client, "clin", PASSWORD)
    page = client.get("/accounts/second-factor/set-up/")
    assert b"<svg" in page.content and b"Set up your authenticator app" in page.content
    device = TOTPDevice.objects.get(user=clinician, confirmed=False)
    assert client.post("/accounts/second-factor/set-up/", {"token": "000000"}).status_code == 400
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=True):
        # (a wrong code makes the next try wait; the app shows a new code by then)
        response = client.post("/accounts/second-factor/set-up/", {"token": totp_now(device)})
        assert b"Your recovery codes" in response.content
        assert len(response.context["codes"]) == 10
        assert client.get("/patients/").status_code == 200


def test_a_replayed_totp_code_is_refused(clinician: User) -> None:
    device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
    first, second = Client(), Client()
    _password(first, "clin", PASSWORD)
    _password(second, "clin", PASSWORD, address="10.0.0.2")
    code = totp_now(device)
    assert first.post("/accounts/second-factor/", {"token": code}).status_code == 302
    replay = second.post("/accounts/second-factor/", {"token": code})
    assert replay.status_code == 400
    assert second.get("/patients/").status_code == 302


def test_a_recovery_code_works_once(clinician: User) -> None:
    from spinepath.accounts.services import _new_recovery_codes

    TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
    code = _new_recovery_codes(clinician)[0]
    client = Client()
    _password(client, "clin", PASSWORD)
    assert client.post("/accounts/second-factor/", {"token": code}).status_code == 302
    other = Client()
    _password(other, "clin", PASSWORD)
    assert other.post("/accounts/second-factor/", {"token": code}).status_code == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.clinic_password_hashers  # guesses overlap while argon2 hashes, as they would live
def test_parallel_guesses_get_no_more_than_the_limit(clinician: User) -> None:
    def guess(_: int) -> int:
        return _password(Client(), "clin", "wrong").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(guess, range(13)))
    # Four wrong passwords are answered as such; the fifth locks; every later guess is refused
    # unchecked (a locked guess is still audited as a failed sign-in).
    assert statuses.count(200) <= 4, statuses
    assert statuses.count(429) >= 9, statuses


def test_synthetic_clinicians_cannot_sign_in(db: Any) -> None:
    from spinepath.accounts.services import staff_user_create

    ghost = staff_user_create(
        actor=Actor.system(), username="synthetic.clinician", password=None, role="clinician"
    )
    assert not ghost.has_usable_password()
    assert _password(Client(), "synthetic.clinician", "").status_code == 200


def test_the_clinic_admin_creates_resets_and_deactivates_staff(admin_user: User) -> None:
    admin = signed_in(admin_user)
    response = admin.post(
        "/accounts/staff/",
        {
            "username": "new.coord",
            "first_name": "Nia",
            "last_name": "Cole",
            "roles": ["coordinator"],
        },
    )
    temporary = response.context["password"]
    person = User.objects.get(username="new.coord")
    newcomer = Client()
    assert _password(newcomer, "new.coord", temporary).status_code == 302
    device = TOTPDevice.objects.create(user=person, name="app", confirmed=True)
    newcomer.post("/accounts/second-factor/", {"token": totp_now(device)})
    assert newcomer.get("/patients/")["Location"] == "/accounts/password/"
    new = "a-long-new-passphrase-42"
    changed = newcomer.post(
        "/accounts/password/",
        {"old_password": temporary, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    assert newcomer.get("/patients/").status_code == 200
    admin.post(f"/accounts/staff/{person.pk}/deactivate/")
    assert newcomer.get("/patients/").status_code == 302  # signed out everywhere
    assert _password(Client(), "new.coord", new).status_code == 200
    assert AuditEvent.objects.filter(what__contains="deactivated new.coord").exists()


def test_a_coordinator_cannot_manage_staff(coordinator_client: Client, clinician: User) -> None:
    assert coordinator_client.get("/accounts/staff/").status_code == 403
    response = coordinator_client.post(f"/accounts/staff/{clinician.pk}/password/")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="refused", username="coord").exists()


def test_weak_passwords_are_refused(clinician: User) -> None:
    client = signed_in(clinician)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "password1", "new_password2": "password1"},
    )
    assert response.status_code == 400
    assert b"too common" in response.content or b"too short" in response.content
