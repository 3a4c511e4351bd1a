"""Export of a consultation and import of a workup in the interchange format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from repo_paths import CASES
from web_helpers import start

from spinepath.pathway.engine import decide
from spinepath.pathway.workup import parse_workup
from spinepath.patients.models import Patient
from spinepath.web.policy import clinic_policy


def review(client: Client, encounter: Any) -> Any:
    return client.get(f"/consultations/{encounter.pk}/review/")


def test_export_and_import_give_the_same_decision(
    clinician: Any, clinician_client: Client, candidate_encounter: Any
) -> None:
    exported = clinician_client.get(f"/consultations/{candidate_encounter.pk}/export.json")
    document = json.loads(exported.content)
    document["patient"]["id"] = "round-trip"
    upload = _upload(document)
    response = clinician_client.post(
        "/import/", {"file": upload, "given_name": "Round", "family_name": "Trip"}
    )
    assert response.status_code == 302
    before = review(clinician_client, candidate_encounter).context["decision"].to_dict()
    after_page = clinician_client.get(response["Location"])
    after = after_page.context["decision"].to_dict()
    before.pop("patient_id")
    after.pop("patient_id")
    assert before == after


def test_import_of_an_invalid_workup_names_the_field(clinician_client: Client) -> None:
    bad = {
        "schema": "spinepath.workup/1",
        "patient": {"id": "x"},
        "assessed_on": "2026-11-02",
        "outcomes": {"pain_vas": 300},
    }
    response = clinician_client.post(
        "/import/", {"file": _upload(bad), "given_name": "A", "family_name": "B"}
    )
    assert response.status_code == 400
    assert "outcomes.pain_vas: must be at most 100 (got 300)" in response.context["errors"]


def test_import_of_a_new_patient_needs_names(clinician_client: Client) -> None:
    from workup_builder import document

    response = clinician_client.post("/import/", {"file": _upload(document())})
    assert response.status_code == 400
    assert "given_name" in response.context["form"].errors


def _upload(data: dict[str, Any]) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("workup.json", json.dumps(data).encode(), "application/json")


EXPECTED = json.loads((CASES / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_example_workup_imports_exports_and_decides_the_same(
    clinician_client: Client, name: str
) -> None:
    expected = EXPECTED[name]
    raw = (CASES / name).read_bytes()
    response = clinician_client.post(
        "/import/", {"file": _upload(json.loads(raw)), "given_name": "Case", "family_name": name}
    )
    if expected["error_field"]:
        assert response.status_code == 400
        assert any(expected["error_field"] in e for e in response.context["errors"])
        return
    assert response.status_code == 302
    imported = clinician_client.get(response["Location"]).context["decision"]
    assert imported.decision == expected["decision"]
    assert imported.to_dict() == decide(parse_workup(raw), clinic_policy()).to_dict()

    encounter_id = response["Location"].split("/")[2]
    export_url = f"/consultations/{encounter_id}/export.json"
    exported = json.loads(clinician_client.get(export_url).content)
    exported["patient"]["id"] += "-again"
    again = clinician_client.post(
        "/import/", {"file": _upload(exported), "given_name": "Again", "family_name": name}
    )
    decided_again = clinician_client.get(again["Location"]).context["decision"].to_dict()
    first = imported.to_dict()
    assert decided_again.pop("patient_id") == first.pop("patient_id") + "-again"
    assert decided_again == first


def test_importing_for_a_known_patient_updates_that_patient(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    document = json.loads(
        clinician_client.get(f"/consultations/{candidate_encounter.pk}/export.json").content
    )
    document["payer"] = "medicare_advantage"
    document["assessed_on"] = "2026-11-20"
    response = clinician_client.post("/import/", {"file": _upload(document)})
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.pk == candidate_encounter.patient_id
    assert patient.payer == "medicare_advantage"
    assert patient.encounters.count() == 2
    assert patient.imaging.count() == 1  # the same MRI is not recorded twice


def test_an_export_keeps_unrecorded_facts_absent(clinician: Any, clinician_client: Client) -> None:
    encounter = start(clinician_client, clinician)
    export_url = f"/consultations/{encounter.pk}/export.json"
    document = json.loads(clinician_client.get(export_url).content)
    assert document.get("red_flags", {}) == {} and document.get("exam", {}) == {}
    assert document.get("history", {}) == {} and document.get("outcomes", {}) == {}
    decision = clinician_client.get(f"/consultations/{encounter.pk}/review/").context["decision"]
    assert decision.decision == "needs_workup"  # nothing recorded: the screen and history first
    assert {r.outcome for r in decision.rules} >= {"unknown"}


def test_an_upload_that_is_not_json_is_refused(clinician_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("workup.json", b"\x89PNG not json", "application/json")
    response = clinician_client.post(
        "/import/", {"file": upload, "given_name": "A", "family_name": "B"}
    )
    assert response.status_code == 400
    assert not Patient.objects.exists()


def test_a_coordinator_may_import_but_a_user_without_a_role_may_not(
    coordinator_client: Client, db: Any
) -> None:
    from django.contrib.auth.models import User
    from workup_builder import document

    assert coordinator_client.get("/import/").status_code == 200
    client = Client()
    client.force_login(User.objects.create_user("nobody", password="correct-horse-battery"))
    response = client.post(
        "/import/", {"file": _upload(document()), "given_name": "A", "family_name": "B"}
    )
    assert response.status_code == 403
    assert not Patient.objects.exists()
