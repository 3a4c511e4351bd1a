"""Patient list and search (name, date of birth, record number); the patient form."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client
from web_helpers import acting

from spinepath.patients.services import patient_create


def test_search_by_last_name_prefix(clinician_client: Client, clinician: Any) -> None:
    patient_create(actor=acting(clinician), details={"given_name": "Maria", "family_name": "Lopez"})
    patient_create(actor=acting(clinician), details={"given_name": "Mark", "family_name": "Lowe"})
    patient_create(actor=acting(clinician), details={"given_name": "Zoe", "family_name": "Adams"})
    response = clinician_client.get("/patients/?q=lo")
    names = [p.family_name for p in response.context["patients"]]
    assert names == ["Lopez", "Lowe"]


def test_search_by_first_and_last_name(clinician_client: Client, clinician: Any) -> None:
    patient_create(actor=acting(clinician), details={"given_name": "Maria", "family_name": "Lopez"})
    response = clinician_client.get("/patients/?q=maria lo")
    assert [p.given_name for p in response.context["patients"]] == ["Maria"]


def test_search_by_birth_date_and_record_number(clinician_client: Client, clinician: Any) -> None:
    p = patient_create(
        actor=acting(clinician),
        details={"given_name": "Ann", "family_name": "Birch", "birth_date": date(1970, 5, 1)},
    )
    assert list(clinician_client.get("/patients/?q=1970-05-01").context["patients"]) == [p]
    assert list(clinician_client.get(f"/patients/?q={p.mrn}").context["patients"]) == [p]
    assert list(clinician_client.get(f"/patients/?q={p.pk}").context["patients"]) == [p]


def test_search_with_htmx_returns_only_the_results(
    clinician_client: Client, clinician: Any
) -> None:
    patient_create(actor=acting(clinician), details={"given_name": "Maria", "family_name": "Lopez"})
    response = clinician_client.get("/patients/?q=lop", HTTP_HX_REQUEST="true")
    assert b"Lopez, Maria" in response.content
    assert b"<html" not in response.content


def test_new_patient_form_keeps_input_on_error(clinician_client: Client) -> None:
    form = clinician_client.get("/patients/new/").context["form"]
    response = clinician_client.post(
        "/patients/new/",
        {
            "given_name": "Maria",
            "family_name": "",
            "email": "not-an-email",
            "submission": form.initial["submission"],
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"family_name", "email"}
    assert b'value="Maria"' in response.content
