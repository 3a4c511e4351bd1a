"""The demo clinic (spinepath demo) and the server behind `make run` (spinepath serve)."""

from __future__ import annotations

import html
import re
import sqlite3
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from server_helpers import (
    SPINEPATH,
    free_port,
    fresh_environment,
    get_when_up,
    installed_environment,
    serving,
)
from shared_world import on_the_suite_day, shared_world

from spinepath.cli import main
from spinepath.consultations.actions import decision_preview
from spinepath.consultations.models import CandidacyDecision, Encounter
from spinepath.demo import DEMO_PASSWORD, DEMO_USERS, demo_patients, load_demo
from spinepath.outcomes.synthetic import generate_cohort
from spinepath.patients.models import Patient

REVIEW = date(2026, 11, 24)
DECISIONS = {
    "candidate",
    "not_candidate",
    "needs_workup",
    "needs_imaging",
    "refer_surgical",
    "refer_urgent",
}


def _demo_sign_in(client: Any, username: str) -> bool:
    """A demo login signs in with its password alone (demo mode waives the second step)."""
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    return response.status_code == 302 and client.get("/patients/").status_code == 200


@pytest.fixture(autouse=True)
def demo_mode(settings: Any) -> None:
    """These tests are of the demo clinic, which runs in demo mode."""
    settings.SPINEPATH_DEMO = True


@pytest.fixture(scope="module")
def demo_for_the_module(
    django_db_setup: Any, django_db_blocker: Any
) -> Iterator[list[tuple[str, str, str]]]:
    """The demo clinic, loaded once for the module's tests (tests/shared_world.py)."""
    with shared_world(django_db_blocker):
        with on_the_suite_day():
            logins = load_demo(review=REVIEW)
        yield logins


@pytest.fixture
def demo_clinic(db: Any, demo_for_the_module: list[Any]) -> list[tuple[str, str, str]]:
    """The demo clinic as `spinepath demo` loads it (load_demo; the logins it returned); each
    test's changes are rolled back after it."""
    return demo_for_the_module


def test_the_demo_patients_reach_every_decision(demo_clinic: Any) -> None:
    reached = set()
    for given, family, expected, document, _sign in demo_patients(REVIEW):
        encounter = Encounter.objects.get(patient__external_id=document["patient"]["id"])
        assert encounter.patient.display_name == f"{given} {family}"
        _workup, decision = decision_preview(encounter)
        assert decision.decision == expected, given
        reached.add(decision.decision)
    assert reached == DECISIONS
    assert len(demo_patients(REVIEW)) >= 12


def test_loading_the_demo_again_changes_nothing(demo_clinic: Any) -> None:
    counts = (Patient.objects.count(), Encounter.objects.count(), CandidacyDecision.objects.count())
    load_demo(review=REVIEW)
    assert (
        Patient.objects.count(),
        Encounter.objects.count(),
        CandidacyDecision.objects.count(),
    ) == counts


def test_every_demo_login_signs_in_with_its_role(demo_clinic: Any) -> None:
    logins = demo_clinic
    assert {role for _user, role, _pw in logins} == {"clinician", "coordinator", "clinic_admin"}
    for username, role, _first, _last in DEMO_USERS:
        client = Client()
        assert _demo_sign_in(client, username)
        page = client.get("/patients/")
        assert page.status_code == 200
        assert role.replace("_", " ") in page.content.decode()


# What a reader of each demo chart expects from the name (the chart shows "Sex").
DEMO_SEXES = {
    "Maria Lopez": "Female",
    "James Carter": "Male",
    "Priya Shah": "Female",
    "Tom Becker": "Male",
    "Aisha Bello": "Female",
    "Daniel Kim": "Male",
    "Helen Novak": "Female",
    "Omar Haddad": "Male",
    "Grace Taylor": "Female",
    "Luis Moreno": "Male",
    "Sofia Rossi": "Female",
    "Ben Walsh": "Male",
    "Elena Petrova": "Female",
    "Marcus Green": "Male",
    "Ruth Adler": "Female",
    "Nadia Farouk": "Female",
}
# The pathway's order: a later step never carries an earlier date than the step before it.
PATHWAY_ORDER = ["consultation", "decision", "plan", "injection", "follow-up"]


def _demo_client() -> Client:
    client = Client()
    assert _demo_sign_in(client, "dr.rivera")
    return client


def _timeline(page: str) -> list[tuple[str, str, str]]:
    """(date, kind, text) of each timeline entry, oldest first, as the chart shows them."""
    start = page.index('<ul class="timeline')
    block = page[start : page.index("</ul>", start)]
    entries = []
    for item in re.findall(r"<li>(.*?)</li>", block, re.S):
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split())
        day, kind, rest = text.split(" ", 2)
        entries.append((day, kind, rest))
    return entries[::-1]


