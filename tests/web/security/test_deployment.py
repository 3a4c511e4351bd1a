"""Deployment settings: check --deploy clean with HTTPS on, CSP, no-store, tokens out of logs,
var/ private, untrusted proxy headers ignored."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from spinepath.web.clients import RedactTokens

ROOT = Path(__file__).resolve().parents[3]


def test_check_deploy_reports_no_warnings_with_https(tmp_path: Path) -> None:
    env = {
        # (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is theirs, not a deployment's, and so
        # is the suite's settings module: the check is of the clinic's own settings)
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")
        },
        "SPINEPATH_VAR": str(tmp_path),
        "SPINEPATH_HTTPS": "1",
        "SPINEPATH_TRUSTED_PROXY": "127.0.0.1",
        "SPINEPATH_BASE_URL": "https://clinic.example.org",
        "SPINEPATH_ALLOWED_HOSTS": "clinic.example.org",
    }
    result = subprocess.run(
        [sys.executable, "-m", "spinepath.cli", "manage", "check", "--deploy", "--fail-level",
         "WARNING"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_pages_carry_csp_and_are_never_stored(clinician_client: Client) -> None:
    response = clinician_client.get("/patients/?q=lo")
    csp = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert "no-store" in response["Cache-Control"]
    assert b'"historyCacheSize": 0' in response.content
    assert b'hx-history="false"' in response.content


def test_no_inline_scripts_anywhere() -> None:
    templates = list((ROOT / "spinepath").rglob("templates/**/*.html"))
    offenders = [p.name for p in templates if "<script>" in p.read_text()]
    assert not offenders


def test_questionnaire_tokens_never_reach_the_log() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/q/s3cr3t-token/",), None
    )
    RedactTokens().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "/q/[token]" in record.getMessage()


def test_var_is_private() -> None:
    var = Path(settings.VAR_DIR)
    assert var.stat().st_mode & 0o777 == 0o700
    assert (var / "secret_key").stat().st_mode & 0o077 == 0


def test_a_forwarded_for_header_from_a_client_is_not_believed(clinician: Any) -> None:
    # Without the server's trusted proxy, X-Forwarded-For is just a header: the address is
    # the connection's.
    Client().post(
        "/accounts/login/",
        {"username": "clin", "password": "wrong"},
        REMOTE_ADDR="192.0.2.1",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    from spinepath.audit.models import AuditEvent

    assert AuditEvent.objects.get(action="sign_in_failed").address == "192.0.2.1"


def test_mail_goes_out_over_smtp_when_configured(tmp_path: Path) -> None:
    import socket
    import time

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "SPINEPATH_VAR": str(tmp_path),
            "SPINEPATH_SMTP_HOST": "127.0.0.1",
            "SPINEPATH_SMTP_PORT": str(port),
            "SPINEPATH_SMTP_TLS": "0",
        }
        code = (
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='spinepath.site.settings';"
            "django.setup(); from django.core.mail import send_mail;"
            "send_mail('Hello', 'Body', 'clinic@example.org', ['patient@example.org'])"
        )
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=60)
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        controller.stop()
    assert received and received[0]["To"] == "patient@example.org"


def test_production_without_smtp_tells_the_staff(clinician_client: Client) -> None:
    assert b"Patients are not being emailed" in clinician_client.get("/patients/").content
