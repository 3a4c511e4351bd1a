"""What leaves through the FHIR API is coded: every Observation (the baseline's too) with LOINC
where a code exists and the clinic's CodeSystem beside it or alone; an imported MRI as an
ImagingStudy with its DICOM UID, description and series; absolute links built on the address
the request came to."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dicom_helpers import study_files
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from treatment_helpers import treated
from web_helpers import acting

from spinepath.actors import Actor
from spinepath.consultations.actions import dicom_study_import
from spinepath.consultations.dicom import read_path
from spinepath.consultations.models import Encounter
from spinepath.fhir_api.services import token_create
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create

LOINC = "http://loinc.org"
CODES = "https://spinepath.org/fhir/CodeSystem/spinepath"


def api() -> Client:
    _token, secret = token_create(actor=Actor.system(), name="codes", can_write=False)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def searched(c: Client, path: str, **params: str) -> dict[str, Any]:
    response = c.get(path, params)
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content)


@pytest.fixture
def patient(clinician: Any) -> Patient:
    from spinepath.followup.services import Answers, paper_form_enter
    from spinepath.pathway.ichom import LbpAnswers

    p = treated(clinician, 200)
    Encounter.objects.filter(patient=p).update(
        odi_sections=[2] * 10,
        back_pain_nrs=7,
        leg_pain_nrs=4,
        work_status="part_time_back_pain",
        analgesic_use="daily",
        opioid_use=True,
    )
    paper_form_enter(
        actor=acting(clinician),
        visit=p.visits.get(key="6m"),
        measured_on=timezone.localdate(),
        answers=Answers(
            30,
            "vas",
            [1] * 10,
            lbp=LbpAnswers(
                back_pain_nrs=3,
                leg_pain_nrs=1,
                work_status="full_time",
                analgesic_use="occasional",
                opioid_use=False,
            ),
        ),
    )
    return p


def test_every_observation_is_coded_and_the_baseline_is_exported(patient: Patient) -> None:
    c = api()
    bundle = searched(c, "/fhir/Observation", patient=str(patient.pk), _count="200")
    observations = [e["resource"] for e in bundle["entry"]]
    for o in observations:
        get_fhir_model_class("Observation").model_validate(o)
        assert o["code"]["coding"], o["id"]
        assert o["code"]["text"]
        assert o["category"][0]["coding"][0]["code"] == "survey"
    ids = {o["id"] for o in observations}
    encounter = Encounter.objects.filter(patient=patient).first()
    assert encounter is not None
    baseline = {i for i in ids if i.startswith(f"enc{encounter.pk}-")}
    assert {f"enc{encounter.pk}-{k}" for k in ("pain", "odi", "back", "leg", "work")} <= baseline
    by_id = {o["id"]: o for o in observations}
    odi = by_id[f"enc{encounter.pk}-odi"]
    assert odi["valueQuantity"]["value"] == 40.0
    assert {"system": LOINC, "code": "97909-6"} in [
        {k: cd[k] for k in ("system", "code")} for cd in odi["code"]["coding"]
    ]
    back = by_id[f"enc{encounter.pk}-back"]
    assert back["valueQuantity"]["value"] == 7 and back["bodySite"]["text"] == "Lower back"
    assert back["code"]["coding"][0]["code"] == "72514-3"
    work = by_id[f"enc{encounter.pk}-work"]
    assert work["valueCodeableConcept"]["coding"][0] == {
        "system": CODES,
        "code": "part_time_back_pain",
        "display": "Working part time because of my back pain",
    }
    assert by_id[f"enc{encounter.pk}-opioids"]["valueBoolean"] is True

    # The code the docs name finds the baseline and the follow-up ODI.
    found = searched(c, "/fhir/Observation", patient=str(patient.pk), code=f"{LOINC}|97909-6")
    assert {e["resource"]["id"] for e in found["entry"]} == {
        f"enc{encounter.pk}-odi",
        *(i for i in ids if i.startswith("m") and i.endswith("-odi")),
    }
    assert found["total"] == 2
    assert (
        searched(c, "/fhir/Observation", patient=str(patient.pk), code=f"{CODES}|odi")["total"] == 2
    )
    # Each one reads by its id.
    for ident in (f"enc{encounter.pk}-leg", f"enc{encounter.pk}-analgesics"):
        assert c.get(f"/fhir/Observation/{ident}").status_code == 200


def test_an_imported_mri_keeps_its_dicom_identity(db: Any, tmp_path: Path) -> None:
    patient = patient_create(
        actor=acting(None),
        details={
            "given_name": "María",
            "family_name": "López",
            "birth_date": date(1961, 4, 30),
            "sex": "female",
        },
    )
    uid = study_files(tmp_path / "s", series=2, instances=3)
    (study,) = read_path(tmp_path / "s")
    record, _ = dicom_study_import(patient=patient, study=study, actor=acting(None))
    resource = json.loads(api().get(f"/fhir/ImagingStudy/{record.pk}").content)
    get_fhir_model_class("ImagingStudy").model_validate(resource)
    assert resource["identifier"] == [{"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"}]
    assert resource["description"] == record.description and "LUMBAR" in resource["description"]
    assert resource["numberOfSeries"] == 2 and resource["numberOfInstances"] == 6
    assert [s["uid"] for s in resource["series"]] == [s["uid"] for s in record.series]
    assert all(s["modality"]["code"] == "MR" for s in resource["series"])
    assert resource["series"][0]["bodySite"] == {"display": "LSPINE"}


def test_absolute_links_follow_the_address_the_request_came_to(
    patient: Patient, settings: Any
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "spine.internal"]
    c = api()
    response = c.get(
        "/fhir/Observation",
        {"patient": str(patient.pk), "_count": "2"},
        HTTP_HOST="spine.internal",
    )
    bundle = json.loads(response.content)
    assert bundle["entry"][0]["fullUrl"].startswith("http://spine.internal/fhir/Observation/")
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["next"].startswith("http://spine.internal/fhir/Observation?")
    following = c.get(
        links["next"].removeprefix("http://spine.internal"), HTTP_HOST="spine.internal"
    )
    assert following.status_code == 200
    everything = json.loads(
        c.get(f"/fhir/Patient/{patient.pk}/$everything", HTTP_HOST="spine.internal").content
    )
    assert all(e["fullUrl"].startswith("http://spine.internal/fhir/") for e in everything["entry"])
    metadata = json.loads(Client().get("/fhir/metadata", HTTP_HOST="spine.internal").content)
    assert metadata["implementation"]["url"] == "http://spine.internal/fhir"


def test_safety_answers_and_re_interventions_are_in_the_api(
    patient: Patient, clinician: Any
) -> None:
    from spinepath.plans.models import Procedure
    from spinepath.safety.services import answers_entered, reintervention_record

    report = answers_entered(
        actor=acting(clinician),
        patient=patient,
        answers={
            "site_pain": False,
            "fever": True,
            "wound": False,
            "leg_numbness_weakness": False,
            "bladder_bowel": False,
        },
        answered_on=timezone.localdate(),
        details="Chills last night",
    )
    injection = Procedure.objects.filter(patient=patient).first()
    assert injection is not None
    redo = reintervention_record(
        actor=acting(clinician),
        patient=patient,
        procedure_id=injection.pk,
        kind="surgery",
        performed_on=timezone.localdate(),
        level=injection.level,
        side="",
        description="Microdiscectomy at the treated level",
        source="recorded",
    )
    c = api()
    answers = json.loads(c.get(f"/fhir/QuestionnaireResponse/s{report.pk}").content)
    get_fhir_model_class("QuestionnaireResponse").model_validate(answers)
    items = {i["linkId"]: i["answer"][0] for i in answers["item"]}
    assert items["fever"] == {"valueBoolean": True} and items["site_pain"] == {
        "valueBoolean": False
    }
    assert items["details"] == {"valueString": "Chills last night"}
    assert answers["questionnaire"].endswith("/fhir/Questionnaire/safety")
    questionnaire = json.loads(c.get("/fhir/Questionnaire/safety").content)
    get_fhir_model_class("Questionnaire").model_validate(questionnaire)
    assert {i["linkId"] for i in questionnaire["item"]} >= set(items)

    procedure = json.loads(c.get(f"/fhir/Procedure/reint{redo.pk}").content)
    get_fhir_model_class("Procedure").model_validate(procedure)
    assert procedure["status"] == "completed"
    assert procedure["code"]["coding"][0]["code"] == "reintervention-surgery"
    assert f"Procedure/inj{injection.pk}" in procedure["note"][1]["text"]
    searched_ids = {
        e["resource"]["id"]
        for e in searched(c, "/fhir/QuestionnaireResponse", patient=str(patient.pk))["entry"]
    }
    assert f"s{report.pk}" in searched_ids