def test_every_demo_patients_history_reads_in_order(demo_clinic: Any) -> None:
    client = _demo_client()
    treated = 0
    for patient in Patient.objects.filter(external_id__startswith="demo-"):
        page = client.get(f"/patients/{patient.pk}/").content.decode()
        steps = [(day, kind) for day, kind, _ in _timeline(page) if kind in PATHWAY_ORDER]
        assert steps, patient.display_name
        ranks = [PATHWAY_ORDER.index(kind) for _day, kind in steps]
        assert ranks == sorted(ranks), f"{patient.display_name}: {steps}"
        days = [day for day, _kind in steps]
        assert days == sorted(days), f"{patient.display_name}: {steps}"
        treated += "injection" in {kind for _day, kind in steps}
    assert treated == 4  # Elena Petrova, Marcus Green, Ruth Adler, Nadia Farouk


def test_a_treated_demo_patient_shows_each_step_on_its_own_day(demo_clinic: Any) -> None:
    elena = Patient.objects.get(given_name="Elena", family_name="Petrova")
    page = _demo_client().get(f"/patients/{elena.pk}/").content.decode()
    kinds = [kind for _day, kind, _ in _timeline(page) if kind in PATHWAY_ORDER]
    assert kinds == ["consultation", "decision", "plan", "injection", *["follow-up"] * 3]
    days = {kind: day for day, kind, _ in _timeline(page)}
    assert days["consultation"] == days["decision"] < days["plan"] < days["injection"]
    plan = next(text for _day, kind, text in _timeline(page) if kind == "plan")
    assert plan == "Plan v1 accepted by Elena Petrova"


def test_the_demo_fills_the_ichom_measures_so_the_pages_show_them(demo_clinic: Any) -> None:
    """Every demo consultation has its ICHOM baseline and case-mix; the treated patients'
    check-ins have back and leg pain, work and medication (PATHWAY.md section 11)."""
    from spinepath.followup.models import OutcomeMeasurement

    for encounter in Encounter.objects.filter(patient__external_id__startswith="demo-"):
        assert encounter.back_pain_nrs is not None and encounter.work_status, encounter
        assert encounter.height_cm and encounter.weight_kg and encounter.comorbidities
    measured = OutcomeMeasurement.objects.filter(patient__external_id__startswith="demo-")
    assert measured.count() == 5  # Elena 3, Marcus 1, Nadia Farouk 1 (Ruth Adler not yet)
    assert all(m.back_pain_nrs is not None and m.analgesic_use for m in measured)
    client = _demo_client()
    elena = Encounter.objects.get(patient__given_name="Elena")
    page = html.unescape(client.get(f"/consultations/{elena.pk}/history/").content.decode())
    assert "kg/m²" in page
    visit = measured.filter(patient=elena.patient).first()
    assert visit is not None
    shown = html.unescape(client.get(f"/visits/{visit.visit_id}/").content.decode())
    assert "Back pain" in shown and f"{visit.back_pain_nrs} / 10" in shown


def test_demo_names_and_sexes_agree(demo_clinic: Any) -> None:
    client = _demo_client()
    shown = {}
    for patient in Patient.objects.filter(external_id__startswith="demo-"):
        page = client.get(f"/patients/{patient.pk}/").content.decode()
        shown[patient.display_name] = re.search(r"<dt>Sex</dt><dd>(.*?)</dd>", page).group(1)
    assert shown == DEMO_SEXES


def test_the_hand_made_patients_come_before_the_synthetic_cohort(demo_clinic: Any) -> None:
    generate_cohort(60)
    page = _demo_client().get("/patients/").content.decode()
    rows = re.findall(r"<tr><td><a [^>]*>([^<]+)</a>(.*?)</td>", page)
    first = rows[: len(DEMO_SEXES)]
    assert {name for name, _badge in first} == {
        ", ".join(reversed(name.split(" "))) for name in DEMO_SEXES
    }
    assert all("synthetic" not in badge for _name, badge in first)
    assert rows[len(DEMO_SEXES) :] and all("synthetic" in b for _n, b in rows[len(DEMO_SEXES) :])


