"""A patient's record as a FHIR R4 Bundle."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from web_helpers import acting


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

    from spinepath.consultations.actions import decision_sign

    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="f" * 24)
    bundle = json.loads(
        clinician_client.get(f"/patients/{candidate_encounter.patient_id}/fhir.json").content
    )
    conditions = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"
    ]
    assert [c["code"]["coding"][0]["code"] for c in conditions] == ["M51.36"]
    assert conditions[0]["bodySite"] == [{"text": "L4-L5"}]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


@pytest.mark.parametrize("payer", ["self_pay", "medicare_ab_supplement"])
def test_the_export_validates_and_every_reference_resolves_inside_it(
    clinician: Any, clinician_client: Client, payer: str
) -> None:
    """Validated with fhir.resources (its R4B models, the maintained ones closest to R4), for
    a patient with every kind of record: consultation, MRI, decision, plan, injection, visits."""
    import json

    from fhir.resources.R4B.bundle import Bundle
    from treatment_helpers import treated

    from spinepath.patients.models import Patient

    patient = treated(clinician, 200)
    Patient.objects.filter(pk=patient.pk).update(payer=payer)
    response = clinician_client.get(f"/patients/{patient.pk}/fhir.json")
    bundle = json.loads(response.content)
    Bundle.model_validate(bundle)  # raises, naming the field, if anything is not valid R4
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for reference in _references(bundle):
        assert any(url.endswith(f"/fhir/{reference}") for url in urls), reference
    coverage = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage"
    )
    assert coverage["payor"]
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Coverage", "Encounter", "Observation", "ImagingStudy", "Procedure"} <= kinds
