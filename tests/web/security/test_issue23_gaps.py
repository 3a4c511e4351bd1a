"""Issue 23, points 3, 4, 6, 7 and 8, each tried the way an insider or an outsider would:

3. emailed links are built on the clinic's configured address, never the request's host, and
   production answers only the hosts configured;
4. the command line acts as a real staff account that may do the action (never a records-only
   name) and its audit events say "command line" with the machine account;
6. asking for a sign-in link takes the same work before the answer whether the address is on a
   record or not (the mail goes after the answer);
7. text the database cannot hold (a NUL, an unpaired surrogate) is refused with the field named
   on every route, never a 500 (run on SQLite and on PostgreSQL);
8. answers that are 4xx leave no traceback in the server log.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pydicom
import pytest
from dicom_helpers import study_files
from django.contrib.auth.models import User
from django.core import mail
from django.core.handlers.base import BaseHandler
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from server_helpers import installed_environment, serving
from treatment_helpers import treated
from web_helpers import PASSWORD, acting, import_encounter, signed_in

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.audit.context import machine_user
from spinepath.audit.models import AuditEvent
from spinepath.cli import main as cli
from spinepath.consultations.models import ImagingStudy
from spinepath.fhir_api.services import token_create
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create
from spinepath.portal.models import SignInLink
from spinepath.web.text import UnstorableText

BASE_URL = "https://clinic.example.org"


def _run_on_commit() -> None:
    """Tests run inside a transaction: run what waits for its commit (the emails) now."""
    for _, callback, _ in connection.run_on_commit:
        callback()
    connection.run_on_commit.clear()


# --- 3. Hosts and the links in emails -------------------------------------------------------


def _allowed_hosts(**env: str) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SPINEPATH_")}
    environment.update(env)
    code = "from spinepath.site import settings; print(','.join(settings.ALLOWED_HOSTS))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().split(",")


def test_production_answers_only_the_hosts_configured(tmp_path: Path) -> None:
    var = str(tmp_path / "var")
    assert _allowed_hosts(SPINEPATH_VAR=var, SPINEPATH_BASE_URL=BASE_URL) == ["clinic.example.org"]
    assert _allowed_hosts(
        SPINEPATH_VAR=var, SPINEPATH_BASE_URL=BASE_URL, SPINEPATH_ALLOWED_HOSTS="spine.example.org"
    ) == ["clinic.example.org", "spine.example.org"]
    # Demo mode adds the local names it is opened by; never "testserver".
    demo = _allowed_hosts(SPINEPATH_VAR=var, SPINEPATH_DEMO="1")
    assert demo == ["127.0.0.1", "localhost"]


@pytest.fixture
def reachable_patient(clinician: Any) -> Patient:
    patient = treated(clinician, 40, email="zq@example.org")
    Patient.objects.filter(pk=patient.pk).update(birth_date=date(1961, 4, 30))
    patient.refresh_from_db()
    return patient


def _links(body: str) -> list[str]:
    return re.findall(r"https?://[^\s/]+/\S*", body)


def test_emailed_links_are_on_the_configured_address_whatever_the_host(
    reachable_patient: Patient, coordinator: Any, settings: Any
) -> None:
    settings.SPINEPATH_BASE_URL = BASE_URL
    # Even a host the server answers (one more name of the site) never ends up in a link.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    staff = signed_in(coordinator)
    staff.defaults["HTTP_HOST"] = "evil.example"
    mail.outbox.clear()
    # The chart's "Email a sign-in link" ...
    chart = staff.get(f"/patients/{reachable_patient.pk}/")
    key = re.search(rb'name="submission" value="([^"]+)"', chart.content)
    staff.post(
        f"/patients/{reachable_patient.pk}/sign-in-link/",
        {"submission": key.group(1).decode() if key else ""},
    )
    # ... the public sign-in page ...
    Client(HTTP_HOST="evil.example").post("/my/sign-in/", {"email": "zq@example.org"})
    # ... and a questionnaire link, emailed and shown once.
    visit = reachable_patient.visits.order_by("opens").first()
    assert visit is not None
    staff.post(f"/visits/{visit.pk}/link/", {"send": "email"})
    shown = staff.post(f"/visits/{visit.pk}/link/", {}, follow=True)
    _run_on_commit()
    bodies = [m.body for m in mail.outbox]
    assert len(bodies) >= 3, bodies
    links = [link for body in bodies for link in _links(body)]
    assert links and all(link.startswith(f"{BASE_URL}/") for link in links), links
    assert b"evil.example" not in shown.content
    assert f"{BASE_URL}/q/".encode() in shown.content


# --- 4. The command line's actors -----------------------------------------------------------


@pytest.fixture
def dicom_patient(db: Any) -> Patient:
    return patient_create(
        actor=acting(None),
        details={
            "given_name": "Maria",
            "family_name": "Lopez",
            "birth_date": date(1961, 4, 30),
            "sex": "female",
        },
    )


def test_a_records_only_name_an_inactive_or_a_demo_login_cannot_import(
    dicom_patient: Patient, clinician: Any, tmp_path: Path, capsys: Any, settings: Any
) -> None:
    study_files(tmp_path / "s")
    synthetic = staff_user_create(
        actor=Actor.system(), username="synthetic.clin1", password=None, role="clinician"
    )
    gone = staff_user_create(
        actor=Actor.system(), username="gone", password=PASSWORD, role="coordinator"
    )
    User.objects.filter(pk=gone.pk).update(is_active=False)
    staff_user_create(
        actor=Actor.system(), username="dr.demo", password=PASSWORD, role="clinician", demo=True
    )
    settings.SPINEPATH_DEMO = False
    args = ["import-dicom", str(tmp_path / "s"), "--patient", dicom_patient.mrn, "--by"]
    assert cli([*args, synthetic.username]) == 2
    assert "not a person's account that can sign in" in capsys.readouterr().err
    assert cli([*args, "gone"]) == 2
    assert "no active staff account gone" in capsys.readouterr().err
    assert cli([*args, "dr.demo"]) == 2
    assert "not a person's account that can sign in" in capsys.readouterr().err
    assert cli([*args, "nobody"]) == 2
    assert not ImagingStudy.objects.exists()
    assert not AuditEvent.objects.filter(action="import").exists()


def test_a_command_line_import_names_the_staff_member_and_the_machine_account(
    dicom_patient: Patient, coordinator: Any, tmp_path: Path, capsys: Any
) -> None:
    study_files(tmp_path / "s")
    args = ["import-dicom", str(tmp_path / "s"), "--patient", dicom_patient.mrn, "--by", "coord"]
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    assert cli(args) == 0
    events = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))
    # The import is one event; the records it created are its changes.
    imported = next(e for e in events if e.action == "import")
    assert "create" in {change["action"] for change in imported.detail["changes"]}
    for event in events:
        assert event.detail["command_line"] == "spinepath import-dicom"
        assert event.detail["machine_user"] == machine_user() != ""
        assert event.path == "(command line) spinepath import-dicom"
    assert next(e for e in events if e.action == "import").username == "coord"


def test_a_command_without_a_staff_account_is_the_machine_account(db: Any, capsys: Any) -> None:
    assert cli(["api-token", "create", "The EHR"]) == 0
    event = AuditEvent.objects.get(action="create", what__startswith="API token The EHR")
    assert event.username == f"(command line: {machine_user()})"
    assert event.detail["command_line"] == "spinepath api-token"


def test_the_web_is_never_marked_as_the_command_line(coordinator_client: Client) -> None:
    coordinator_client.get("/patients/")
    event = AuditEvent.objects.get(action="view")
    assert "command_line" not in (event.detail or {})


# --- 6. Asking for a sign-in link: the same work before the answer -------------------------


def _answer_only(email: str, address: str) -> tuple[Any, list[str]]:
    """The page's answer as the server sends it (the middleware and the view) and the SQL run
    before it - without what the server runs once it has sent it (the response's close)."""
    handler = BaseHandler()
    handler.load_middleware()
    request = RequestFactory().post(
        "/my/sign-in/", {"email": email}, REMOTE_ADDR=address, HTTP_HOST="testserver"
    )
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as queries:
        response = handler.get_response(request)
    statements = [
        re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", q["sql"]) for q in queries.captured_queries
    ]
    return response, statements


def test_a_known_and_an_unknown_address_do_the_same_work_before_the_answer(
    reachable_patient: Patient,
) -> None:
    mail.outbox.clear()
    known, known_sql = _answer_only("zq@example.org", "198.51.100.1")
    unknown, unknown_sql = _answer_only("nobody@example.org", "198.51.100.2")
    assert known.status_code == unknown.status_code == 200
    assert known_sql == unknown_sql
    assert not any("patients_patient" in sql for sql in known_sql)  # the address not looked up
    assert not SignInLink.objects.exists() and not mail.outbox
    # Once the answer has gone (the server closes the response), the known address's link.
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)  # as the test client does
    try:
        known.close()
        unknown.close()
    finally:
        request_finished.connect(close_old_connections)
    _run_on_commit()
    assert SignInLink.objects.filter(patient=reachable_patient).count() == 1
    assert [m.to for m in mail.outbox] == [["zq@example.org"]]
    assert AuditEvent.objects.filter(
        patient=reachable_patient, what="sign-in link emailed at the patient's request"
    ).exists()
    # The unknown address did the same database work after the answer: a look-up and an audit
    # event (which does not keep the address).
    nobody = AuditEvent.objects.get(what__contains="an address on no patient record")
    assert nobody.patient_id is None and "nobody" not in json.dumps(nobody.detail)


