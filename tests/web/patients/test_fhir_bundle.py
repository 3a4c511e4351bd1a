"""A patient's record as a FHIR R4 Bundle."""

from __future__ import annotations

from typing import Any

from django.test import Client


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
