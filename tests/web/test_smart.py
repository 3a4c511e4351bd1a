"""SMART App Launch 2.0 and SMART Backend Services (issue 28): apps the clinic admin registers,
opened from a chart (EHR launch) or on their own (standalone, with a patient picker), approved
by signed-in staff only, PKCE for public apps, SMART scopes enforced on the FHIR API (a
patient/ scope opens the launch patient's records only), refresh tokens that rotate, revocation,
backend services with a signed JWT - and every grant in the audit log.

The SMART Python client (fhirclient) completes an EHR launch and a backend services token
against a live server at the end of the module; the other tests drive the endpoints with
Django's test client, as an app's own HTTP calls would."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from treatment_helpers import treated
from web_helpers import acting, signed_in

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.fhir_api.models import LaunchContext, SmartApp
from spinepath.fhir_api.smart.launch import launch_create
from spinepath.fhir_api.smart.registry import Registration, smart_app_create, smart_app_revoke
from spinepath.patients.models import Patient

REDIRECT = "https://app.example.org/callback"
LAUNCH_URL = "https://app.example.org/launch"


def fhir_base() -> str:
    return f"{settings.SPINEPATH_BASE_URL}/fhir"


def register(
    kind: str = SmartApp.PUBLIC,
    scopes: str = "launch launch/patient patient/*.rs user/*.rs offline_access",
    name: str = "Spine outcomes app",
    jwks: str = "",
) -> tuple[SmartApp, str]:
    backend = kind == SmartApp.BACKEND
    return smart_app_create(
        actor=Actor.system(),
        registration=Registration(
            name=name,
            kind=kind,
            redirect_uris="" if backend else REDIRECT,
            launch_url="" if backend else LAUNCH_URL,
            scopes=scopes,
            jwks=jwks,
        ),
    )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def asking(app: SmartApp, scope: str, challenge: str | None, **more: str) -> dict[str, str]:
    """An app's authorization request, as its address carries it."""
    params = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "st-" + secrets.token_hex(4),
        "aud": fhir_base(),
        **more,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params


def answered(sent: Any) -> dict[str, str]:
    """What the app receives at its redirect URI: from a redirect (the answer to the consent
    form), or from the "Back to the app" link of the page a request that cannot be granted
    shows the staff member (never a redirect from a page reached by a form)."""
    if isinstance(sent, str):
        location = sent
    elif sent.status_code == 302:
        location = sent["Location"]
    else:
        assert sent.status_code == 200, sent.content[:500]
        found = re.search(rb'<a class="btn" href="([^"]+)">Back to the app', sent.content)
        assert found, sent.content[:500]
        location = html.unescape(found.group(1).decode())
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def shown(page: Any) -> str:
    """The consent page's digest of the request it showed (what its Allow binds)."""
    found = re.search(rb'name="shown" value="(\w+)"', page.content)
    assert found, page.content[:500]
    return found.group(1).decode()


def approve(client: Client, params: dict[str, str], allow: str = "yes") -> dict[str, str]:
    """The staff member opens the consent page and answers it; what the app receives."""
    page = client.get("/smart/authorize?" + urlencode(params))
    assert page.status_code == 200, page.content[:500]
    assert b"Allow" in page.content
    answer = client.post("/smart/authorize", {**params, "allow": allow, "shown": shown(page)})
    assert answer.status_code == 302, answer.content[:500]
    return answered(answer)


def token(data: dict[str, str], status: int = 200, **headers: str) -> dict[str, Any]:
    response = Client().post("/smart/token", data, **headers)
    assert response.status_code == status, response.content[:500]
    return dict(json.loads(response.content))


def exchange(app: SmartApp, code: str, verifier: str | None) -> dict[str, Any]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": app.application.client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return token(data)


