"""The FHIR R4 API: every resource it returns validates with fhir.resources (R4B); paging;
token scopes and revocation; an OperationOutcome for every error; QuestionnaireResponses held
to the web form's window rules; every use audited as a disclosure."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from treatment_helpers import treated
from web_helpers import acting

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.fhir_api.services import token_create, token_revoke
from spinepath.followup.models import OutcomeMeasurement
from spinepath.patients.models import Patient

BASE = "/fhir"


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)  # raises, naming the field, if it is not valid
    return resource


def api_client(can_write: bool = False, name: str = "ehr") -> Client:
    _token, secret = token_create(actor=Actor.system(), name=name, can_write=can_write)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def get(client: Client, path: str, status: int = 200) -> dict[str, Any]:
    response = client.get(BASE + path)
    assert response.status_code == status, (path, response.content[:300])
    assert response["Content-Type"] == "application/fhir+json"
    return json.loads(response.content)


@pytest.fixture
def patient(clinician: Any) -> Patient:
    from spinepath.followup.services import Answers, paper_form_enter

    p = treated(clinician, 200)
    Patient.objects.filter(pk=p.pk).update(payer="medicare_ab_supplement")
    p.refresh_from_db()
    paper_form_enter(
        actor=acting(clinician),
        visit=p.visits.get(key="6m"),
        measured_on=timezone.localdate(),
        answers=Answers(30, "vas", [1] * 10),
    )
    return p


def test_the_capability_statement_lists_what_is_served(db: Any) -> None:
    statement = valid(json.loads(Client().get(f"{BASE}/metadata").content))
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "ImagingStudy", "Procedure", "CarePlan", "Coverage"} <= types
    assert {"Questionnaire", "QuestionnaireResponse", "Encounter", "Condition"} <= types


def test_every_resource_read_and_searched_validates(patient: Patient) -> None:
    client = api_client()
    everything = get(client, f"/Patient/{patient.pk}/$everything")
    valid(everything)
    kinds = {e["resource"]["resourceType"] for e in everything["entry"]}
    assert {
        "Patient",
        "Coverage",
        "Organization",
        "Encounter",
        "Observation",
        "ImagingStudy",
    } <= kinds
    assert {"Procedure", "CarePlan", "QuestionnaireResponse"} <= kinds
    urls = {e["fullUrl"] for e in everything["entry"]}
    for entry in everything["entry"]:
        resource = entry["resource"]
        read = get(client, f"/{resource['resourceType']}/{resource['id']}")
        assert read == resource
        for value in json.dumps(resource).split('"reference": "')[1:]:
            reference = value.split('"')[0]
            assert any(url.endswith(f"/fhir/{reference}") for url in urls), reference
    for kind in (
        "Encounter",
        "Condition",
        "Observation",
        "ImagingStudy",
        "Procedure",
        "CarePlan",
        "Coverage",
        "QuestionnaireResponse",
    ):
        searched = valid(get(client, f"/{kind}?patient={patient.pk}"))
        # A search reads only the records that make its type, and finds exactly what the
        # whole record holds of that type, in the same order.
        assert [e["resource"] for e in searched["entry"]] == [
            e["resource"] for e in everything["entry"] if e["resource"]["resourceType"] == kind
        ], kind
    for ident in ("odi", "pain", "lbp"):
        valid(get(client, f"/Questionnaire/{ident}"))


def test_patients_are_searched_by_identifier_name_and_birthdate(patient: Patient) -> None:
    client = api_client()
    found = get(client, f"/Patient?identifier=urn:spinepath:mrn|{patient.mrn}")
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == str(patient.pk)
    assert get(client, f"/Patient?name={patient.family_name[:3]}")["total"] >= 1
    assert get(client, f"/Patient?birthdate={patient.birth_date}")["total"] >= 1
    assert get(client, "/Patient?birthdate=gt2100-01-01")["total"] == 0


def test_a_name_search_pages_in_the_database_and_ignores_case_and_accents(
    clinician: Any,
) -> None:
    from spinepath.patients.services import patient_create

    for i in range(7):
        patient_create(
            actor=acting(clinician),
            details={
                "family_name": f"Zoë-Müller{i}",
                "given_name": "Ana",
                "birth_date": timezone.localdate() - timedelta(days=365 * 40 + i),
                "sex": "female",
            },
        )
    client = api_client()
    first = get(client, "/Patient?name=zoe-MULLER&_count=3")
    names = [e["resource"]["name"][0]["family"] for e in first["entry"]]
    assert first["total"] == 7 and names == ["Zoë-Müller0", "Zoë-Müller1", "Zoë-Müller2"]
    last = get(client, "/Patient?name=zoe muller&_count=3&_offset=6")
    assert [e["resource"]["name"][0]["family"] for e in last["entry"]] == ["Zoë-Müller6"]
    assert not any(link["relation"] == "next" for link in last["link"])
    assert get(client, "/Patient?name=ana zoe&_count=3")["total"] == 7  # given name first
    assert get(client, "/Patient?name=...")["total"] == 0
    # The audit event of a page names the patients on that page only.
    events = AuditEvent.objects.filter(what="FHIR API: search Patient").order_by("-seq")
    assert len(events[3].detail["records"]) == 3 and len(events[2].detail["records"]) == 1


def test_a_search_of_a_patients_lots_names_the_patient_in_the_audit_log(
    patient: Patient,
) -> None:
    found = get(api_client(), f"/BiologicallyDerivedProduct?patient={patient.pk}")
    assert found["total"] >= 1
    event = AuditEvent.objects.filter(what="FHIR API: search BiologicallyDerivedProduct").first()
    assert event is not None and event.patient_id == patient.pk
    assert event.detail["records"] == [patient.mrn]


def test_searches_page_with_next_links(patient: Patient) -> None:
    client = api_client()
    first = get(client, f"/Observation?patient={patient.pk}&_count=1")
    assert first["total"] > 1 and len(first["entry"]) == 1
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = get(client, following.split("/fhir", 1)[1])
    assert second["entry"][0]["resource"]["id"] != first["entry"][0]["resource"]["id"]
    pain = get(client, f"/Observation?patient={patient.pk}&code=http://loinc.org|38208-5")
    assert pain["total"] >= 1
    later = get(client, f"/Observation?patient={patient.pk}&date=ge2100-01-01")
    assert later["total"] == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/Nothing/1", 404),
        ("/Patient/999999", 404),
        ("/Patient?shoe=12", 400),
        ("/Observation", 400),
        ("/Observation?patient=1&date=yesterday", 400),
        ("/Patient?name=a&_count=100000", 400),
        ("/Observation/m999", 404),
    ],
)
def test_errors_are_operation_outcomes(patient: Patient, path: str, status: int) -> None:
    valid(get(api_client(), path, status))


def test_tokens_scope_and_revocation(patient: Patient) -> None:
    assert Client().get(f"{BASE}/Patient/{patient.pk}").status_code == 401
    reader = api_client(name="reader")
    assert reader.get(f"{BASE}/Patient/{patient.pk}").status_code == 200
    refused = reader.post(
        f"{BASE}/QuestionnaireResponse", "{}", content_type="application/fhir+json"
    )
    assert refused.status_code == 403
    from spinepath.fhir_api.models import ApiToken

    token_revoke(actor=Actor.system(), token_id=ApiToken.objects.get(name="reader").pk)
    assert reader.get(f"{BASE}/Patient/{patient.pk}").status_code == 401
    bad = Client(HTTP_AUTHORIZATION="Bearer sp_not-a-token")
    assert bad.get(f"{BASE}/Patient/{patient.pk}").status_code == 401


def test_every_use_is_a_disclosure_in_the_audit_log(patient: Patient) -> None:
    get(api_client(), f"/Patient/{patient.pk}/$everything")
    event = AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient_id=patient.pk).last()
    assert event is not None and event.username == "(API token: ehr)"
    assert event.detail["records"] == [patient.mrn]


def _response(patient: Patient, pain: int = 35, visit: int | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://127.0.0.1:8000/fhir/Questionnaire/odi",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient.pk}"},
        "item": [{"linkId": "pain", "answer": [{"valueInteger": pain}]}]
        + [
            {"linkId": f"odi-{i}", "answer": [{"valueCoding": {"code": "1"}}]} for i in range(1, 11)
        ],
    }
    if visit is not None:
        document["identifier"] = {"system": "urn:spinepath:visit", "value": str(visit)}
    return document


def post(client: Client, document: Any, status: int) -> dict[str, Any]:
    body = document if isinstance(document, str) else json.dumps(document)
    response = client.post(
        f"{BASE}/QuestionnaireResponse", body, content_type="application/fhir+json"
    )
    assert response.status_code == status, response.content[:400]
    return json.loads(response.content)


def test_a_patient_app_stores_answers_inside_the_window_once(clinician: Any) -> None:
    patient = treated(clinician, 40)  # the 6-week window is open
    writer = api_client(can_write=True, name="app")
    stored = valid(post(writer, _response(patient), 201))
    measurement = OutcomeMeasurement.objects.get(patient=patient)
    assert stored["id"] == f"m{measurement.pk}" and measurement.pain_vas == 35
    assert measurement.odi_score is not None
    valid(post(writer, _response(patient), 422))  # the window is answered already
    assert OutcomeMeasurement.objects.filter(patient=patient).count() == 1


def test_a_response_for_another_patients_visit_or_outside_a_window_is_refused(
    clinician: Any,
) -> None:
    mine = treated(clinician, 40, email="a@example.org")
    theirs = treated(clinician, 41, email="b@example.org")
    writer = api_client(can_write=True, name="app")
    their_visit = theirs.visits.get(key="6w")
    outcome = valid(post(writer, _response(mine, visit=their_visit.pk), 422))
    assert "another patient" in outcome["issue"][0]["diagnostics"]
    closed = treated(clinician, 500, email="c@example.org")  # between the 12- and 24-month windows
    valid(post(writer, _response(closed), 422))
    valid(post(writer, "{not json", 400))
    valid(post(writer, {"resourceType": "Patient"}, 400))
    valid(post(writer, {**_response(mine), "status": "in-progress"}, 422))
    valid(post(writer, _response(mine, pain=900), 422))
    assert not OutcomeMeasurement.objects.filter(patient=mine).exists()


def test_the_clinic_admin_issues_and_revokes_tokens_on_a_page(
    admin_client: Client, clinician_client: Client
) -> None:
    assert clinician_client.get("/api-tokens/").status_code == 403
    page = admin_client.post("/api-tokens/", {"name": "registry"})
    assert page.status_code == 200 and b"shown this once" in page.content
    from spinepath.fhir_api.models import ApiToken

    token = ApiToken.objects.get(name="registry")
    assert admin_client.post(f"/api-tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_at <= timezone.now() + timedelta(
        seconds=1
    )


def test_odd_input_gets_an_operation_outcome_never_a_server_error(clinician: Any) -> None:
    patient = treated(clinician, 40)
    writer = api_client(can_write=True, name="app")
    document = _response(patient)
    document["item"][1]["answer"][0]["valueCoding"]["code"] = "³"
    valid(post(writer, document, 422))
    sub = _response(patient)
    sub["subject"]["reference"] = "Patient/¹"
    valid(post(writer, sub, 422))
    nested = '{"resourceType": "QuestionnaireResponse", "x": ' + "[" * 50000 + "]" * 50000 + "}"
    valid(post(writer, nested, 400))
    assert Client().post(f"{BASE}/metadata").status_code == 405
    bare = Client().get("/fhir")
    assert bare.status_code == 404 and bare["Content-Type"] == "application/fhir+json"
    from spinepath.followup.models import QuestionnaireLink

    assert not QuestionnaireLink.objects.filter(visit__patient=patient).exists()


def test_a_visit_id_in_other_digits_is_a_clear_refusal_not_a_server_error(
    patient: Patient,
) -> None:
    client = api_client(can_write=True)
    for value in ("²", "１２", "12a"):
        response = client.post(
            f"{BASE}/QuestionnaireResponse",
            data=json.dumps(
                {
                    "resourceType": "QuestionnaireResponse",
                    "status": "completed",
                    "subject": {"reference": f"Patient/{patient.pk}"},
                    "identifier": {"system": "urn:spinepath:visit", "value": value},
                    "item": [{"linkId": "pain", "answer": [{"valueInteger": 20}]}],
                }
            ),
            content_type="application/fhir+json",
        )
        assert response.status_code in (400, 404, 422), (value, response.status_code)
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"


# --- The ICHOM low back pain measures through the API (PATHWAY.md section 11) -----------------

LBP_ITEMS = [
    {"linkId": "back-pain", "answer": [{"valueInteger": 6}]},
    {"linkId": "leg-pain", "answer": [{"valueInteger": 2}]},
    {"linkId": "work-status", "answer": [{"valueCoding": {"code": "part_time_back_pain"}}]},
    {"linkId": "analgesics", "answer": [{"valueCoding": {"code": "daily"}}]},
    {"linkId": "opioids", "answer": [{"valueBoolean": False}]},
]


def test_an_app_sends_back_and_leg_pain_work_and_medication_and_reads_them_back(
    clinician: Any,
) -> None:
    patient = treated(clinician, 40)
    questionnaire = get(api_client(), "/Questionnaire/lbp")
    assert [i["linkId"] for i in questionnaire["item"]] == [
        "back-pain",
        "leg-pain",
        "work-status",
        "analgesics",
        "opioids",
    ]
    document = _response(patient)
    document["item"] += LBP_ITEMS
    stored = valid(post(api_client(can_write=True, name="app"), document, 201))
    measurement = OutcomeMeasurement.objects.get(patient=patient)
    assert (measurement.back_pain_nrs, measurement.leg_pain_nrs) == (6, 2)
    assert (measurement.work_status, measurement.analgesic_use, measurement.opioid_use) == (
        "part_time_back_pain",
        "daily",
        False,
    )
    assert measurement.pain_vas == 35  # the overall pain, as sent
    answered = {i["linkId"]: i["answer"][0] for i in stored["item"]}
    assert answered["back-pain"] == {"valueInteger": 6}
    assert answered["work-status"]["valueCoding"]["code"] == "part_time_back_pain"
    assert answered["opioids"] == {"valueBoolean": False}


def test_an_app_that_does_not_ask_them_still_stores_its_answers(clinician: Any) -> None:
    patient = treated(clinician, 40)
    valid(post(api_client(can_write=True, name="app"), _response(patient), 201))
    assert OutcomeMeasurement.objects.get(patient=patient).back_pain_nrs is None


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"linkId": "back-pain", "answer": [{"valueInteger": 11}]}, "back-pain"),
        ({"linkId": "leg-pain", "answer": [{"valueString": "3"}]}, "leg-pain"),
        ({"linkId": "work-status", "answer": [{"valueCoding": {"code": "x"}}]}, "work-status"),
        ({"linkId": "opioids", "answer": [{"valueInteger": 1}]}, "opioids"),
    ],
)
def test_a_wrong_low_back_pain_answer_is_an_operation_outcome_naming_its_item(
    clinician: Any, item: dict[str, Any], words: str
) -> None:
    patient = treated(clinician, 40)
    document = _response(patient)
    document["item"].append(item)
    outcome = valid(post(api_client(can_write=True, name="app"), document, 422))
    assert words in outcome["issue"][0]["diagnostics"]
    assert not OutcomeMeasurement.objects.filter(patient=patient).exists()


def test_opioids_without_pain_medication_are_refused_by_the_rules(clinician: Any) -> None:
    patient = treated(clinician, 40)
    document = _response(patient)
    document["item"] += [
        {"linkId": "analgesics", "answer": [{"valueCoding": {"code": "none"}}]},
        {"linkId": "opioids", "answer": [{"valueBoolean": True}]},
    ]
    outcome = valid(post(api_client(can_write=True, name="app"), document, 422))
    assert "no pain medication" in outcome["issue"][0]["diagnostics"]
    assert not OutcomeMeasurement.objects.filter(patient=patient).exists()