def test_a_slow_mail_server_holds_up_no_worker(settings: Any, monkeypatch: Any) -> None:
    """With a real mail server, the sign-in email leaves from a thread of its own: the worker
    that answered is free at once, whether or not an email was due."""
    import threading

    from spinepath.portal import services

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    started, release = threading.Event(), threading.Event()

    def slow_send(self: Any, *args: Any, **kwargs: Any) -> int:
        started.set()
        release.wait(10)
        return 1

    monkeypatch.setattr("django.core.mail.EmailMessage.send", slow_send)
    message = mail.EmailMessage(subject="s", body="b", to=["zq@example.org"])
    services._send_soon(message)  # returns while the "server" still holds the message
    assert started.wait(5)
    release.set()


# --- 7. Text the database cannot hold --------------------------------------------------------

NUL = "Ma\x00ria"


def test_a_nul_in_a_form_field_is_named_not_stored(
    reachable_patient: Patient, coordinator_client: Client
) -> None:
    response = coordinator_client.post(
        f"/patients/{reachable_patient.pk}/edit/",
        {"given_name": NUL, "family_name": "Lopez", "birth_date": "1961-04-30"},
    )
    assert response.status_code == 400
    assert b"given_name: contains a NUL character (U+0000), which cannot be stored" in (
        response.content
    )
    reachable_patient.refresh_from_db()
    assert "\x00" not in reachable_patient.given_name