def test_spinepath_demo_twice_adds_nothing_and_says_so(
    db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    counts = (Patient.objects.count(), Encounter.objects.count(), CandidacyDecision.objects.count())
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "Loaded the demo clinic: 16 patients to try" in first
    assert "300 synthetic treated patients" in first
    assert "already loaded: nothing was added or changed" in second
    assert (
        Patient.objects.count(),
        Encounter.objects.count(),
        CandidacyDecision.objects.count(),
    ) == counts
    for out in (first, second):
        assert "Open http://127.0.0.1:8000/ once the server says it is serving" in out
        assert re.search(r"http://127\.0\.0\.1:8000/ +public:", out)
        assert re.search(r"http://127\.0\.0\.1:8000/accounts/login/ +staff:", out)
        assert "Database: " in out and "Mail:     " in out


@pytest.fixture
def fresh_install(tmp_path: Path) -> dict[str, str]:
    return fresh_environment(tmp_path)


@pytest.fixture
def migrated_install(tmp_path: Path, migrated_database: Path) -> dict[str, str]:
    return installed_environment(tmp_path, migrated_database)


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_spinepath_demo_prints_the_logins(fresh_install: dict[str, str]) -> None:
    result = subprocess.run(
        [str(SPINEPATH), "demo"], env=fresh_install, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"password for all: {DEMO_PASSWORD}" in result.stdout
    for username, role, _first, _last in DEMO_USERS:
        assert re.search(rf"{re.escape(username)}\s+{role}", result.stdout)
    database = Path(fresh_install["SPINEPATH_VAR"]) / "spinepath.sqlite3"
    assert database.exists()
    assert f"Database: SQLite file {database}" in result.stdout
    assert f"Mail:     {Path(fresh_install['SPINEPATH_VAR']) / 'mail'}" in result.stdout


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_spinepath_serve_serves_the_pages_and_their_assets(
    migrated_install: dict[str, str],
) -> None:
    # As after `make run`'s `spinepath demo`: the database is migrated (a new installation's
    # migration is tested with `spinepath demo` above).
    with serving(migrated_install) as base:
        page = get_when_up(f"{base}/accounts/login/")
        assert "Sign in" in page
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
        assert any(a.endswith(".css") for a in assets) and any("htmx" in a for a in assets)
        for asset in assets:
            with urllib.request.urlopen(base + asset, timeout=5) as response:
                assert response.status == 200
        assert not re.search(r'(?:src|href)="https?://', page)  # nothing from the internet


def _post(url: str, data: dict[str, str], headers: dict[str, str]) -> int:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.skipif(not SPINEPATH.exists(), reason="the spinepath command is not installed")
def test_behind_a_reverse_proxy_https_and_the_client_address_are_seen(
    migrated_install: dict[str, str],
) -> None:
    port = free_port()
    env = {
        **migrated_install,
        "SPINEPATH_HTTPS": "1",
        "SPINEPATH_TRUSTED_PROXY": "127.0.0.1",
        "SPINEPATH_BASE_URL": f"https://127.0.0.1:{port}",
    }
    via_proxy = {"X-Forwarded-Proto": "https"}
    with serving(env, port=port, headers=via_proxy) as base:
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}/accounts/login/", headers=via_proxy), timeout=10
        ) as page:
            assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
            assert "Secure" in page.headers["Set-Cookie"]
            cookie = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"]).group(1)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
        form = {"username": "nobody", "password": "wrong-password", "csrfmiddlewaretoken": ""}
        form["csrfmiddlewaretoken"] = token.group(1)
        browser = {"Cookie": f"csrftoken={cookie}", "Origin": f"https://127.0.0.1:{port}"}
        # Without the proxy's word the request is plain HTTP: it is sent to HTTPS, not served.
        plain = urllib.request.build_opener(_NoRedirect)
        try:
            plain.open(f"{base}/accounts/login/", timeout=10)
            raise AssertionError("plain HTTP was served")
        except urllib.error.HTTPError as error:
            assert error.code == 301
            assert error.headers["Location"].startswith("https://")
        proxied = {**browser, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        assert _post(f"{base}/accounts/login/", form, proxied) == 200  # the form, with its error
    database = sqlite3.connect(Path(migrated_install["SPINEPATH_VAR"]) / "spinepath.sqlite3")
    failed = "SELECT address FROM audit_auditevent WHERE action = 'sign_in_failed'"
    addresses = [row[0] for row in database.execute(failed)]
    assert addresses == ["203.0.113.7"]  # the throttle and the audit see the client, not the proxy


def test_the_demo_loads_only_in_demo_mode(
    db: Any, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.SPINEPATH_DEMO = False
    assert main(["demo"]) == 2
    assert "loads only in demo mode" in capsys.readouterr().err
    assert not Patient.objects.exists()


def test_demo_logins_cannot_sign_in_outside_demo_mode(demo_clinic: Any, settings: Any) -> None:
    settings.SPINEPATH_DEMO = False
    client = Client()
    response = client.post("/accounts/login/", {"username": "dr.rivera", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_demo_mode_says_so_on_every_page(demo_clinic: Any) -> None:
    client = Client()
    assert b"Demo mode." in client.get("/").content
    assert _demo_sign_in(client, "dr.rivera")
    assert b"without the second step" in client.get("/patients/").content