def bearer(access_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {access_token}")


def fhir(client: Client, path: str, status: int = 200) -> dict[str, Any]:
    response = client.get("/fhir" + path)
    assert response.status_code == status, (path, response.content[:400])
    return dict(json.loads(response.content))


def launched(clinician: Any, app: SmartApp, patient: Patient, encounter: Any = None) -> str:
    return launch_create(actor=acting(clinician), app=app, patient=patient, encounter=encounter)


def granted_for(client: Client, app: SmartApp, scope: str, **more: str) -> dict[str, Any]:
    """The whole authorization code flow with PKCE: the token response."""
    verifier, challenge = pkce()
    params = asking(app, scope, challenge, **more)
    got = approve(client, params)
    assert got["state"] == params["state"], got
    return exchange(app, got["code"], verifier)


@pytest.fixture
def patient(clinician: Any) -> Patient:
    return treated(clinician, 200)


@pytest.fixture
def other(clinician: Any) -> Patient:
    return treated(clinician, 201, email="other@example.org")


@pytest.fixture
def app(db: Any) -> SmartApp:
    return register()[0]


# --- Discovery -------------------------------------------------------------------------------


def test_the_smart_configuration_names_the_endpoints_without_a_token(db: Any) -> None:
    for path in ("/fhir/.well-known/smart-configuration", "/.well-known/smart-configuration"):
        document = json.loads(Client().get(path).content)
        site = settings.SPINEPATH_BASE_URL
        assert document["authorization_endpoint"] == f"{site}/smart/authorize"
        assert document["token_endpoint"] == f"{site}/smart/token"
        assert document["revocation_endpoint"] == f"{site}/smart/revoke"
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert set(document["grant_types_supported"]) == {
            "authorization_code",
            "refresh_token",
            "client_credentials",
        }
        assert {"none", "client_secret_basic", "private_key_jwt"} <= set(
            document["token_endpoint_auth_methods_supported"]
        )
        assert {
            "launch-ehr",
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "context-ehr-patient",
            "context-standalone-patient",
            "permission-patient",
            "permission-user",
            "permission-offline",
            "permission-v2",
        } <= set(document["capabilities"])


def test_the_capability_statement_carries_the_oauth_addresses(db: Any) -> None:
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    statement = json.loads(Client().get("/fhir/metadata").content)
    CapabilityStatement.model_validate(statement)
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    [uris] = security["extension"]
    assert uris["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    named = {e["url"]: e["valueUri"] for e in uris["extension"]}
    assert named["authorize"].endswith("/smart/authorize")
    assert named["token"].endswith("/smart/token")


# --- EHR launch ------------------------------------------------------------------------------


def test_an_ehr_launch_from_the_chart_reads_that_patient(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    chart = clinician_client.get(f"/patients/{patient.pk}/")
    assert f"Open in {app.name}".encode() in chart.content
    opened = clinician_client.get(f"/patients/{patient.pk}/smart-launch/?app={app.pk}")
    assert opened.status_code == 302
    sent = urlsplit(opened["Location"])
    assert f"{sent.scheme}://{sent.netloc}{sent.path}" == LAUNCH_URL
    query = {k: v[0] for k, v in parse_qs(sent.query).items()}
    assert query["iss"] == fhir_base()
    granted = granted_for(clinician_client, app, "launch patient/*.rs", launch=query["launch"])
    assert granted["patient"] == str(patient.pk)
    assert granted["scope"] == "launch patient/*.rs"
    assert granted["need_patient_banner"] is True
    assert "refresh_token" not in granted  # no offline_access asked
    reader = bearer(granted["access_token"])
    assert fhir(reader, f"/Patient/{patient.pk}")["id"] == str(patient.pk)
    observations = fhir(reader, f"/Observation?patient={patient.pk}")
    assert observations["total"] >= 1
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient=patient).first()
    assert event is not None and event.user_id == clinician.pk
    assert event.detail["api_client"] == f"(SMART app: {app.name})"


def test_the_review_page_opens_the_app_with_the_consultation(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    encounter = patient.encounters.get()
    page = clinician_client.get(f"/consultations/{encounter.pk}/review/")
    assert f"Open in {app.name}".encode() in page.content
    address = f"/patients/{patient.pk}/smart-launch/?app={app.pk}&encounter={encounter.pk}"
    assert address.replace("&", "&amp;").encode() in page.content
    opened = clinician_client.get(address)
    launch = parse_qs(urlsplit(opened["Location"]).query)["launch"][0]
    granted = granted_for(clinician_client, app, "launch patient/*.rs", launch=launch)
    assert (granted["patient"], granted["encounter"]) == (str(patient.pk), str(encounter.pk))


def test_a_launch_is_single_use_short_lived_and_the_launching_staff_members(
    clinician: Any,
    clinician_client: Client,
    coordinator_client: Client,
    patient: Patient,
    app: SmartApp,
) -> None:
    launch = launched(clinician, app, patient)
    # Another staff member cannot approve the clinician's launch.
    params = asking(app, "launch patient/*.rs", pkce()[1], launch=launch)
    refused = coordinator_client.get("/smart/authorize?" + urlencode(params))
    assert answered(refused)["error"] == "invalid_request"
    assert "another staff member" in answered(refused)["error_description"]
    granted_for(clinician_client, app, "launch patient/*.rs", launch=launch)
    again = clinician_client.get("/smart/authorize?" + urlencode(params))
    assert "used already" in answered(again)["error_description"]
    late = launched(clinician, app, patient)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        expired = clinician_client.get("/smart/authorize?" + urlencode({**params, "launch": late}))
    assert "expired" in answered(expired)["error_description"]
    forged = clinician_client.get("/smart/authorize?" + urlencode({**params, "launch": "x" * 30}))
    assert "not one of this app's" in answered(forged)["error_description"]


# --- Standalone launch -------------------------------------------------------------------------


def test_a_standalone_launch_asks_staff_to_choose_the_patient(
    clinician_client: Client, patient: Patient, other: Patient, app: SmartApp
) -> None:
    verifier, challenge = pkce()
    params = asking(app, "launch/patient patient/*.rs offline_access", challenge)
    picker = clinician_client.get("/smart/authorize?" + urlencode(params))
    assert picker.status_code == 200 and b"Choose the patient" in picker.content
    found = clinician_client.get(
        "/smart/authorize?" + urlencode({**params, "q": patient.family_name})
    )
    assert found.status_code == 200 and patient.mrn.encode() in found.content
    listed = AuditEvent.objects.filter(action=AuditEvent.VIEW).first()
    assert listed is not None and patient.mrn in listed.detail["shown"]
    chosen = clinician_client.post("/smart/authorize", {**params, "pick": patient.pk})
    assert chosen.status_code == 302 and chosen["Location"].startswith("/smart/authorize?")
    consent = clinician_client.get(chosen["Location"])
    assert consent.status_code == 200
    assert f"{patient.family_name}, {patient.given_name}".encode() in consent.content
    assert b"Read and search every kind of record of" in consent.content
    assert b"keep its access after you close it" in consent.content
    viewed = AuditEvent.objects.filter(action=AuditEvent.VIEW).first()
    assert viewed is not None and viewed.patient_id == patient.pk
    got = answered(
        clinician_client.post(
            "/smart/authorize", {**params, "allow": "yes", "shown": shown(consent)}
        )["Location"]
    )
    granted = exchange(app, got["code"], verifier)
    assert granted["patient"] == str(patient.pk) and granted["refresh_token"]


def test_openid_scopes_are_left_out_of_what_is_granted(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    launch_value = launched(clinician, app, patient)
    granted = granted_for(
        clinician_client, app, "openid fhirUser launch patient/*.rs", launch=launch_value
    )
    assert granted["scope"] == "launch patient/*.rs" and "id_token" not in granted


# --- PKCE, redirect URIs, who may authorize ------------------------------------------------------


def test_a_public_app_must_use_pkce_s256(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    without = clinician_client.get("/smart/authorize?" + urlencode(asking(app, "user/*.rs", None)))
    assert answered(without)["error"] == "invalid_request"
    plain = asking(app, "user/*.rs", None, code_challenge="a" * 43, code_challenge_method="plain")
    refused = answered(clinician_client.get("/smart/authorize?" + urlencode(plain)))
    assert "S256" in refused["error_description"]
    # A code obtained with a challenge opens nothing without its verifier, nor with another.
    _verifier, challenge = pkce()
    got = approve(clinician_client, asking(app, "user/*.rs", challenge))
    data = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": REDIRECT,
        "client_id": app.application.client_id,
    }
    assert token(data, 400)["error"] == "invalid_request"
    assert token({**data, "code_verifier": pkce()[0]}, 400)["error"] == "invalid_grant"


def test_a_redirect_uri_not_registered_is_refused_on_a_page_never_followed(
    clinician_client: Client, app: SmartApp
) -> None:
    params = asking(app, "user/*.rs", pkce()[1], redirect_uri="https://evil.example.net/cb")
    page = clinician_client.get("/smart/authorize?" + urlencode(params))
    assert page.status_code == 400 and b"redirect_uri: not one registered" in page.content
    unknown = clinician_client.get(
        "/smart/authorize?" + urlencode({**params, "client_id": "nobody"})
    )
    assert unknown.status_code == 400 and b"client_id" in unknown.content
    # The code is bound to the redirect URI it was asked with.
    verifier, challenge = pkce()
    got = approve(clinician_client, asking(app, "user/*.rs", challenge))
    moved = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": "https://app.example.org/other",
        "client_id": app.application.client_id,
        "code_verifier": verifier,
    }
    assert token(moved, 400)["error"] in ("invalid_request", "invalid_grant")


def test_only_signed_in_staff_past_the_second_factor_authorize(
    clinician: Any, coordinator: Any, patient: Patient, app: SmartApp
) -> None:
    params = asking(app, "launch/patient patient/*.rs", pkce()[1])
    address = "/smart/authorize?" + urlencode(params)
    anonymous = Client().get(address)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    # A patient signed in on their own pages has no staff account: the staff sign-in.
    from spinepath.portal.services import PATIENT_KEY, SEEN_KEY

    mine = Client()
    session = mine.session
    session[PATIENT_KEY] = patient.pk
    session[SEEN_KEY] = int(timezone.now().timestamp())
    session.save()
    mine.cookies["sessionid"] = session.session_key
    assert mine.get(address)["Location"].startswith("/accounts/login/")
    assert mine.post("/smart/authorize", {**params, "allow": "yes"}).status_code in (302, 403)
    # Signed in, but before the second factor: held at it.
    halfway = Client()
    halfway.force_login(clinician)
    assert halfway.get(address)["Location"].startswith("/accounts/second-factor")
    # A coordinator may choose a patient and approve for themselves, never the system's scopes.
    coordinator_client = signed_in(coordinator)
    assert coordinator_client.get(address).status_code == 200
    system = asking(app, "system/*.rs", pkce()[1])
    refused = coordinator_client.get("/smart/authorize?" + urlencode(system))
    assert answered(refused)["error"] == "invalid_scope"
    assert not LaunchContext.objects.exists()


def test_scopes_not_registered_or_unreadable_are_refused_naming_them(
    clinician_client: Client, db: Any
) -> None:
    narrow = register(scopes="launch/patient patient/Observation.rs", name="Pain diary")[0]
    for scope, words in [
        ("launch/patient patient/*.rs", "patient/*.rs is not among the scopes"),
        ("launch/patient patient/Observation.cruds", "not among the scopes"),
        ("launch/patient patient/Spaceship.rs", "Spaceship is not a resource type"),
        ("launch/patient patient/Observation.sr", "letters of cruds in that order"),
        ("user/Observation.rs?category=vital-signs", "search parameters"),
        ("", "ask for at least one scope"),
    ]:
        response = clinician_client.get(
            "/smart/authorize?" + urlencode(asking(narrow, scope, pkce()[1]))
        )
        got = answered(response)
        assert got["error"] == "invalid_scope" and words in got["error_description"], got
    wrong_aud = asking(
        narrow, "launch/patient patient/Observation.rs", pkce()[1], aud="https://x.org/fhir"
    )
    got = answered(clinician_client.get("/smart/authorize?" + urlencode(wrong_aud)))
    assert "aud" in got["error_description"]


# --- Scopes on the FHIR API ---------------------------------------------------------------------


def test_a_patient_scope_opens_the_launch_patient_only(
    clinician: Any, clinician_client: Client, patient: Patient, other: Patient, app: SmartApp
) -> None:
    granted = granted_for(
        clinician_client, app, "launch patient/*.rs", launch=launched(clinician, app, patient)
    )
    reader = bearer(granted["access_token"])
    theirs = fhir(bearer(_clinic_token()), f"/Patient/{other.pk}/$everything")
    tampered = [
        f"/Patient/{other.pk}",
        f"/Patient/{other.pk}/$everything",
        f"/Observation?patient={other.pk}",
        f"/Condition?subject=Patient/{other.pk}",
        f"/Patient?identifier={other.mrn}",
    ] + [
        f"/{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in theirs["entry"]
        if e["resource"]["resourceType"] in ("Observation", "Procedure", "Encounter", "Condition")
    ]
    for path in tampered:
        outcome = fhir(reader, path, 403)
        assert outcome["resourceType"] == "OperationOutcome"
        assert f"Patient/{patient.pk}'s records only" in outcome["issue"][0]["diagnostics"]
    # A search naming no patient is made for the launch patient; a Patient search finds only them.
    mine = fhir(reader, "/Observation")
    assert mine["total"] >= 1
    assert {e["resource"]["subject"]["reference"] for e in mine["entry"]} == {
        f"Patient/{patient.pk}"
    }
    found = fhir(reader, f"/Patient?name={other.family_name}")
    assert [e["resource"]["id"] for e in found["entry"]] == [str(patient.pk)]
    for kind in ("Condition", "Procedure", "Encounter", "CarePlan", "Coverage"):
        fhir(reader, f"/{kind}")
    refused = AuditEvent.objects.filter(action=AuditEvent.REFUSED, user=clinician).count()
    assert refused == len(tampered)
    assert not AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient=other, user=clinician)


def _clinic_token() -> str:
    from spinepath.fhir_api.services import token_create

    return token_create(actor=Actor.system(), name="ehr", can_write=False)[1]


def test_a_resource_type_scope_opens_that_type_only_and_rs_never_writes(
    clinician: Any, clinician_client: Client, patient: Patient
) -> None:
    diary = register(scopes="launch patient/Observation.rs", name="Pain diary")[0]
    granted = granted_for(
        clinician_client,
        diary,
        "launch patient/Observation.rs",
        launch=launched(clinician, diary, patient),
    )
    reader = bearer(granted["access_token"])
    assert fhir(reader, f"/Observation?patient={patient.pk}")["total"] >= 1
    for path in (f"/Patient/{patient.pk}", f"/Condition?patient={patient.pk}", "/Procedure"):
        assert "do not allow" in fhir(reader, path, 403)["issue"][0]["diagnostics"]
    stored = reader.post(
        "/fhir/QuestionnaireResponse",
        json.dumps(
            {
                "resourceType": "QuestionnaireResponse",
                "subject": {"reference": f"Patient/{patient.pk}"},
            }
        ),
        content_type="application/fhir+json",
    )
    assert stored.status_code == 403


def test_a_write_scope_stores_answers_for_the_launch_patient_only(
    clinician: Any, clinician_client: Client
) -> None:
    from spinepath.followup.models import OutcomeMeasurement

    patient = treated(clinician, 40)  # the 6-week window is open
    other = treated(clinician, 41, email="b@example.org")
    app = register(
        scopes="launch patient/Questionnaire.rs patient/QuestionnaireResponse.cruds",
        name="Check-in app",
    )[0]
    granted = granted_for(
        clinician_client,
        app,
        "launch patient/QuestionnaireResponse.c",
        launch=launched(clinician, app, patient),
    )
    writer = bearer(granted["access_token"])

    def answers(whose: Patient) -> str:
        return json.dumps(
            {
                "resourceType": "QuestionnaireResponse",
                "status": "completed",
                "subject": {"reference": f"Patient/{whose.pk}"},
                "item": [{"linkId": "pain", "answer": [{"valueInteger": 30}]}],
            }
        )

    theirs = writer.post(
        "/fhir/QuestionnaireResponse", answers(other), content_type="application/fhir+json"
    )
    assert theirs.status_code == 403
    stored = writer.post(
        "/fhir/QuestionnaireResponse", answers(patient), content_type="application/fhir+json"
    )
    assert stored.status_code == 201, stored.content
    assert OutcomeMeasurement.objects.filter(patient=patient).count() == 1
    assert not OutcomeMeasurement.objects.filter(patient=other).exists()
    # .c never reads
    assert fhir(writer, f"/QuestionnaireResponse?patient={patient.pk}", 403)


def test_a_user_scope_reads_any_patient_as_the_staff_member_while_their_account_lasts(
    coordinator: Any, patient: Patient, other: Patient
) -> None:
    app, secret = register(kind=SmartApp.CONFIDENTIAL, scopes="user/*.rs", name="Registry sync")
    client = signed_in(coordinator)
    params = asking(app, "user/*.rs", None)  # PKCE is optional for a confidential app
    got = approve(client, params)
    basic = base64.b64encode(f"{app.application.client_id}:{secret}".encode()).decode()
    data = {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": REDIRECT}
    assert token(data, 401)["error"] == "invalid_client"  # no secret, no token
    granted = token(data, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert "patient" not in granted
    reader = bearer(granted["access_token"])
    for someone in (patient, other):
        assert fhir(reader, f"/Patient/{someone.pk}")["id"] == str(someone.pk)
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient=other).first()
    assert event is not None and (event.user_id, event.username) == (coordinator.pk, "coord")
    assert event.detail["api_client"] == "(SMART app: Registry sync)"
    coordinator.is_active = False
    coordinator.save()
    fhir(reader, f"/Patient/{patient.pk}", 401)


# --- Refresh, revocation, expiry -----------------------------------------------------------------


def test_refresh_tokens_rotate_and_revocation_closes_them(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    granted = granted_for(
        clinician_client,
        app,
        "launch patient/*.rs offline_access",
        launch=launched(clinician, app, patient),
    )
    client_id = app.application.client_id
    refresh = {"grant_type": "refresh_token", "client_id": client_id}
    renewed = token({**refresh, "refresh_token": granted["refresh_token"]})
    assert renewed["refresh_token"] != granted["refresh_token"]
    assert renewed["patient"] == str(patient.pk)
    assert renewed["scope"] == "launch patient/*.rs offline_access"
    fhir(bearer(granted["access_token"]), f"/Patient/{patient.pk}", 401)  # the old one is gone
    reader = bearer(renewed["access_token"])
    assert fhir(reader, f"/Observation?patient={patient.pk}")["total"] >= 1
    # The used refresh token is spent; replaying it revokes its whole family.
    assert token({**refresh, "refresh_token": granted["refresh_token"]}, 400)["error"] == (
        "invalid_grant"
    )
    assert token({**refresh, "refresh_token": renewed["refresh_token"]}, 400)["error"] == (
        "invalid_grant"
    )
    # RFC 7009: the app revokes its access token (and with it its refresh token).
    again = granted_for(
        clinician_client,
        app,
        "launch patient/*.rs offline_access",
        launch=launched(clinician, app, patient),
    )
    revoked = Client().post(
        "/smart/revoke", {"token": again["access_token"], "client_id": client_id}
    )
    assert revoked.status_code == 200
    fhir(bearer(again["access_token"]), f"/Patient/{patient.pk}", 401)
    assert token({**refresh, "refresh_token": again["refresh_token"]}, 400)["error"] == (
        "invalid_grant"
    )
    events = list(AuditEvent.objects.filter(what__startswith=f"SMART app {app.name}:"))
    said = [e.what.split(": ", 1)[1] for e in events]
    assert "access token refreshed with a refresh token" in said
    assert "access token revoked" in said
    assert all(e.patient_id == patient.pk for e in events if "token" in e.what)


def test_revoking_the_app_stops_its_tokens_and_its_refresh(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    granted = granted_for(
        clinician_client,
        app,
        "launch patient/*.rs offline_access",
        launch=launched(clinician, app, patient),
    )
    smart_app_revoke(actor=Actor.system(), app_id=app.pk)
    outcome = fhir(bearer(granted["access_token"]), f"/Patient/{patient.pk}", 401)
    assert outcome["resourceType"] == "OperationOutcome"
    refreshed = token(
        {
            "grant_type": "refresh_token",
            "client_id": app.application.client_id,
            "refresh_token": granted["refresh_token"],
        },
        401,
    )
    assert refreshed["error"] == "invalid_client"
    params = asking(app, "launch/patient patient/*.rs", pkce()[1])
    page = clinician_client.get("/smart/authorize?" + urlencode(params))
    assert page.status_code == 400 and b"revoked" in page.content
    chart = clinician_client.get(f"/patients/{patient.pk}/")
    assert f"Open in {app.name}".encode() not in chart.content


def test_an_expired_token_is_a_401_operation_outcome(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    granted = granted_for(
        clinician_client, app, "launch patient/*.rs", launch=launched(clinician, app, patient)
    )
    assert granted["expires_in"] == 3600
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        outcome = fhir(bearer(granted["access_token"]), f"/Patient/{patient.pk}", 401)
    assert outcome["issue"][0]["code"] == "login"
    fhir(bearer("not-a-token"), f"/Patient/{patient.pk}", 401)


# --- Backend services --------------------------------------------------------------------------


def key_pair(kind: str = "RSA", kid: str = "k1") -> tuple[Any, dict[str, Any]]:
    """A private key and its public JWK, as a backend service makes them."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    if kind == "RSA":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    else:
        private = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "use": "sig"}


def assertion(
    app: SmartApp, private: Any, algorithm: str = "RS384", kid: str = "k1", **changes: Any
) -> str:
    import jwt

    now = int(time.time())
    claims = {
        "iss": app.application.client_id,
        "sub": app.application.client_id,
        "aud": f"{settings.SPINEPATH_BASE_URL}/smart/token",
        "exp": now + 240,
        "jti": secrets.token_hex(12),
    } | changes
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid})


def backend_token(signed: str, scope: str = "system/*.rs", status: int = 200) -> dict[str, Any]:
    return token(
        {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        },
        status,
    )


@pytest.fixture
def backend(db: Any) -> tuple[SmartApp, Any, Any]:
    rsa_key, rsa_public = key_pair("RSA", "k1")
    ec_key, ec_public = key_pair("EC", "k2")
    jwks = json.dumps({"keys": [rsa_public, ec_public]})
    app = register(kind=SmartApp.BACKEND, scopes="system/*.rs", name="Registry", jwks=jwks)[0]
    return app, rsa_key, ec_key


def test_a_backend_service_reads_every_patient_with_a_signed_jwt(
    backend: tuple[SmartApp, Any, Any], patient: Patient, other: Patient
) -> None:
    app, rsa_key, ec_key = backend
    for signed in (assertion(app, rsa_key), assertion(app, ec_key, "ES384", "k2")):
        granted = backend_token(signed)
        assert granted["scope"] == "system/*.rs" and granted["expires_in"] == 300
        assert "refresh_token" not in granted and "patient" not in granted
        reader = bearer(granted["access_token"])
        for someone in (patient, other):
            assert fhir(reader, f"/Patient/{someone.pk}/$everything")["total"] > 1
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient=other).first()
    assert event is not None and event.user_id is None
    assert event.username == "(SMART app: Registry)"
    issued = AuditEvent.objects.filter(
        what="SMART app Registry: backend service access token issued"
    )
    assert issued.count() == 2


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"key": "stranger"}, "not made by a registered key"),
        ({"aud": "https://elsewhere.example.org/token"}, "aud must be"),
        ({"exp": -60}, "exp has passed"),
        ({"exp": 3600}, "more than five minutes"),
        ({"sub": "someone-else"}, "sub must be the client id"),
        ({"iss": "nobody"}, "no app registered here with its keys"),
        ({"algorithm": "HS256"}, "not RS384 or ES384"),
        ({"jti": None}, "jti"),
    ],
)
def test_a_client_assertion_is_refused_naming_what_is_wrong(
    backend: tuple[SmartApp, Any, Any], change: dict[str, Any], words: str
) -> None:
    app, rsa_key, _ = backend
    key, algorithm = rsa_key, "RS384"
    claims: dict[str, Any] = {}
    if change.get("key"):
        key = key_pair("RSA")[0]
    elif change.get("algorithm"):
        key, algorithm = "shared-secret-of-32-bytes-or-more!", change["algorithm"]
    elif "exp" in change:
        claims["exp"] = int(time.time()) + change["exp"]
    else:
        claims = dict(change)
    signed = assertion(app, key, algorithm, **claims)
    if change.get("jti", "") is None:
        import jwt

        body = jwt.decode(signed, options={"verify_signature": False})
        body.pop("jti")
        signed = jwt.encode(body, rsa_key, algorithm="RS384", headers={"kid": "k1"})
    refused = backend_token(signed, status=401)
    assert refused["error"] == "invalid_client" and words in refused["error_description"]


def test_a_client_assertion_is_used_once_and_no_secret_opens_a_backend_service(
    backend: tuple[SmartApp, Any, Any],
) -> None:
    app, rsa_key, _ = backend
    signed = assertion(app, rsa_key)
    backend_token(signed)
    assert "used already" in backend_token(signed, status=401)["error_description"]
    basic = base64.b64encode(f"{app.application.client_id}:".encode()).decode()
    refused = token(
        {"grant_type": "client_credentials", "scope": "system/*.rs"},
        401,
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert refused["error"] == "invalid_client"
    assert (
        "patient/*.rs"
        in backend_token(assertion(app, rsa_key), "patient/*.rs", 400)["error_description"]
    )
    refusals = AuditEvent.objects.filter(action=AuditEvent.REFUSED, what__contains="Registry")
    assert refusals.filter(what__contains="used already").exists()


# --- Every grant in the audit log --------------------------------------------------------------


def test_every_grant_is_an_audit_event_naming_the_app_the_staff_member_and_the_patient(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    denied = approve(
        clinician_client,
        asking(app, "launch patient/*.rs", pkce()[1], launch=launched(clinician, app, patient)),
        allow="no",
    )
    assert denied["error"] == "access_denied"
    granted_for(
        clinician_client,
        app,
        "launch patient/*.rs offline_access",
        launch=launched(clinician, app, patient),
    )
    events = list(AuditEvent.objects.filter(detail__smart_app=app.name).order_by("seq"))
    said = [(e.action, e.what.removeprefix(f"SMART app {app.name}: ")) for e in events]
    assert said == [
        ("refused", "access denied by clin"),
        ("create", "authorized by clin"),
        ("create", "access token issued with a refresh token"),
    ]
    for event in events:
        assert (event.user_id, event.patient_id) == (clinician.pk, patient.pk)
        assert event.detail["client_id"] == app.application.client_id
    assert events[1].detail["scope"] == "launch patient/*.rs offline_access"
    opened = AuditEvent.objects.filter(what=f"SMART app {app.name} opened from the chart")
    assert opened.count() == 2 and {e.patient_id for e in opened} == {patient.pk}


# --- Registering apps: the clinic admin's page and the command line ------------------------------


def test_the_clinic_admin_registers_and_revokes_apps_on_a_page(
    admin_client: Client, clinician_client: Client
) -> None:
    assert clinician_client.get("/smart-apps/").status_code == 403
    page = admin_client.post(
        "/smart-apps/",
        {
            "name": "Outcome tracker",
            "kind": "confidential",
            "redirect_uris": REDIRECT,
            "launch_url": LAUNCH_URL,
            "scopes": "launch patient/*.rs offline_access",
        },
    )
    assert page.status_code == 200 and b"shown this once" in page.content
    app = SmartApp.objects.get(name="Outcome tracker")
    assert app.application.client_id.encode() in page.content
    assert app.application.client_secret.startswith(("pbkdf2", "argon2", "md5"))  # hashed
    backend = admin_client.post(
        "/smart-apps/",
        {"name": "Registry", "kind": "backend", "jwks": json.dumps({"keys": [key_pair()[1]]})},
    )
    assert backend.status_code == 200 and b"shown this once" not in backend.content
    assert SmartApp.objects.get(name="Registry").scopes == "system/*.rs"
    revoked = admin_client.post(f"/smart-apps/{app.pk}/revoke/")
    assert revoked.status_code == 302
    app.refresh_from_db()
    assert app.revoked_at is not None
    whats = list(AuditEvent.objects.values_list("what", flat=True))
    assert any(w.startswith("SMART app Outcome tracker registered (confidential") for w in whats)
    assert any(w.startswith("SMART app Outcome tracker revoked") for w in whats)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"kind": "public", "redirect_uris": "http://app.example.org/cb"},
            "redirect_uris",
            "https",
        ),
        ({"kind": "public", "redirect_uris": ""}, "redirect_uris", "At least one"),
        ({"kind": "public", "scopes": "system/*.rs"}, "scopes", "No system/"),
        ({"kind": "public", "scopes": "patient/*.rx"}, "scopes", "letters of cruds"),
        ({"kind": "public", "launch_url": "javascript:alert(1)"}, "launch_url", "https"),
        ({"kind": "backend", "redirect_uris": "", "jwks": "{not json"}, "jwks", "not JSON"),
        ({"kind": "backend", "redirect_uris": "", "jwks": '{"keys": []}'}, "jwks", "one to 20"),
        ({"kind": "backend", "redirect_uris": "", "scopes": "user/*.rs"}, "scopes", "system/"),
        ({"kind": "nothing"}, "kind", "valid choice"),
    ],
)
def test_a_registration_that_cannot_be_kept_names_its_field(
    admin_client: Client, fields: dict[str, str], field: str, words: str
) -> None:
    data = {"name": "Odd app", "redirect_uris": REDIRECT, **fields}
    if data.get("kind") == "backend" and "jwks" not in data:
        data["jwks"] = json.dumps({"keys": [key_pair()[1]]})
    page = admin_client.post("/smart-apps/", data)
    assert page.status_code == 400
    errors = page.context["form"].errors
    assert field in errors and words in " ".join(errors[field]), errors
    assert not SmartApp.objects.exists()


def test_a_private_key_pasted_as_the_key_set_is_refused(admin_client: Client) -> None:
    from jwt.algorithms import RSAAlgorithm

    private = key_pair()[0]
    leaked = json.loads(RSAAlgorithm.to_jwk(private))
    page = admin_client.post(
        "/smart-apps/",
        {"name": "Leaky", "kind": "backend", "jwks": json.dumps({"keys": [leaked]})},
    )
    assert page.status_code == 400 and b"private part" in page.content


def test_the_command_line_registers_lists_and_revokes_apps(
    db: Any, tmp_path: Any, capsys: Any
) -> None:
    from spinepath.cli import main as cli

    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps({"keys": [key_pair("EC")[1]]}))
    assert cli(["smart-app", "create", "Registry", "--kind", "backend", "--jwks", str(keys)]) == 0
    assert capsys.readouterr().out.startswith("client_id ")
    assert (
        cli(
            [
                "smart-app",
                "create",
                "Tracker",
                "--kind",
                "confidential",
                "--redirect-uri",
                REDIRECT,
                "--scopes",
                "launch patient/*.rs",
            ]
        )
        == 0
    )
    assert "client_secret " in capsys.readouterr().out
    assert cli(["smart-app", "create", "Bad", "--kind", "public"]) == 2
    assert "redirect_uris" in capsys.readouterr().err
    assert cli(["smart-app", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Registry\tbackend\t" in listed and "Tracker\tconfidential\t" in listed
    assert cli(["smart-app", "revoke", "Tracker"]) == 0
    assert SmartApp.objects.get(name="Tracker").revoked_at is not None
    event = AuditEvent.objects.filter(what__startswith="SMART app Tracker revoked").get()
    assert event.detail["command_line"] == "spinepath smart-app"


# --- The SMART Python client against a running server --------------------------------------------


def _signed_in_session(base: str, user: Any) -> Any:
    """A browser's session as a clinician signs in: password, then the authenticator's code."""
    import requests
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from web_helpers import PASSWORD, totp_now

    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = requests.Session()
    login = session.get(f"{base}/accounts/login/", timeout=30)
    done = session.post(
        f"{base}/accounts/login/",
        {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": _csrf(login.text)},
        timeout=30,
    )
    assert "/accounts/second-factor/" in done.url, done.url
    second = session.post(
        done.url,
        {"token": totp_now(device), "csrfmiddlewaretoken": _csrf(done.text)},
        timeout=30,
    )
    assert second.status_code == 200 and "/accounts/" not in second.url, second.url
    return session


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _consent_answer(session: Any, authorize_url: str) -> str:
    """The consent page a staff member reads and allows; where the app is sent back to."""
    import html
    import re

    page = session.get(authorize_url, timeout=30)
    assert page.status_code == 200 and "Allow" in page.text, page.text[:400]
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text
        )
    }
    answer = session.post(
        authorize_url.split("?")[0], {**fields, "allow": "yes"}, allow_redirects=False, timeout=30
    )
    assert answer.status_code == 302, answer.text[:400]
    return str(answer.headers["Location"])


@pytest.mark.django_db(transaction=True)
def test_the_smart_client_completes_an_ehr_launch_against_a_running_server(
    live_server: Any, settings: Any
) -> None:
    """fhirclient does the app's part (its own PKCE S256, the code exchange, the reads with
    its models); a requests session does the clinician's (sign-in, the chart's button, the
    consent)."""
    import re

    from fhirclient import client as smart
    from fhirclient.models.condition import Condition
    from fhirclient.models.encounter import Encounter
    from fhirclient.models.observation import Observation
    from fhirclient.models.patient import Patient as FhirPatient
    from fhirclient.models.procedure import Procedure
    from web_helpers import PASSWORD

    from spinepath.accounts.services import staff_user_create

    settings.SPINEPATH_BASE_URL = live_server.url
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password=PASSWORD, role="clinician"
    )
    patient = treated(clinician, 200)
    app = register(scopes="launch patient/*.rs offline_access")[0]
    session = _signed_in_session(live_server.url, clinician)

    chart = session.get(f"{live_server.url}/patients/{patient.pk}/", timeout=30)
    button = re.search(r'href="(/patients/\d+/smart-launch/\?app=\d+)"', chart.text)
    assert button is not None, "no Open in ... button on the chart"
    opened = session.get(live_server.url + button.group(1), allow_redirects=False, timeout=30)
    sent = {k: v[0] for k, v in parse_qs(urlsplit(opened.headers["Location"]).query).items()}
    assert sent["iss"] == f"{live_server.url}/fhir"

    client = smart.FHIRClient(
        settings={
            "app_id": app.application.client_id,
            "api_base": sent["iss"],
            "redirect_uri": REDIRECT,
            "launch_token": sent["launch"],
            "scope": "patient/*.rs offline_access",
        }
    )
    assert client.prepare() is False  # the CapabilityStatement read; no token yet
    callback = _consent_answer(session, client.authorize_url)
    client.handle_callback(callback)
    assert client.ready and client.patient_id == str(patient.pk)
    assert client.launch_context["need_patient_banner"] is True

    assert client.patient.name[0].family == patient.family_name
    server = client.server
    assert (
        FhirPatient.read(str(patient.pk), server).birthDate.isostring
        == patient.birth_date.isoformat()
    )
    for model in (Observation, Condition, Procedure, Encounter):
        found = list(
            model.where(struct={"patient": str(patient.pk)}).perform_resources_iter(server)
        )
        assert found, model.__name__
        assert all(r.subject.reference == f"Patient/{patient.pk}" for r in found)
    assert client.reauthorize()  # offline_access: a refresh token, rotated
    assert FhirPatient.read(str(patient.pk), client.server).id == str(patient.pk)
    disclosed = AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient=patient)
    assert disclosed.count() >= 6 and {e.user_id for e in disclosed} == {clinician.pk}


@pytest.mark.django_db(transaction=True)
def test_the_smart_client_gets_a_backend_services_token_from_a_running_server(
    live_server: Any, settings: Any
) -> None:
    from fhirclient import client as smart
    from fhirclient.models.patient import Patient as FhirPatient
    from web_helpers import PASSWORD

    from spinepath.accounts.services import staff_user_create

    settings.SPINEPATH_BASE_URL = live_server.url
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password=PASSWORD, role="clinician"
    )
    patient = treated(clinician, 200)
    private, public = key_pair("EC", "registry-1")
    app = register(
        kind=SmartApp.BACKEND,
        scopes="system/*.rs",
        name="Registry",
        jwks=json.dumps({"keys": [public]}),
    )[0]
    client = smart.FHIRClient(
        settings={
            "app_id": app.application.client_id,
            "api_base": f"{live_server.url}/fhir",
            "scope": "system/*.rs",
            "jwt_token": assertion(app, private, "ES384", "registry-1"),
        }
    )
    client.wants_patient = False
    client.prepare()
    client.authorize()
    assert client.ready
    assert FhirPatient.read(str(patient.pk), client.server).id == str(patient.pk)


def test_a_confidential_app_with_keys_signs_its_code_exchange(
    clinician: Any, clinician_client: Client, patient: Patient
) -> None:
    private, public = key_pair("RSA", "app-1")
    app, secret = register(
        kind=SmartApp.CONFIDENTIAL,
        scopes="launch patient/*.rs",
        name="Signing app",
        jwks=json.dumps({"keys": [public]}),
    )
    assert secret == "" and app.application.client_type == "confidential"
    params = asking(app, "launch patient/*.rs", None, launch=launched(clinician, app, patient))
    got = approve(clinician_client, params)
    data = {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": REDIRECT}
    assert token(data, 401)["error"] == "invalid_client"  # neither a secret nor an assertion
    signed = assertion(app, private, "RS384", "app-1")
    granted = token(
        {
            **data,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        }
    )
    assert granted["patient"] == str(patient.pk)


def test_odd_input_is_answered_naming_what_is_wrong_never_a_server_error(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    client_id = app.application.client_id
    for data in (
        {},
        {"grant_type": "password", "username": "clin", "password": "x", "client_id": client_id},
        {"grant_type": "implicit", "client_id": client_id},
        {"grant_type": "authorization_code", "code": "nope", "client_id": client_id},
        {"grant_type": "refresh_token", "refresh_token": "nope", "client_id": client_id},
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "not.a.jwt",
        },
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "saml",
            "client_assertion": "x",
        },
    ):
        response = Client().post("/smart/token", data)
        assert 400 <= response.status_code < 500, (data, response.content)
        assert json.loads(response.content)["error"], data
    assert Client().post("/smart/revoke", {}).status_code in (400, 401)
    assert Client().get("/smart/token").status_code == 405
    params = asking(app, "launch/patient patient/*.rs", pkce()[1])
    for odd in (
        {"response_type": "token"},
        {"client_id": "é" * 300},
    ):
        response = clinician_client.get("/smart/authorize?" + urlencode({**params, **odd}))
        # Sent back to the app (a page with the link back to it), or refused here (400).
        assert response.status_code in (200, 400), (odd, response.status_code)
        if response.status_code == 200:
            assert answered(response)["error"], odd
    duplicated = clinician_client.get(
        "/smart/authorize?" + urlencode(params) + "&client_id=" + params["client_id"]
    )
    assert duplicated.status_code == 400 and b"Duplicate client_id" in duplicated.content
    for form in ({**params, "pick": "twelve"}, {**params, "pick": "999999"}, {"allow": "yes"}):
        page = clinician_client.post("/smart/authorize", form)
        assert page.status_code == 400, (form, page.status_code)
    for query in (
        "app=abc",
        "app=999",
        f"app={app.pk}&encounter=x",
        f"app={app.pk}&encounter=99999",
    ):
        page = clinician_client.get(f"/patients/{patient.pk}/smart-launch/?{query}")
        assert page.status_code == 400 and b"cannot be answered" in page.content, query
    for header in ("Bearer", "Bearer " + "x" * 5000, "Basic abc", "Bearer \u00e9t\u00e9"):
        response = Client(HTTP_AUTHORIZATION=header).get(f"/fhir/Patient/{patient.pk}")
        assert response.status_code == 401, header


def test_a_cds_hook_may_name_this_server_with_a_smart_token_within_its_scopes(
    clinician: Any,
    clinician_client: Client,
    patient: Patient,
    other: Patient,
    app: SmartApp,
    backend: tuple[SmartApp, Any, Any],
) -> None:
    """A hook whose fhirServer is this server may carry a SMART app's token as its
    fhirAuthorization: the patient is read here if the token's scopes reach them."""
    registry, rsa_key, _ec = backend
    system_token = backend_token(assertion(registry, rsa_key))["access_token"]
    launched_token = granted_for(
        clinician_client, app, "launch patient/*.rs", launch=launched(clinician, app, patient)
    )["access_token"]
    ehr = Client(HTTP_AUTHORIZATION=f"Bearer {_clinic_token()}")

    def summary(patient_id: int, access_token: str) -> str:
        body = {
            "hook": "patient-view",
            "hookInstance": "0b0d1f7e-3f57-4a38-8d5c-3b0a5d0c4b11",
            "fhirServer": "http://testserver/fhir",
            "fhirAuthorization": {"access_token": access_token, "token_type": "Bearer"},
            "context": {"userId": "Practitioner/1", "patientId": str(patient_id)},
        }
        response = ehr.post(
            "/cds-services/spinepath-candidacy", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 200, response.content[:300]
        return str(json.loads(response.content)["cards"][0]["summary"])

    assert summary(other.pk, system_token) != "Spine clinic: no chart matches this patient"
    assert summary(patient.pk, launched_token) != "Spine clinic: no chart matches this patient"
    # The launch patient's token does not open another patient's chart for the hook.
    assert summary(other.pk, launched_token) == "Spine clinic: no chart matches this patient"


def test_a_patient_scope_finds_its_patient_by_an_identifier_in_another_system_only(
    clinician: Any,
    clinician_client: Client,
    patient: Patient,
    other: Patient,
    app: SmartApp,
) -> None:
    from web_helpers import acting

    from spinepath.patients.services import identifier_add

    identifier_add(actor=acting(clinician), patient=patient, system="urn:ehr:a", value="100")
    identifier_add(actor=acting(clinician), patient=other, system="urn:ehr:b", value="100")
    reader = bearer(
        granted_for(
            clinician_client, app, "launch patient/*.rs", launch=launched(clinician, app, patient)
        )["access_token"]
    )
    mine = fhir(reader, "/Patient?identifier=urn:ehr:a|100")
    assert [e["resource"]["id"] for e in mine["entry"]] == [str(patient.pk)]
    # The same value under the other patient's system, or alone (naming both), is refused.
    for asked in ("urn:ehr:b|100", "100"):
        fhir(reader, f"/Patient?identifier={asked}", 403)


def test_an_allow_binds_the_request_the_consent_page_showed(
    clinician: Any, clinician_client: Client, patient: Patient, app: SmartApp
) -> None:
    """The consent page showed patient/Observation.rs: an Allow posted with a wider scope (or
    another patient's launch) grants nothing, and nothing is audited as granted."""
    _verifier, challenge = pkce()
    params = asking(
        app, "launch patient/Observation.rs", challenge, launch=launched(clinician, app, patient)
    )
    page = clinician_client.get("/smart/authorize?" + urlencode(params))
    assert page.status_code == 200
    wider = {**params, "scope": "launch patient/*.rs offline_access"}
    refused = clinician_client.post(
        "/smart/authorize", {**wider, "allow": "yes", "shown": shown(page)}
    )
    assert refused.status_code == 400
    assert b"not the one the consent page showed" in refused.content
    assert not AuditEvent.objects.filter(what__contains="authorized by").exists()
    # The request as shown is still granted.
    answer = clinician_client.post(
        "/smart/authorize", {**params, "allow": "yes", "shown": shown(page)}
    )
    assert answer.status_code == 302 and "code=" in answer["Location"]
    assert AuditEvent.objects.filter(what__contains="authorized by").count() == 1


def test_a_standalone_choice_of_patient_can_be_changed_before_allowing(
    clinician_client: Client, patient: Patient, other: Patient, app: SmartApp
) -> None:
    verifier, challenge = pkce()
    params = asking(app, "launch/patient patient/*.rs", challenge)
    clinician_client.post("/smart/authorize", {**params, "pick": patient.pk})
    consent = clinician_client.get("/smart/authorize?" + urlencode(params))
    found = re.search(rb'<a href="([^"]+)">Not this patient\? Choose another</a>', consent.content)
    assert found, consent.content[:800]
    picker = clinician_client.get(html.unescape(found.group(1).decode()))
    assert b"Choose the patient" in picker.content
    clinician_client.post("/smart/authorize", {**params, "pick": other.pk})
    got = approve(clinician_client, params)
    assert exchange(app, got["code"], verifier)["patient"] == str(other.pk)