@pytest.mark.parametrize(
    "path",
    [
        "/patients/?q=Lo%00pez",
        "/worklist/?patient=%00",
        "/audit/?record=SP%00",
        "/outcomes/?clinician=%00",
        "/my/in/abc%00def/",
        "/q/abc%00def/",
    ],
)
def test_a_nul_in_an_address_or_query_is_a_named_400(path: str, admin_client: Client) -> None:
    response = admin_client.get(path)
    assert response.status_code == 400, response.content[:300]
    assert b"contains a NUL character" in response.content


def test_a_nul_or_a_lone_surrogate_in_an_imported_workup_is_named(
    clinician_client: Client,
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from workup_builder import document

    for escaped, said in (("\\u0000", b"NUL character"), ("\\ud800", b"unpaired surrogate")):
        text = json.dumps(document()).replace('"axial"', f'"axi{escaped}al"')
        response = clinician_client.post(
            "/import/",
            {
                "file": SimpleUploadedFile("w.json", text.encode()),
                "given_name": "Maria",
                "family_name": "Lopez",
            },
        )
        assert response.status_code == 400
        assert said in response.content, response.content[-2000:]
    assert not Patient.objects.exists()


def test_the_workup_import_names_the_field_path(clinician_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from workup_builder import document

    text = json.dumps(document()).replace('"axial"', '"axi\\u0000al"')
    response = clinician_client.post(
        "/import/",
        {
            "file": SimpleUploadedFile("w.json", text.encode()),
            "given_name": "M",
            "family_name": "L",
        },
    )
    assert b"history.pattern: contains a NUL character" in response.content


def test_the_fhir_api_and_cds_hooks_name_unstorable_text(clinician: Any) -> None:
    patient = treated(clinician, 40)
    _token, secret = token_create(actor=Actor.system(), name="app", can_write=True)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient.pk}"},
        "item": [{"linkId": "pain\u0000", "answer": [{"valueInteger": 35}]}],
    }
    stored = api.post(
        "/fhir/QuestionnaireResponse", json.dumps(body), content_type="application/fhir+json"
    )
    assert stored.status_code == 400
    outcome = json.loads(stored.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "item[0].linkId: contains a NUL character" in outcome["issue"][0]["diagnostics"]
    for path in ("/fhir/Patient?name=Lo%00pez", "/fhir/Patient/1%00"):
        answer = api.get(path)
        assert answer.status_code == 400, path
        assert json.loads(answer.content)["resourceType"] == "OperationOutcome"
    surrogate = '{"hook": "patient-view", "context": {"patientId": "x\\ud800"}}'
    hooked = api.post(
        "/cds-services/spinepath-candidacy", surrogate, content_type="application/json"
    )
    assert hooked.status_code == 400
    assert b"context.patientId: contains an unpaired surrogate (U+D800)" in hooked.content


def _with_description(folder: Path, description: str) -> None:
    for path in folder.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        ds.StudyDescription = description
        ds.save_as(path, enforce_file_format=True)


def test_dicom_header_text_with_a_nul_is_named_on_the_web_and_the_command_line(
    dicom_patient: Patient,
    coordinator: Any,
    coordinator_client: Client,
    tmp_path: Path,
    capsys: Any,
) -> None:
    study_files(tmp_path / "s")
    _with_description(tmp_path / "s", "MRI L\x00SPINE")
    args = ["import-dicom", str(tmp_path / "s"), "--patient", dicom_patient.mrn, "--by", "coord"]
    assert cli(args) == 2
    assert "StudyDescription: the DICOM files' StudyDescription contains a NUL" in (
        capsys.readouterr().err
    )
    assert cli([*args[:3], "SP\x00", "--by", "coord"]) == 2
    assert "--patient: contains a NUL character" in capsys.readouterr().err
    from django.core.files.uploadedfile import SimpleUploadedFile
    from web_helpers import start

    encounter = start(coordinator_client, coordinator)
    Patient.objects.filter(pk=encounter.patient_id).update(
        birth_date=date(1961, 4, 30), sex="female"
    )
    uploads = [
        SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted((tmp_path / "s").glob("*"))
    ]
    done = coordinator_client.post(
        f"/consultations/{encounter.pk}/imaging/dicom/", {"files": uploads}, follow=True
    )
    assert done.status_code == 200
    assert b"StudyDescription contains a NUL character" in done.content
    assert not ImagingStudy.objects.exists()


def test_any_save_and_any_query_with_unstorable_text_is_refused_by_field(
    clinician: Any,
) -> None:
    encounter = import_encounter(clinician)
    patient = encounter.patient
    patient.family_name = "Lo\x00pez"
    with pytest.raises(UnstorableText, match="last name: contains a NUL character"):
        patient.save()
    encounter.goals = "walk\ud800"
    with pytest.raises(UnstorableText, match="unpaired surrogate"):
        encounter.save()
    with pytest.raises(UnstorableText):
        Patient.objects.filter(family_name="Lo\x00pez").exists()
    with pytest.raises(UnstorableText), transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(family_name="x\x00")
    assert Patient.objects.get(pk=patient.pk).family_name == "Lopez"


def test_a_nul_in_the_session_cookie_is_not_a_server_error(db: Any) -> None:
    client = Client()
    client.cookies["sessionid"] = "\x00abcdefghijklmnop"
    assert client.get("/patients/").status_code == 302
    assert client.get("/my/").status_code == 302


# --- 8. 4xx answers leave no traceback in the server log -------------------------------------


def test_refused_requests_leave_no_traceback_in_the_server_log(
    tmp_path: Path, migrated_database: Path
) -> None:
    import http.client

    env = installed_environment(tmp_path / "var", migrated_database, demo=False)
    log = tmp_path / "server.log"
    with serving(env, output=log) as base:
        host, port = base.removeprefix("http://").split(":")

        def ask(method: str, path: str, body: Any = None, headers: Any = None) -> Any:
            connection_ = http.client.HTTPConnection(host, int(port), timeout=30)
            connection_.request(method, path, body=body, headers=headers or {})
            answer = connection_.getresponse()
            data = answer.read()
            connection_.close()
            return answer, data

        page, html = ask("GET", "/public/screen/")
        cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie")).group(1)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()
        form = {
            "Cookie": f"csrftoken={cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        fields = f"csrfmiddlewaretoken={token}&" + "&".join(f"f{i}=x" for i in range(1200))
        boundary = "b0undary"
        files = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="{i}.dcm"\r\n'
            "Content-Type: application/octet-stream\r\n\r\nx\r\n"
            for i in range(5100)
        )
        files = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
            f"{token}\r\n{files}--{boundary}--\r\n"
        )
        multipart = {**form, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        answers = [
            ask("GET", "/", headers={"Host": "testserver"})[0].status,
            ask("GET", "/", headers={"Host": "localhost"})[0].status,
            ask("POST", "/public/screen/", fields, form)[0].status,
            ask("POST", "/public/screen/", files.encode(), multipart)[0].status,
            ask("GET", "/public/screen/?q=%00")[0].status,
            ask("TRACE", "/")[0].status,
        ]
        assert answers == [400, 400, 400, 400, 400, 405]
    text = log.read_text()
    assert "Invalid HTTP_HOST header: 'testserver'" in text
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in text and "DATA_UPLOAD_MAX_NUMBER_FILES" in text
    assert "Traceback" not in text, text


# --- Found by the walk on PostgreSQL: a long session label --------------------------------


def test_a_session_of_many_injections_books_on_every_engine(
    clinician: Any, coordinator: Any
) -> None:
    """A session's label names each of its lines; with several it passed the column's 300
    characters, which PostgreSQL refused (a 500 on booking) and SQLite kept."""
    from datetime import datetime, timedelta

    from django.utils import timezone
    from treatment_helpers import accepted_plan_for, reviewed_patient

    from spinepath.plans.selectors import plan_sessions
    from spinepath.public.bookings import session_book
    from spinepath.public.models import Room

    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "long-label")
    plan = accepted_plan_for(patient, clinician, review, sessions=4)
    session = plan_sessions(plan)[0].session
    assert len(session.label) > 300
    booked = session_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        session_key=session.key,
        clinician=clinician,
        room=Room.objects.get_or_create(name="Procedure room", defaults={"kind": "fluoroscopy"})[0],
        start=timezone.make_aware(datetime(2026, 11, 26, 9)),
        minutes=60,
    )
    booked.refresh_from_db()
    assert len(booked.session_label) == 300 and booked.session_label.endswith("…")
    assert booked.session_label.startswith(session.label[:200])


