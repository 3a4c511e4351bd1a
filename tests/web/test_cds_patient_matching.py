"""CDS Hooks find the patient an EHR names, in order and never by a guess: the prefetched
Patient's identifiers; else the Patient read from the hook's fhirServer (this server's own FHIR
API, or a second FHIR server started here); else the EHR's patient id kept on a chart. A call
that names nobody gets one card saying what was tried; one that names two charts, a warning and
nothing of either. The identifiers are kept on charts by staff, carried by the FHIR API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone
from treatment_helpers import reviewed_patient
from web_helpers import acting

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.fhir_api.services import token_create
from spinepath.patients.models import Patient, PatientIdentifier
from spinepath.patients.services import identifier_add

EHR = "https://ehr.example.org/fhir"
EHR_TOKEN = "ehr-secret-token"


def secret() -> str:
    from spinepath.fhir_api.models import ApiToken

    name = f"ehr-{ApiToken.objects.count() + 1}"
    return token_create(actor=Actor.system(), name=name, can_write=False)[1]


def call(service: str, body: dict[str, Any], token: str, **extra: Any) -> list[dict[str, Any]]:
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = c.post(
        f"/cds-services/{service}", json.dumps(body), content_type="application/json", **extra
    )
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content)["cards"]


def view(patient_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "6b2c3bbf-52c7-4a1b-9f1e-0b7e7bb3c8e1",
        "context": {"userId": "Practitioner/9", "patientId": patient_id},
        **fields,
    }


def ordering(hook: dict[str, Any], text: str, level: str) -> dict[str, Any]:
    """The hook as an order-select of one draft spine injection order (``text`` at ``level``)."""
    order = {
        "resourceType": "ServiceRequest",
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "code": {"text": text},
        "bodySite": [{"text": level}],
    }
    context = {
        **hook["context"],
        "selections": ["ServiceRequest/o1"],
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }
    return {**hook, "hook": "order-select", "context": context}


def keep(patient: Patient, system: str, value: str, user: Any) -> None:
    identifier_add(actor=acting(user), patient=patient, system=system, value=value)


@pytest.fixture
def candidate(clinician: Any) -> Patient:
    return reviewed_patient(clinician, timezone.localdate() - timedelta(days=2), "match-1")


# --- 1. the prefetched Patient ----------------------------------------------------------------


def test_a_prefetched_record_number_or_kept_ehr_id_finds_the_chart(
    candidate: Patient, coordinator: Any
) -> None:
    token = secret()
    by_mrn = view(
        "e-1",
        prefetch={
            "patient": {
                "resourceType": "Patient",
                "id": "e-1",
                "identifier": [{"system": "urn:spinepath:mrn", "value": candidate.mrn}],
            }
        },
    )
    cards = call("spinepath-candidacy", by_mrn, token)
    assert cards[0]["summary"].startswith("Spine clinic: Candidate for regenerative treatment")
    assert "refer_" not in json.dumps(cards) and "candidate (" not in cards[0]["summary"]
    assert cards[0]["detail"].startswith("A candidate for regenerative treatment of")

    keep(candidate, "urn:oid:1.2.840.99", "EHR-4411", coordinator)
    by_ehr = view(
        "e-1",
        prefetch={
            "patient": {
                "resourceType": "Patient",
                "id": "e-1",
                "identifier": [{"system": "urn:oid:1.2.840.99", "value": "EHR-4411"}],
            }
        },
    )
    assert "Candidate" in call("spinepath-candidacy", by_ehr, token)[0]["summary"]


def test_a_value_under_another_system_is_not_the_record_number(candidate: Patient) -> None:
    """The EHR's own number SP... is not this clinic's SP..., whatever it looks like."""
    body = view(
        "e-2",
        prefetch={
            "patient": {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:9.9.9", "value": candidate.mrn}],
            }
        },
    )
    cards = call("spinepath-candidacy", body, secret())
    assert len(cards) == 1
    assert cards[0]["indicator"] == "info"
    assert cards[0]["summary"] == "Spine clinic: no chart matches this patient"
    assert f"urn:oid:9.9.9|{candidate.mrn}" in cards[0]["detail"]
    assert "links" not in cards[0]


# --- 2. the Patient read from the hook's fhirServer -------------------------------------------


def test_this_servers_own_fhir_base_reads_its_own_patient(candidate: Patient) -> None:
    token = secret()
    body = view(
        str(candidate.pk),
        fhirServer="http://testserver/fhir",
        fhirAuthorization={"access_token": token, "token_type": "Bearer", "scope": "user/*.rs"},
    )
    cards = call("spinepath-candidacy", body, token)
    assert "Candidate" in cards[0]["summary"]
    # The link points back where the call came to.
    assert cards[0]["links"][0]["url"].startswith("http://testserver/decisions/")

    body["fhirAuthorization"]["access_token"] = "sp_not-a-token"
    cards = call("spinepath-candidacy", body, token)
    assert cards[0]["summary"] == "Spine clinic: no chart matches this patient"
    assert "not a live token of this server" in cards[0]["detail"]


class _Ehr(BaseHTTPRequestHandler):
    """A second FHIR server: the EHR's, with one Patient behind a bearer token."""

    patients: dict[str, dict[str, Any]] = {}
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        if self.headers.get("Authorization") != f"Bearer {EHR_TOKEN}":
            self.send_response(401, "Unauthorized")
            self.end_headers()
            return
        resource = self.patients.get(self.path.removeprefix("/fhir/Patient/"))
        body = json.dumps(resource or {"resourceType": "OperationOutcome"}).encode()
        self.send_response(200 if resource else 404)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ehr_server(settings: Any) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ehr)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    settings.SPINEPATH_CDS_FHIR_SERVERS = [base]
    _Ehr.patients, _Ehr.seen = {}, []
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def test_another_fhir_server_is_read_with_the_hooks_authorization(
    candidate: Patient, coordinator: Any, ehr_server: str
) -> None:
    keep(candidate, "urn:oid:1.2.840.99", "EHR-77", coordinator)
    _Ehr.patients["p77"] = {
        "resourceType": "Patient",
        "id": "p77",
        "identifier": [{"system": "urn:oid:1.2.840.99", "value": "EHR-77"}],
    }
    body = view(
        "p77",
        fhirServer=ehr_server,
        fhirAuthorization={"access_token": EHR_TOKEN, "token_type": "Bearer"},
    )
    cards = call("spinepath-candidacy", body, secret())
    assert "Candidate" in cards[0]["summary"]
    assert _Ehr.seen == [f"Bearer {EHR_TOKEN}"]

    body["fhirAuthorization"]["access_token"] = "wrong"
    cards = call("spinepath-candidacy", body, secret())
    assert cards[0]["summary"] == "Spine clinic: no chart matches this patient"
    assert "answered 401" in cards[0]["detail"]


