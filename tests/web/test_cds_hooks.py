"""CDS Hooks 2.0: discovery, the candidacy card when a chart opens, and the injection-order
check, matched by the patient's identifier and authenticated as the FHIR API is."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from treatment_helpers import reviewed_patient
from web_helpers import acting, import_encounter

from spinepath.actors import Actor
from spinepath.consultations.actions import decision_sign
from spinepath.fhir_api.services import token_create


def client() -> Client:
    from spinepath.fhir_api.models import ApiToken

    _token, secret = token_create(
        actor=Actor.system(), name=f"ehr-{ApiToken.objects.count()}", can_write=False
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def hook(c: Client, service: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = c.post(f"/cds-services/{service}", json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.content[:300]
    return json.loads(response.content)


def view_request(mrn: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "ehr-77"},
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "ehr-77",
                "identifier": [{"system": "urn:spinepath:mrn", "value": mrn}],
            }
        },
    }


def order_request(mrn: str, text: str, site: str | None) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "code": {"text": text},
        "subject": {"reference": "Patient/ehr-77"},
    }
    if site:
        order["bodySite"] = [{"text": site}]
    request = view_request(mrn)
    request["hook"] = "order-select"
    request["context"]["selections"] = ["ServiceRequest/o1"]
    request["context"]["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": order}]}
    return request


def test_discovery_lists_both_services(db: Any) -> None:
    services = json.loads(Client().get("/cds-services").content)["services"]
    assert {(s["hook"], s["id"]) for s in services} == {
        ("patient-view", "spinepath-candidacy"),
        ("order-select", "spinepath-injection-check"),
    }


def test_patient_view_shows_the_signed_decision(clinician: Any) -> None:
    patient = reviewed_patient(clinician, timezone.localdate() - timedelta(days=2), "cds-1")
    cards = hook(client(), "spinepath-candidacy", view_request(patient.mrn))["cards"]
    assert len(cards) == 1 and cards[0]["indicator"] == "info"
    assert "candidate" in cards[0]["summary"].lower()
    assert cards[0]["source"]["label"] == "spinepath-default 2.3"
    assert (
        cards[0]["links"][0]["url"].endswith("/review/")
        or "/decisions/" in cards[0]["links"][0]["url"]
    )


def test_an_urgent_referral_is_critical(clinician: Any) -> None:
    encounter = import_encounter(clinician, patient__id="cds-urgent", red_flags__cauda_equina=True)
    decision_sign(encounter=encounter, actor=acting(clinician), token="u" * 24)
    cards = hook(client(), "spinepath-candidacy", view_request(encounter.patient.mrn))["cards"]
    assert cards[0]["indicator"] == "critical"


def test_no_decision_yet_says_so(clinician: Any) -> None:
    encounter = import_encounter(clinician, patient__id="cds-none")
    cards = hook(client(), "spinepath-candidacy", view_request(encounter.patient.mrn))["cards"]
    assert cards[0]["summary"] == "Spine clinic: no candidacy decision yet"


@pytest.mark.parametrize(
    ("text", "site", "warned"),
    [
        ("Intradiscal injection of MSC", "L4-L5", False),
        ("Intradiscal injection of MSC", "L2-L3", True),
        ("Facet joint injection PRP", "L4-L5", True),
        ("Physical therapy referral", None, False),
    ],
)
def test_order_select_checks_the_target(
    clinician: Any, text: str, site: str | None, warned: bool
) -> None:
    patient = reviewed_patient(clinician, timezone.localdate() - timedelta(days=2), "cds-2")
    cards = hook(client(), "spinepath-injection-check", order_request(patient.mrn, text, site))[
        "cards"
    ]
    assert bool(cards) is warned
    if warned:
        assert cards[0]["indicator"] == "warning" and "not confirmed" in cards[0]["detail"]


def test_order_select_warns_without_a_decision_or_a_recent_mri(clinician: Any) -> None:
    encounter = import_encounter(clinician, patient__id="cds-3")
    cards = hook(
        client(),
        "spinepath-injection-check",
        order_request(encounter.patient.mrn, "Intradiscal injection", "L4-L5"),
    )["cards"]
    assert cards and cards[0]["indicator"] == "warning"
    old = reviewed_patient(clinician, timezone.localdate() - timedelta(days=500), "cds-4")
    cards = hook(
        client(),
        "spinepath-injection-check",
        order_request(old.mrn, "Intradiscal injection", "L4-L5"),
    )["cards"]
    assert cards and "MRI" in cards[0]["detail"]


def test_hooks_need_a_token_and_a_readable_request(clinician: Any) -> None:
    body = json.dumps(view_request("SP0000001"))
    assert (
        Client()
        .post("/cds-services/spinepath-candidacy", body, content_type="application/json")
        .status_code
        == 401
    )
    c = client()
    assert hook(c, "nope", {}, 404)["error"]
    assert hook(c, "spinepath-candidacy", {"context": {}}, 400)["error"]
    bad = c.post("/cds-services/spinepath-candidacy", "{oops", content_type="application/json")
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"context": {"patientId": "x"}, "prefetch": "x"},
        {"context": {"patientId": "x", "draftOrders": {"entry": ["x"]}}},
        {"context": {"patientId": "x", "selections": [{}], "draftOrders": {"entry": []}}},
    ],
)
def test_bogus_hook_bodies_are_named_not_server_errors(db: Any, body: dict[str, Any]) -> None:
    c = client()
    for service in ("spinepath-candidacy", "spinepath-injection-check"):
        response = c.post(
            f"/cds-services/{service}", json.dumps(body), content_type="application/json"
        )
        assert response.status_code in (200, 400), response.content[:200]


def test_a_warning_recorded_since_the_decision_is_critical_for_the_ehr(clinician: Any) -> None:
    from datetime import date

    from treatment_helpers import accepted_plan_for, on_day, reviewed_patient

    from spinepath.consultations.actions import encounter_save, encounter_start
    from spinepath.records.fhir import patient_bundle

    patient = reviewed_patient(clinician, date(2026, 11, 1), "cds-warned")
    accepted_plan_for(patient, clinician, date(2026, 11, 10))
    with on_day(date(2026, 11, 20)):
        newer = encounter_start(
            patient=patient, actor=acting(clinician), assessed_on=date(2026, 11, 20)
        )
        encounter_save(
            encounter=newer,
            actor=acting(clinician),
            step="history",
            fields={"red_cauda_equina": True},
        )
    c = client()
    cards = hook(c, "spinepath-candidacy", view_request(patient.mrn))["cards"]
    assert cards[0]["indicator"] == "critical"
    assert f"(no. {newer.pk}), not yet signed" in cards[0]["detail"]
    order = hook(
        c,
        "spinepath-injection-check",
        order_request(patient.mrn, "Intradiscal MSC injection", "L4-L5"),
    )["cards"]
    assert order[0]["indicator"] == "critical"
    assert len(order[0]["summary"]) <= 140 and not order[0]["summary"].endswith(",")
    plans = [
        e["resource"]
        for e in patient_bundle(patient)["entry"]
        if e["resource"]["resourceType"] == "CarePlan"
    ]
    assert plans[0]["status"] == "on-hold"
    assert "not yet signed" in plans[0]["note"][0]["text"]