def test_command_line_arguments_the_database_cannot_hold_are_named(
    dicom_patient: Patient, capsys: Any, tmp_path: Path
) -> None:
    """Bytes that are not UTF-8 reach Python's arguments as unpaired surrogates."""
    assert cli(["api-token", "revoke", "x\udcff"]) == 2
    err = capsys.readouterr().err
    assert "spinepath api-token: a value given: contains an unpaired surrogate (U+DCFF)" in err
    args = ["import-dicom", str(tmp_path), "--patient", dicom_patient.mrn, "--by", "c\udcff"]
    assert cli(args) == 2
    assert "--by: contains an unpaired surrogate" in capsys.readouterr().err


def test_a_records_only_clinician_is_never_booked(clinician: Any, coordinator: Any) -> None:
    """Found beside point 4: the synthetic cohort's clinicians were offered, and accepted, as
    clinicians for a consultation."""
    from datetime import datetime

    from django.utils import timezone

    from spinepath.errors import Invalid
    from spinepath.public.bookings import appointment_book
    from spinepath.public.models import Room

    synthetic = staff_user_create(
        actor=Actor.system(), username="synthetic.clin7", password=None, role="clinician"
    )
    someone = Patient.objects.create(given_name="Some", family_name="One")
    page = signed_in(coordinator).get(f"/bookings/?patient={someone.pk}")
    assert b"synthetic.clin7" not in page.content and b"clin" in page.content
    room = Room.objects.get_or_create(name="Consultation room 1")[0]
    start = timezone.make_aware(datetime(2026, 11, 26, 9))
    with pytest.raises(Invalid, match="Choose a clinician"):
        appointment_book(
            actor=acting(coordinator),
            clinician=synthetic,
            room=room,
            start=start,
            minutes=60,
            patient=Patient.objects.create(given_name="A", family_name="Person"),
        )
    booked = appointment_book(
        actor=acting(coordinator),
        clinician=clinician,
        room=room,
        start=start,
        minutes=60,
        patient=Patient.objects.create(given_name="B", family_name="Person"),
    )
    assert booked.clinician == clinician