def test_an_unknown_fhir_server_is_never_read(candidate: Patient, ehr_server: str) -> None:
    body = view("p1", fhirServer="http://169.254.169.254/latest", fhirAuthorization=None)
    cards = call("spinepath-candidacy", body, secret())
    assert "not a FHIR server the clinic reads from" in cards[0]["detail"]
    assert _Ehr.seen == []


def test_an_unreachable_fhir_server_is_said_not_a_server_error(
    candidate: Patient, settings: Any
) -> None:
    settings.SPINEPATH_CDS_FHIR_SERVERS = ["http://127.0.0.1:9/fhir"]
    body = view("p1", fhirServer="http://127.0.0.1:9/fhir")
    cards = call("spinepath-candidacy", body, secret())
    assert "cannot be reached" in cards[0]["detail"]


# --- 3. the EHR's patient id kept on a chart ---------------------------------------------------


def test_the_ehr_id_kept_under_its_fhir_server_address_finds_the_chart(
    candidate: Patient, coordinator: Any
) -> None:
    """No prefetch, a fhirServer the clinic does not read: the id as kept for that EHR."""
    keep(candidate, EHR, "778899", coordinator)
    cards = call("spinepath-candidacy", view("778899", fhirServer=EHR + "/"), secret())
    assert "Candidate" in cards[0]["summary"]
    # The same id from another EHR names nobody.
    other = call(
        "spinepath-candidacy", view("778899", fhirServer="https://b.example/fhir"), secret()
    )
    assert other[0]["summary"] == "Spine clinic: no chart matches this patient"


