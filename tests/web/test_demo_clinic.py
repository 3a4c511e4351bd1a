"""The demo clinic (spinepath demo) and the server behind `make run` (spinepath serve)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from spinepath.consultations.models import CandidacyDecision, Encounter
from spinepath.consultations.services import decision_preview
from spinepath.demo import DEMO_PASSWORD, DEMO_USERS, demo_patients, load_demo
from spinepath.patients.models import Patient

ROOT = Path(__file__).resolve().parents[2]
SPINEPATH = ROOT / ".venv" / "bin" / "spinepath"
REVIEW = date(2026, 11, 24)
DECISIONS = {
    "candidate",
    "not_candidate",
    "needs_workup",
    "needs_imaging",
    "refer_surgical",
    "refer_urgent",
}


def test_the_demo_patients_reach_every_decision(db: Any) -> None:
    load_demo(review=REVIEW)
    reached = set()
    for given, family, expected, document, _sign in demo_patients(REVIEW):
        encounter = Encounter.objects.get(patient__external_id=document["patient"]["id"])
        assert encounter.patient.display_name == f"{given} {family}"
        _workup, decision = decision_preview(encounter)
        assert decision.decision == expected, given
        reached.add(decision.decision)
    assert reached == DECISIONS
    assert len(demo_patients(REVIEW)) >= 12


def test_loading_the_demo_again_changes_nothing(db: Any) -> None:
    load_demo(review=REVIEW)
    counts = (Patient.objects.count(), Encounter.objects.count(), CandidacyDecision.objects.count())
    load_demo(review=REVIEW)
    assert (
        Patient.objects.count(),
        Encounter.objects.count(),
        CandidacyDecision.objects.count(),
    ) == counts


def test_every_demo_login_signs_in_with_its_role(db: Any) -> None:
    logins = load_demo(review=REVIEW)
    assert {role for _user, role, _pw in logins} == {"clinician", "coordinator", "clinic_admin"}
    for username, role, _first, _last in DEMO_USERS:
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD), username
        page = client.get("/patients/")
        assert page.status_code == 200
        assert role.replace("_", " ") in page.content.decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fresh_install(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SPINEPATH_VAR"] = str(tmp_path)
    return env


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_spinepath_demo_prints_the_logins(fresh_install: dict[str, str]) -> None:
    result = subprocess.run(
        [str(SPINEPATH), "demo"], env=fresh_install, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"password for all: {DEMO_PASSWORD}" in result.stdout
    for username, role, _first, _last in DEMO_USERS:
        assert re.search(rf"{re.escape(username)}\s+{role}", result.stdout)
    assert (Path(fresh_install["SPINEPATH_VAR"]) / "spinepath.sqlite3").exists()


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_spinepath_serve_serves_the_pages_and_their_assets(fresh_install: dict[str, str]) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "spinepath.cli", "serve", "--port", str(port)],
        env=fresh_install,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        page = _get_when_up(f"{base}/accounts/login/")
        assert "Sign in" in page
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
        assert any(a.endswith(".css") for a in assets) and any("htmx" in a for a in assets)
        for asset in assets:
            with urllib.request.urlopen(base + asset, timeout=5) as response:
                assert response.status == 200
        assert not re.search(r'(?:src|href)="https?://', page)  # nothing from the internet
    finally:
        server.terminate()
        server.wait(timeout=10)


def _get_when_up(url: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
