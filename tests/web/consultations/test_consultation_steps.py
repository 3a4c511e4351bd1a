"""Recording a consultation: the steps save as you go and keep what was typed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from web_helpers import HISTORY, acting, start

from spinepath.consultations.actions import study_save
from spinepath.consultations.models import DiagnosticBlock, ImagingStudy
from spinepath.errors import NotAllowed
from spinepath.patients.services import patient_create


def test_history_step_saves_and_continues(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/history/", {**HISTORY, "next": "exam"}
    )
    assert response["Location"] == f"/consultations/{encounter.pk}/exam/"
    encounter.refresh_from_db()
    assert encounter.pain_vas == 70 and encounter.nsaid_trial is True
    assert encounter.odi_sections == [2] * 10


def test_blank_answers_stay_not_recorded(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    clinician_client.post(
        f"/consultations/{encounter.pk}/history/", {**HISTORY, "nsaid_trial": "", "odi_3": ""}
    )
    encounter.refresh_from_db()
    assert encounter.nsaid_trial is None
    assert encounter.odi_sections is not None and encounter.odi_sections[2] is None


def test_invalid_vas_is_named_and_the_rest_is_kept(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/history/", {**HISTORY, "pain_vas": "140"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["pain_vas"] == [
        "Ensure this value is less than or equal to 100."
    ]
    assert b"Garden again" in response.content
    encounter.refresh_from_db()
    assert encounter.pain_vas is None  # nothing half-saved


def test_half_finished_consultation_is_resumed_by_another_user(
    clinician_client: Client, clinician: Any, coordinator_client: Client
) -> None:
    encounter = start(coordinator_client, clinician)
    coordinator_client.post(f"/consultations/{encounter.pk}/history/", HISTORY)
    response = clinician_client.get(f"/patients/{encounter.patient_id}/")
    assert b"Resume consultation" in response.content
    page = clinician_client.get(f"/consultations/{encounter.pk}/history/")
    assert b"Garden again" in page.content


def test_exam_step_records_the_exam(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    clinician_client.post(
        f"/consultations/{encounter.pk}/exam/",
        {
            "motor_deficit": "none",
            "facet_pattern": "true",
            "si_provocation_positive": "1",
            "ligament_tenderness": "false",
        },
    )
    encounter.refresh_from_db()
    assert encounter.motor_deficit == "none" and encounter.facet_pattern is True


def test_si_tests_over_six_are_refused(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/exam/", {"si_provocation_positive": "9"}
    )
    assert "si_provocation_positive" in response.context["form"].errors


def test_add_a_study_and_its_findings(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {
            "form": "study",
            "study-modality": "MRI",
            "study-performed_on": "2026-08-20",
            "study-attest": "on",
        },
    )
    study = ImagingStudy.objects.get(patient=encounter.patient)
    assert response["Location"] == f"/consultations/{encounter.pk}/imaging/{study.pk}/"
    assert study.reviewed_by == clinician
    page = clinician_client.get(f"/consultations/{encounter.pk}/imaging/{study.pk}/")
    data = {
        "study-shown": page.context["form"]["shown"].value(),  # the version the page showed
        "study-modality": "MRI",
        "study-performed_on": "2026-08-20",
        "study-attest": "on",
        "lv-TOTAL_FORMS": "5",
        "lv-INITIAL_FORMS": "5",
    }
    for i, level in enumerate(["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]):
        data[f"lv-{i}-level"] = level
    data.update(
        {
            "lv-3-pfirrmann": "4",
            "lv-3-disc_height_loss_pct": "25",
            "lv-3-endplate_bone_on_bone": "false",
        }
    )
    clinician_client.post(f"/consultations/{encounter.pk}/imaging/{study.pk}/", data)
    finding = study.levels.get()
    assert (finding.level, finding.pfirrmann, finding.disc_height_loss_pct) == ("L4-L5", 4, 25)


def test_a_coordinator_cannot_mark_imaging_reviewed(
    coordinator_client: Client, clinician: Any
) -> None:
    encounter = start(coordinator_client, clinician)
    page = coordinator_client.get(f"/consultations/{encounter.pk}/imaging/")
    assert b"I have reviewed this study" not in page.content
    response = coordinator_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {
            "form": "study",
            "study-modality": "MRI",
            "study-performed_on": "2026-08-20",
            "study-attest": "on",
        },
    )
    assert response.status_code == 403
    assert "Only a clinician can record or change imaging findings." in response.content.decode()
    assert not ImagingStudy.objects.exists()


def test_the_study_service_refuses_a_coordinators_review(coordinator: Any, clinician: Any) -> None:
    patient = patient_create(
        actor=acting(clinician), details={"given_name": "Maria", "family_name": "Lopez"}
    )
    with pytest.raises(NotAllowed):
        study_save(
            patient=patient,
            actor=acting(coordinator),
            fields={"modality": "MRI", "performed_on": date(2026, 8, 20)},
            attest=True,
        )
    assert not ImagingStudy.objects.exists()


def test_imaging_findings_are_a_clinicians_so_a_coordinator_imports_them_unreviewed(
    coordinator_client: Client, clinician: Any
) -> None:
    encounter = start(coordinator_client, clinician)
    response = coordinator_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {"form": "study", "study-modality": "MRI", "study-performed_on": "2026-08-20"},
    )
    assert response.status_code == 403
    assert not ImagingStudy.objects.exists()
    page = coordinator_client.get(f"/consultations/{encounter.pk}/imaging/")
    assert b"Only a clinician records imaging findings" in page.content


def test_a_review_date_in_the_future_is_refused(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/history/", {**HISTORY, "assessed_on": "2026-12-24"}
    )
    assert response.context["form"].errors["assessed_on"] == [
        "The review date cannot be in the future."
    ]


def test_a_guessed_consultation_id_is_404(clinician_client: Client, db: Any) -> None:
    for step in ("history", "exam", "imaging", "review"):
        assert clinician_client.get(f"/consultations/999999/{step}/").status_code == 404


def test_study_of_another_patient_is_not_reachable(
    clinician_client: Client, clinician: Any
) -> None:
    mine = start(clinician_client, clinician)
    other = patient_create(
        actor=acting(clinician), details={"given_name": "Other", "family_name": "Person"}
    )
    study = ImagingStudy.objects.create(patient=other, performed_on="2026-01-01")
    assert clinician_client.get(f"/consultations/{mine.pk}/imaging/{study.pk}/").status_code == 404


def test_block_without_relief_is_named(clinician_client: Client, clinician: Any) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {
            "form": "block",
            "block-kind": "medial_branch",
            "block-performed_on": "2026-10-01",
            "block-levels": ["L5-S1"],
            "block-side": "left",
        },
    )
    assert response.status_code == 400
    assert "relief_pct" in response.context["block_form"].errors
    assert not DiagnosticBlock.objects.exists()