def test_a_bare_id_is_never_this_servers_own_id(
    candidate: Patient, coordinator: Any, settings: Any
) -> None:
    cards = call("spinepath-candidacy", view(str(candidate.pk)), secret())
    assert cards[0]["summary"] == "Spine clinic: no chart matches this patient"
    assert "not looked up" in cards[0]["detail"]
    # With the system the clinic set up for its EHR's ids, the id kept on the chart.
    settings.SPINEPATH_EHR_PATIENT_ID_SYSTEM = "urn:ehr:patient-id"
    keep(candidate, "urn:ehr:patient-id", "A-5", coordinator)
    assert "Candidate" in call("spinepath-candidacy", view("A-5"), secret())[0]["summary"]
    assert call("spinepath-candidacy", view(str(candidate.pk)), secret())[0]["indicator"] == "info"


def test_identifiers_naming_two_charts_warn_and_show_neither(
    candidate: Patient, clinician: Any, coordinator: Any
) -> None:
    other = reviewed_patient(clinician, timezone.localdate() - timedelta(days=3), "match-2")
    keep(other, "urn:oid:1.2.840.99", "EHR-1", coordinator)
    body = view(
        "e",
        prefetch={
            "patient": {
                "resourceType": "Patient",
                "identifier": [
                    {"system": "urn:spinepath:mrn", "value": candidate.mrn},
                    {"system": "urn:oid:1.2.840.99", "value": "EHR-1"},
                ],
            }
        },
    )
    token = secret()
    for service in ("spinepath-candidacy", "spinepath-injection-check"):
        if service == "spinepath-injection-check":
            body = ordering(body, "Intradiscal MSC injection", "L4-L5")
        cards = call(service, body, token)
        assert len(cards) == 1 and cards[0]["indicator"] == "warning"
        text = json.dumps(cards)
        assert "2 charts" in text or "no single chart" in text
        assert candidate.mrn not in cards[0]["summary"] and other.mrn not in text
        assert "links" not in cards[0]
    event = AuditEvent.objects.filter(what__startswith="FHIR API: CDS Hooks").latest("id")
    assert "no single chart matched" in event.what


def test_discovery_asks_for_the_patient_by_prefetch(db: Any) -> None:
    services = json.loads(Client().get("/cds-services").content)["services"]
    assert all(s["prefetch"] == {"patient": "Patient/{{context.patientId}}"} for s in services)


