"""Patient list, search and chart."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from spinepath.patients.services import patient_create


def test_search_by_last_name_prefix(clinician_client: Client, clinician: Any) -> None:
    patient_create(user=clinician, given_name="Maria", family_name="Lopez")
    patient_create(user=clinician, given_name="Mark", family_name="Lowe")
    patient_create(user=clinician, given_name="Zoe", family_name="Adams")
    response = clinician_client.get("/patients/?q=lo")
    names = [p.family_name for p in response.context["patients"]]
    assert names == ["Lopez", "Lowe"]


def test_search_by_first_and_last_name(clinician_client: Client, clinician: Any) -> None:
    patient_create(user=clinician, given_name="Maria", family_name="Lopez")
    response = clinician_client.get("/patients/?q=maria lo")
    assert [p.given_name for p in response.context["patients"]] == ["Maria"]


def test_search_by_birth_date_and_record_number(clinician_client: Client, clinician: Any) -> None:
    p = patient_create(
        user=clinician, given_name="Ann", family_name="Birch", birth_date=date(1970, 5, 1)
    )
    assert list(clinician_client.get("/patients/?q=1970-05-01").context["patients"]) == [p]
    assert list(clinician_client.get(f"/patients/?q={p.mrn}").context["patients"]) == [p]
    assert list(clinician_client.get(f"/patients/?q={p.pk}").context["patients"]) == [p]


def test_search_with_htmx_returns_only_the_results(
    clinician_client: Client, clinician: Any
) -> None:
    patient_create(user=clinician, given_name="Maria", family_name="Lopez")
    response = clinician_client.get("/patients/?q=lop", HTTP_HX_REQUEST="true")
    assert b"Lopez, Maria" in response.content
    assert b"<html" not in response.content


def test_new_patient_form_keeps_input_on_error(clinician_client: Client) -> None:
    response = clinician_client.post(
        "/patients/new/", {"given_name": "Maria", "family_name": "", "email": "not-an-email"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"family_name", "email"}
    assert b'value="Maria"' in response.content


def test_chart_shows_the_timeline(clinician_client: Client, candidate_encounter: Any) -> None:
    response = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    kinds = [kind for kind, _day, _item in response.context["timeline"]]
    assert kinds.count("consultation") == 1 and kinds.count("imaging") == 1
    assert b"Lopez, Maria" in response.content


def test_chart_queries_do_not_grow_with_records(
    clinician_client: Client, clinician: Any, candidate_encounter: Any
) -> None:
    from web_helpers import import_encounter

    path = f"/patients/{candidate_encounter.patient_id}/"
    with CaptureQueriesContext(connection) as one:
        clinician_client.get(path)
    for _ in range(3):
        import_encounter(clinician, history__pain_duration_months=30)
    with CaptureQueriesContext(connection) as more:
        clinician_client.get(path)
    assert len(more) == len(one)


def test_unknown_patient_is_404(clinician_client: Client, db: Any) -> None:
    assert clinician_client.get("/patients/999999/").status_code == 404


def test_the_record_exports_as_a_fhir_bundle(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    import json

    response = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/fhir.json")
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(response.content)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Coverage", "Encounter", "Observation", "ImagingStudy"} <= kinds
    pain = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert pain["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "38208-5",
        "display": "Pain severity - Reported",
    }
    assert pain["valueQuantity"]["value"] == 70


def test_fhir_bundle_has_the_confirmed_generator_as_a_condition(
    clinician: Any, clinician_client: Client, candidate_encounter: Any
) -> None:
    import json

    from spinepath.consultations.services import decision_sign

    decision_sign(encounter=candidate_encounter, user=clinician, token="f" * 24)
    bundle = json.loads(
        clinician_client.get(f"/patients/{candidate_encounter.patient_id}/fhir.json").content
    )
    conditions = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"
    ]
    assert [c["code"]["coding"][0]["code"] for c in conditions] == ["M51.36"]
    assert conditions[0]["bodySite"] == [{"text": "L4-L5"}]
