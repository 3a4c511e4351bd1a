"""The public forms' limits (generous for the self-screen, tight for requests, keyed on the real
client address, race-free), the server's request-size limit, and `spinepath createadmin` - each
tried the way an abuser or a careless installer would."""

from __future__ import annotations

import http.client
import threading
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from server_helpers import SPINEPATH, installed_environment, serving
from web_helpers import REQUEST, SCREEN

from spinepath.accounts.roles import CLINIC_ADMIN, has_role
from spinepath.cli import main
from spinepath.public.models import ConsultationRequest


def test_a_person_comparing_self_screen_answers_is_never_stopped(db: Any) -> None:
    client = Client()
    answers = [("pain_months", m) for m in ("1", "2", "6", "18")] + [
        ("mri", m) for m in ("recent", "older", "none", "unsure")
    ]
    for key, value in answers * 4:  # forty-odd tries in a row, as a curious person might
        response = client.post("/public/screen/", {**SCREEN, key: value})
        assert response.status_code == 200
        assert "result" in response.context


def test_a_script_on_the_self_screen_is_told_when_to_try_again(db: Any) -> None:
    client = Client()
    statuses = [client.post("/public/screen/", SCREEN).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    assert b"Please try again in 10 minutes." in client.post("/public/screen/", SCREEN).content


def test_the_request_limit_is_per_client_address_and_a_forged_header_changes_nothing(
    db: Any,
) -> None:
    abuser = Client(REMOTE_ADDR="198.51.100.20")
    for _ in range(5):
        assert abuser.post("/public/request/", REQUEST).status_code == 200
    forged = abuser.post("/public/request/", REQUEST, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert forged.status_code == 429  # no trusted proxy: the header is not believed
    neighbour = Client(REMOTE_ADDR="198.51.100.21")
    assert neighbour.post("/public/request/", REQUEST).status_code == 200
    assert ConsultationRequest.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_from_one_address_get_no_more_than_the_limit() -> None:
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def send() -> None:
        try:
            barrier.wait()
            statuses.append(Client().post("/public/request/", REQUEST).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [429] * 7
    assert ConsultationRequest.objects.count() == 5


def _write(path: Path, text: str) -> str:
    path.write_text(text + "\n")
    return str(path)


def test_createadmin_makes_a_clinic_admin_who_must_set_up_a_second_factor(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = _write(tmp_path / "pw", "a long and private phrase")
    assert (
        main(["createadmin", "ana", "--email", "ana@clinic.example", "--password-file", password])
        == 0
    )
    assert "Clinic admin ana created" in capsys.readouterr().out
    ana = User.objects.get(username="ana")
    assert has_role(ana, CLINIC_ADMIN) and ana.check_password("a long and private phrase")
    client = Client()
    client.post("/accounts/login/", {"username": "ana", "password": "a long and private phrase"})
    response = client.get("/accounts/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/second-factor/set-up/"


def test_createadmin_refuses_a_weak_password_and_a_taken_name(
    db: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["createadmin", "ana", "--password-file", _write(tmp_path / "a", "password")]) == 2
    assert "password: " in capsys.readouterr().err
    assert not User.objects.filter(username="ana").exists()
    good = _write(tmp_path / "b", "a long and private phrase")
    assert main(["createadmin", "ana", "--password-file", good]) == 0
    assert main(["createadmin", "ANA", "--password-file", good]) == 2
    assert "username: ANA already exists" in capsys.readouterr().err
    missing = str(tmp_path / "nowhere")
    assert main(["createadmin", "bea", "--password-file", missing]) == 2
    assert "--password-file: cannot read" in capsys.readouterr().err


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_the_server_refuses_a_huge_anonymous_body_before_reading_it(
    tmp_path: Path, migrated_database: Path
) -> None:
    log = tmp_path / "serve.log"
    environment = installed_environment(tmp_path, migrated_database)
    environment.pop("SPINEPATH_BASE_URL", None)
    with serving(environment, output=log) as base:
        # With no public address configured, links in emails point at this server's own
        # address and port (found by a walkthrough: they named port 8000 while it served on
        # another).
        assert f"links in emails point at {base} (SPINEPATH_BASE_URL)" in log.read_text()
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest("POST", "/public/request/")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(300 * 1024 * 1024))
        conn.endheaders()
        conn.send(b"x" * 65536)  # the rest of the 300 MB is never sent
        response = conn.getresponse()
        assert response.status == 413
        conn.close()


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_the_access_log_carries_no_query_string_or_token(
    tmp_path: Path, migrated_database: Path
) -> None:
    import contextlib
    import subprocess
    import sys
    import urllib.request

    from server_helpers import free_port, get_when_up

    port = free_port()
    log = tmp_path / "access.log"
    env = installed_environment(tmp_path / "var", migrated_database)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "spinepath.cli", "serve", "--port", str(port)),
            "--workers",
            "2",
            "--access-log",
            str(log),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        get_when_up(f"{base}/accounts/login/")
        paths = (
            "/patients/?q=Lopez+Maria",
            "/q/secret-token-123/",
            "/my/in/sign-in-token-456/",
            "/public/screen/?a=b",
            "/zz%0A127.0.0.1%20-%20forged%20line",
        )
        for path in paths:
            # A redirect to sign in, or a 410: the log line is what is checked.
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + path, timeout=10).read()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    text = log.read_text()
    assert '"GET /patients/"' in text and '"GET /q/[token]/"' in text
    assert "Lopez" not in text and "secret-token-123" not in text and "a=b" not in text
    assert "sign-in-token-456" not in text and '"GET /my/in/[token]/"' in text
    # A decoded newline in a path is written as an escape: no forged second line.
    assert not any(line.startswith("127.0.0.1 - forged") for line in text.splitlines())
    assert "/zz\\n127.0.0.1" in text
    assert "with 2 worker processes" in output


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_sighup_restarts_the_workers_and_the_server_keeps_answering(
    tmp_path: Path, migrated_database: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from server_helpers import free_port, get_when_up

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spinepath.cli", "serve", "--port", str(port), "--workers", "2"],
        env=installed_environment(tmp_path, migrated_database),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        get_when_up(f"{base}/accounts/login/")

        def workers() -> set[int]:
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
            return {int(pid) for pid in children.split()}

        before = workers()
        assert len(before) == 2
        os.kill(server.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (workers() & before or len(workers()) < 2):
            with urllib.request.urlopen(f"{base}/accounts/login/", timeout=10) as page:
                assert page.status == 200  # answered all through the restart
            time.sleep(0.2)
        assert len(workers()) == 2 and not workers() & before
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_serve_refuses_an_impossible_number_of_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers: between 1 and 64" in capsys.readouterr().err


def test_serve_names_an_access_log_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder" / "access.log"
    assert main(["serve", "--access-log", str(missing)]) == 2
    assert f"--access-log: cannot write {missing}" in capsys.readouterr().err


def test_the_gate_answers_a_malformed_or_huge_length_without_reaching_django() -> None:
    from spinepath.site.server import Gate

    reached: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        reached.append(environ)
        start_response("200 OK", [])
        return [b"ok"]

    gate = Gate(app, max_body=10, trusted_proxy="10.0.0.1")
    statuses: list[str] = []

    def start(status: str, headers: Any) -> None:
        statuses.append(status)

    gate({"CONTENT_LENGTH": "12abc", "REMOTE_ADDR": "1.2.3.4"}, start)
    gate({"CONTENT_LENGTH": "11", "REMOTE_ADDR": "1.2.3.4"}, start)
    gate({"HTTP_X_FORWARDED_FOR": "6.6.6.6", "REMOTE_ADDR": "1.2.3.4"}, start)
    gate({"HTTP_X_FORWARDED_FOR": "9.9.9.9, 5.5.5.5", "REMOTE_ADDR": "10.0.0.1"}, start)
    assert statuses == ["400 Bad Request", "413 Content Too Large", "200 OK", "200 OK"]
    assert [e["REMOTE_ADDR"] for e in reached] == ["1.2.3.4", "5.5.5.5"]
    assert "HTTP_X_FORWARDED_FOR" not in reached[0]


def test_the_gate_believes_only_an_address_from_the_trusted_proxy() -> None:
    """A proxy's entry with a port or a zone gives the address; one that is no address
    ("unknown", a typo) leaves the proxy's own, never text that reaches the sign-in throttle's
    address column (a 500 on PostgreSQL, found by the attack)."""
    from spinepath.site.server import Gate

    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["REMOTE_ADDR"])
        start_response("200 OK", [])
        return [b"ok"]

    gate = Gate(app, max_body=10, trusted_proxy="10.0.0.1")
    entries = {
        "5.5.5.5": "5.5.5.5",
        "5.5.5.5:8080": "5.5.5.5",
        "[2001:db8::1]:443": "2001:db8::1",
        "[::1]": "::1",
        "2001:DB8::1": "2001:db8::1",
        "fe80::1%eth0": "fe80::1",
        "unknown": "10.0.0.1",
        "garbage": "10.0.0.1",
        "256.1.1.1": "10.0.0.1",
        "1.2.3.4/32": "10.0.0.1",
        "-": "10.0.0.1",
        "": "10.0.0.1",
    }
    for entry in entries:
        gate({"HTTP_X_FORWARDED_FOR": f"9.9.9.9, {entry}", "REMOTE_ADDR": "10.0.0.1"}, print)
    assert seen == list(entries.values())


def test_a_sign_in_from_no_address_is_no_error(db: Any) -> None:
    """Whatever reaches Django as the client's address, the sign-in throttle is given an
    address or none (a 500 on PostgreSQL before, when a proxy's header named no address)."""
    from django.test import Client
    from web_helpers import new_coordinator

    user = new_coordinator()
    for address in ("garbage", "1.2.3.4:80", "[::1]", "fe80::1%eth0"):
        page = Client(REMOTE_ADDR=address).post(
            "/accounts/login/", {"username": user.username, "password": "not the password"}
        )
        assert page.status_code == 200, address
        assert "Please enter a correct username and password" in page.content.decode()