@pytest.mark.django_db(transaction=True)
def test_a_cds_hooks_client_over_http_gets_the_card(
    live_server: Any, candidate: Patient, coordinator: Any
) -> None:
    """As an EHR calls it: discovery, then the service, over HTTP to a running server."""
    keep(candidate, EHR, "http-1", coordinator)
    token = secret()
    base = live_server.url
    if True:
        services = requests.get(f"{base}/cds-services", timeout=10).json()["services"]
        ids = {s["id"] for s in services}
        assert ids == {"spinepath-candidacy", "spinepath-injection-check"}
        answer = requests.post(
            f"{base}/cds-services/spinepath-candidacy",
            json=view("http-1", fhirServer=EHR),
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200
        assert "Candidate" in answer.json()["cards"][0]["summary"]
        order = ordering(view("http-1", fhirServer=EHR), "Facet joint injection PRP", "L4-L5")
        checked = requests.post(
            f"{base}/cds-services/spinepath-injection-check",
            json=order,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert checked.status_code == 200
        (card,) = checked.json()["cards"]
        assert card["indicator"] == "warning" and "not confirmed" in card["detail"]
        assert card["links"][0]["url"].startswith(base)


# --- the identifiers on the chart -------------------------------------------------------------


def test_a_coordinator_keeps_an_identifier_and_bad_input_is_named(
    candidate: Patient, coordinator_client: Client, clinician: Any
) -> None:
    url = f"/patients/{candidate.pk}/identifiers/"
    page = coordinator_client.get(url)
    assert page.status_code == 200 and "No identifier from another system yet" in page.text
    bad = coordinator_client.post(url, {"system": "the ehr", "value": "A 1"})
    assert bad.status_code == 400
    assert "A system is a URI" in bad.text and 'value="the ehr"' in bad.text
    own = coordinator_client.post(url, {"system": "urn:spinepath:mrn", "value": "SP1"})
    assert own.status_code == 400 and "clinic&#x27;s own record number" in own.text
    for _ in range(2):  # a double click keeps one
        done = coordinator_client.post(url, {"system": EHR + "/", "value": " 4411 "})
        assert done.status_code == 302
    assert list(candidate.identifiers.values_list("system", "value")) == [(EHR, "4411")]
    chart = coordinator_client.get(f"/patients/{candidate.pk}/")
    assert "4411" in chart.text and EHR in chart.text

    other = reviewed_patient(clinician, timezone.localdate() - timedelta(days=4), "match-3")
    taken = coordinator_client.post(
        f"/patients/{other.pk}/identifiers/", {"system": EHR, "value": "4411"}
    )
    assert taken.status_code == 409 or taken.status_code == 400
    assert f"On chart {candidate.mrn} already" in taken.text and 'value="4411"' in taken.text

    identifier = candidate.identifiers.get()
    removed = coordinator_client.post(f"{url}{identifier.pk}/remove/")
    assert removed.status_code == 302 and not candidate.identifiers.exists()
    assert PatientIdentifier.history.filter(value="4411").count() == 2
    whats = set(AuditEvent.objects.filter(patient=candidate).values_list("what", flat=True))
    assert {f"identifier added: {EHR} 4411", f"identifier removed: {EHR} 4411"} <= whats


def test_the_fhir_api_carries_the_identifiers(candidate: Patient, coordinator: Any) -> None:
    keep(candidate, EHR, "fhir-1", coordinator)
    c = Client(HTTP_AUTHORIZATION=f"Bearer {secret()}")
    resource = json.loads(c.get(f"/fhir/Patient/{candidate.pk}").content)
    assert {"system": EHR, "value": "fhir-1"} in resource["identifier"]
    found = json.loads(c.get("/fhir/Patient", {"identifier": f"{EHR}|fhir-1"}).content)
    assert [e["resource"]["id"] for e in found["entry"]] == [str(candidate.pk)]
    assert (
        json.loads(c.get("/fhir/Patient", {"identifier": "urn:other|fhir-1"}).content)["total"] == 0
    )
    # Any system: the value as a record number or as an identifier kept on a chart.
    assert json.loads(c.get("/fhir/Patient", {"identifier": "fhir-1"}).content)["total"] == 1


@pytest.mark.parametrize(
    "body",
    [
        view("x", prefetch={"patient": {"resourceType": "Patient", "identifier": 7}}),
        view("x", prefetch={"patient": {"resourceType": "Patient", "identifier": [7, "a"]}}),
        view("١٢", fhirServer="http://127.0.0.1:9/fhir"),
        view(
            "p1", fhirServer="http://127.0.0.1:9/fhir", fhirAuthorization={"access_token": "a\nb"}
        ),
        view("p1", fhirServer="http://testserver/fhir", fhirAuthorization="token"),
        view("p1", fhirServer=["x"]),
        view("x" * 500, fhirServer="https://e.example/" + "a" * 400),
    ],
)
def test_junk_in_a_hook_is_no_server_error(db: Any, settings: Any, body: dict[str, Any]) -> None:
    settings.SPINEPATH_CDS_FHIR_SERVERS = ["http://127.0.0.1:9/fhir"]
    settings.SPINEPATH_EHR_PATIENT_ID_SYSTEM = "urn:ehr:ids"
    cards = call("spinepath-candidacy", body, secret())
    assert cards[0]["summary"] == "Spine clinic: no chart matches this patient"


# --- what the attack found --------------------------------------------------------------------


def test_an_identifier_longer_than_any_kept_matches_nobody(
    candidate: Patient, coordinator: Any
) -> None:
    keep(candidate, EHR, "A" * 64, coordinator)
    token = secret()
    for body in (
        view("A" * 64 + "ZZZZ", fhirServer=EHR),
        view(
            "e",
            prefetch={
                "patient": {
                    "resourceType": "Patient",
                    "identifier": [{"system": EHR, "value": "A" * 64 + "-ANOTHER"}],
                }
            },
        ),
        view(
            "e",
            prefetch={
                "patient": {
                    "resourceType": "Patient",
                    "identifier": [
                        {"system": "urn:spinepath:mrn", "value": candidate.mrn + " " * 60 + "X"}
                    ],
                }
            },
        ),
        view("0" * 63 + str(candidate.pk) + "9", fhirServer="http://testserver/fhir"),
        view("0" + str(candidate.pk), fhirServer="http://testserver/fhir"),
    ):
        body["fhirAuthorization"] = {"access_token": token}
        cards = call("spinepath-candidacy", body, token)
        assert cards[0]["summary"] == "Spine clinic: no chart matches this patient", body
    # The 64 characters themselves still find the chart.
    assert (
        "Candidate"
        in call("spinepath-candidacy", view("A" * 64, fhirServer=EHR), token)[0]["summary"]
    )


def test_a_listed_server_that_redirects_is_not_followed(
    candidate: Patient, ehr_server: str
) -> None:
    """The read goes to the listed address only: a redirect elsewhere is not followed, and the
    EHR's token goes nowhere else."""
    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), _Ehr)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:

        class Redirecting(_Ehr):
            def do_GET(self) -> None:
                self.seen.append(self.path)
                self.send_response(302)
                self.send_header(
                    "Location", f"http://127.0.0.1:{elsewhere.server_address[1]}/steal"
                )
                self.end_headers()

        redirecting = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
        threading.Thread(target=redirecting.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{redirecting.server_address[1]}/fhir"
        from django.conf import settings

        settings.SPINEPATH_CDS_FHIR_SERVERS = [base]
        _Ehr.seen = []
        body = view("p1", fhirServer=base, fhirAuthorization={"access_token": EHR_TOKEN})
        cards = call("spinepath-candidacy", body, secret())
        assert "answered 302" in cards[0]["detail"]
        assert _Ehr.seen == ["/fhir/Patient/p1"]  # the listed server's, never /steal
        redirecting.shutdown()
        redirecting.server_close()
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()


def test_a_server_answering_nested_json_is_its_fault_not_the_hooks(
    candidate: Patient, settings: Any
) -> None:
    class Nested(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"[" * 100_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Nested)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
        settings.SPINEPATH_CDS_FHIR_SERVERS = [base]
        cards = call("spinepath-candidacy", view("p1", fhirServer=base), secret())
        assert "its answer is not JSON" in cards[0]["detail"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_malformed_order_code_is_no_server_error(candidate: Patient) -> None:
    body = ordering(view("e"), "intradiscal injection", "L4-L5")
    body["context"]["draftOrders"]["entry"][0]["resource"]["code"]["coding"] = 5
    cards = call("spinepath-injection-check", body, secret())
    assert cards and cards[0]["indicator"] == "warning"


def test_fhir_server_must_be_an_address_and_this_servers_base_is_no_identifier_system(
    candidate: Patient, coordinator_client: Client
) -> None:
    cards = call(
        "spinepath-candidacy", view(candidate.mrn, fhirServer="urn:spinepath:mrn"), secret()
    )
    assert cards[0]["summary"] == "Spine clinic: no chart matches this patient"
    assert "not an http(s) address" in cards[0]["detail"]
    for own in ("http://testserver/fhir", "http://127.0.0.1:8000/fhir/"):
        page = coordinator_client.post(
            f"/patients/{candidate.pk}/identifiers/", {"system": own, "value": "5"}
        )
        assert page.status_code == 400 and "this server&#x27;s own FHIR address" in page.text
    assert not candidate.identifiers.exists()


def test_removing_an_identifier_of_another_chart_says_so(
    candidate: Patient, clinician: Any, coordinator: Any, coordinator_client: Client
) -> None:
    other = reviewed_patient(clinician, timezone.localdate() - timedelta(days=5), "match-9")
    keep(other, EHR, "theirs", coordinator)
    identifier = other.identifiers.get()
    page = coordinator_client.post(
        f"/patients/{candidate.pk}/identifiers/{identifier.pk}/remove/", follow=True
    )
    assert "That identifier is not on this chart" in page.text
    assert other.identifiers.count() == 1


def test_an_address_is_the_same_in_any_case_and_no_bar_in_a_value(
    candidate: Patient, coordinator_client: Client
) -> None:
    url = f"/patients/{candidate.pk}/identifiers/"
    first = coordinator_client.post(url, {"system": "HTTPS://EHR.Example.org/fhir/", "value": "C1"})
    assert first.status_code == 302, first.text[-3000:]
    again = coordinator_client.post(url, {"system": EHR, "value": "C1"}, follow=True)
    assert "That identifier is on this chart already." in again.text
    assert list(candidate.identifiers.values_list("system", "value")) == [(EHR, "C1")]
    cards = call(
        "spinepath-candidacy", view("C1", fhirServer="https://ehr.EXAMPLE.org/fhir"), secret()
    )
    assert "Candidate" in cards[0]["summary"]
    barred = coordinator_client.post(url, {"system": EHR, "value": "a|b"})
    assert barred.status_code == 400 and "No | in an identifier" in barred.text
