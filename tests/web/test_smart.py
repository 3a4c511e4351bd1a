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
import json
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


def answered(location: str) -> dict[str, str]:
    """The parameters the app receives at its redirect URI."""
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def approve(client: Client, params: dict[str, str], allow: str = "yes") -> dict[str, str]:
    """The staff member opens the consent page and answers it; what the app receives."""
    page = client.get("/smart/authorize?" + urlencode(params))
    assert page.status_code == 200, page.content[:500]
    assert b"Allow" in page.content
    answer = client.post("/smart/authorize", {**params, "allow": allow})
    assert answer.status_code == 302, answer.content[:500]
    return answered(answer["Location"])


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
    assert answered(refused["Location"])["error"] == "invalid_request"
    assert "another staff member" in answered(refused["Location"])["error_description"]
    granted_for(clinician_client, app, "launch patient/*.rs", launch=launch)
    again = clinician_client.get("/smart/authorize?" + urlencode(params))
    assert "used already" in answered(again["Location"])["error_description"]
    late = launched(clinician, app, patient)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        expired = clinician_client.get("/smart/authorize?" + urlencode({**params, "launch": late}))
    assert "expired" in answered(expired["Location"])["error_description"]
    forged = clinician_client.get("/smart/authorize?" + urlencode({**params, "launch": "x" * 30}))
    assert "not one of this app's" in answered(forged["Location"])["error_description"]


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
        clinician_client.post("/smart/authorize", {**params, "allow": "yes"})["Location"]
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
    assert answered(without["Location"])["error"] == "invalid_request"
    plain = asking(app, "user/*.rs", None, code_challenge="a" * 43, code_challenge_method="plain")
    refused = answered(clinician_client.get("/smart/authorize?" + urlencode(plain))["Location"])
    assert "S256" in refused["error_description"]
    # A code obtained with a challenge opens nothing without its verifier, nor with another.
    verifier, challenge = pkce()
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
    assert answered(refused["Location"])["error"] == "invalid_scope"
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
        got = answered(response["Location"])
        assert got["error"] == "invalid_scope" and words in got["error_description"], got
    wrong_aud = asking(
        narrow, "launch/patient patient/Observation.rs", pkce()[1], aud="https://x.org/fhir"
    )
    got = answered(clinician_client.get("/smart/authorize?" + urlencode(wrong_aud))["Location"])
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
