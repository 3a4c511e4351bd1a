"""Export of a consultation and import of a workup in the interchange format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from repo_paths import CASES
from web_helpers import signed_in, start

from spinepath.consultations.models import DiagnosticBlock, Encounter, ImagingStudy
from spinepath.pathway.engine import decide
from spinepath.pathway.workup import parse_workup
from spinepath.patients.models import Patient
from spinepath.web.policy import clinic_policy


def review(client: Client, encounter: Any) -> Any:
    return client.get(f"/consultations/{encounter.pk}/review/")


def attest_as_the_file_says(client: Client, location: str, document: dict[str, Any]) -> None:
    """What the clinician does after an import, on the imaging page: review the studies the
    file says were reviewed, verify the blocks (imports arrive unreviewed and unverified)."""
    encounter = Encounter.objects.get(pk=int(location.split("/")[2]))
    imaging = f"/consultations/{encounter.pk}/imaging/"
    reviewed = {s["date"] for s in document.get("imaging", []) if s.get("reviewed") is True}
    shown = client.get(imaging).context["studies"]  # each study with the version shown
    for study, version in shown:
        if study.performed_on.isoformat() in reviewed:
            response = client.post(
                imaging, {"form": "review_study", "study_id": study.pk, "shown": version}
            )
            assert response.status_code == 302
    for block in DiagnosticBlock.objects.filter(patient=encounter.patient):
        response = client.post(imaging, {"form": "verify_block", "block_id": block.pk})
        assert response.status_code == 302


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
    attest_as_the_file_says(clinician_client, response["Location"], document)
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
    attest_as_the_file_says(clinician_client, response["Location"], json.loads(raw))
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
    attest_as_the_file_says(clinician_client, again["Location"], exported)
    decided_again = clinician_client.get(again["Location"]).context["decision"].to_dict()
    first = imported.to_dict()
    assert decided_again.pop("patient_id") == first.pop("patient_id") + "-again"
    assert decided_again == first


def test_a_workup_with_a_known_id_is_refused_until_the_patient_is_chosen(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    """Finding 6: a workup whose id is another chart's was attached to it silently and
    overwrote birth date, sex and payer."""
    document = json.loads(
        clinician_client.get(f"/consultations/{candidate_encounter.pk}/export.json").content
    )
    document["payer"] = "medicare_advantage"
    document["patient"]["birth_date"] = "1971-01-01"
    document["assessed_on"] = "2026-11-20"
    patient = candidate_encounter.patient

    response = clinician_client.post("/import/", {"file": _upload(document)})
    assert response.status_code == 409
    assert "Maria Lopez" in response.content.decode()
    assert f'name="patient" value="{patient.pk}"' in response.content.decode()
    kept = response.context["form"]["document"].value()
    assert json.loads(kept) == document  # the file is kept in the page, not uploaded again
    patient.refresh_from_db()
    assert (patient.payer, patient.encounters.count()) == ("self_pay", 1)

    chosen = clinician_client.post("/import/", {"document": kept, "patient": patient.pk})
    assert chosen.status_code == 409
    page = chosen.content.decode()
    assert "medicare_advantage" in page and "1971-01-01" in page
    patient.refresh_from_db()
    assert (patient.payer, patient.encounters.count()) == ("self_pay", 1)

    confirm_for = chosen.context["form"]["confirm_for"].value()
    swapped = dict(document, payer="medicaid")  # another file behind the same confirmation
    refused = clinician_client.post(
        "/import/",
        {
            "document": json.dumps(swapped),
            "patient": patient.pk,
            "confirm_changes": "on",
            "confirm_for": confirm_for,
        },
    )
    assert refused.status_code == 409
    assert "medicaid" in refused.content.decode()
    patient.refresh_from_db()
    assert (patient.payer, patient.encounters.count()) == ("self_pay", 1)

    confirmed = clinician_client.post(
        "/import/",
        {
            "document": kept,
            "patient": patient.pk,
            "confirm_changes": "on",
            "confirm_for": confirm_for,
        },
    )
    assert confirmed.status_code == 302
    patient.refresh_from_db()
    assert patient.payer == "medicare_advantage"
    assert patient.encounters.count() == 2
    assert patient.imaging.count() == 1  # the same MRI is not recorded twice
    audit = patient.audit_events.filter(action="import").order_by("-id").first()
    assert "payer self_pay -> medicare_advantage" in audit.what


def test_an_import_for_a_tampered_patient_id_is_a_form_error(clinician_client: Client) -> None:
    from workup_builder import document

    for tampered in ("abc", "99999999999999999999", "-1"):
        response = clinician_client.post(
            "/import/", {"file": _upload(document()), "patient": tampered}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["patient"] == ["That patient does not exist."]


def test_imported_imaging_arrives_unreviewed_and_blocks_unverified(
    clinician_client: Client,
) -> None:
    from workup_builder import document

    doc = document(
        diagnostic_blocks=[
            {"kind": "medial_branch", "date": "2026-09-01", "levels": ["L5-S1"], "relief_pct": 90}
        ]
    )
    response = clinician_client.post(
        "/import/", {"file": _upload(doc), "given_name": "Ann", "family_name": "Import"}
    )
    assert response.status_code == 302
    study = ImagingStudy.objects.get()
    assert (study.reviewed, study.reviewed_by) == (False, None)
    assert DiagnosticBlock.objects.get().verified_by is None
    decision = clinician_client.get(response["Location"]).context["decision"]
    assert decision.decision == "needs_workup"
    assert decision.rule("mri_reviewed").outcome == "fail"
    assert doc["imaging"][0]["reviewed"] is True  # the file said so; the clinic did not


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
    client = signed_in(User.objects.create_user("nobody", password="correct-horse-battery"))
    response = client.post(
        "/import/", {"file": _upload(document()), "given_name": "A", "family_name": "B"}
    )
    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_an_import_never_overwrites_or_drops_a_same_day_study_with_other_findings(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    document = json.loads(
        clinician_client.get(f"/consultations/{candidate_encounter.pk}/export.json").content
    )
    document["assessed_on"] = "2026-11-20"
    for finding in document["imaging"][0]["levels"]:
        if finding["level"] == "L5-S1":
            finding["facet_arthropathy"] = 3
    patient = candidate_encounter.patient
    response = clinician_client.post("/import/", {"file": _upload(document), "patient": patient.pk})
    assert response.status_code == 409
    assert "is on the chart with other findings" in response.content.decode()
    assert patient.encounters.count() == 1
    study = ImagingStudy.objects.get()
    assert study.levels.get(level="L5-S1").facet_arthropathy == 0
