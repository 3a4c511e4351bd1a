"""The clinic's PACS over DICOMweb, against a real Orthanc with its DICOMweb plugin (Debian's
orthanc and orthanc-dicomweb, started on free local ports by pacs_helpers; the test is skipped
with the reason where they are not installed). The studies are synthetic, made with pydicom."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dicom_helpers import study_files
from pacs_helpers import free_port, upload

from spinepath.consultations.models import ImagingStudy
from spinepath.patients.models import Patient


@pytest.fixture
def patient_encounter(coordinator: Any, coordinator_client: Any) -> Any:
    from web_helpers import start

    encounter = start(coordinator_client, coordinator)
    Patient.objects.filter(pk=encounter.patient_id).update(
        birth_date=date(1961, 4, 30), sex="female"
    )
    return encounter


def test_a_study_is_found_in_the_pacs_and_imported_once(
    orthanc: str, patient_encounter: Any, coordinator_client: Any, settings: Any, tmp_path: Path
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"{orthanc}/dicom-web"
    mine = study_files(tmp_path / "mine", series=2, instances=2)
    other = study_files(tmp_path / "other", name="Smith^John", birth=date(1950, 1, 2), sex="M")
    upload(orthanc, tmp_path / "mine")
    upload(orthanc, tmp_path / "other")
    url = f"/consultations/{patient_encounter.pk}/imaging/pacs/"
    page = coordinator_client.get(url)
    assert page.status_code == 200
    assert mine.encode() in page.content and other.encode() not in page.content
    done = coordinator_client.post(url, {"study_uid": mine}, follow=True)
    assert b"imported from the PACS" in done.content
    study = ImagingStudy.objects.get(study_uid=mine)
    assert (study.reviewed, study.performed_on, len(study.series)) == (False, date(2026, 10, 20), 2)
    again = coordinator_client.post(url, {"study_uid": mine}, follow=True)
    assert b"already on the record" in again.content
    assert ImagingStudy.objects.filter(study_uid=mine).count() == 1
    # Another patient's study, asked for by its UID, is refused with the fields named.
    refused = coordinator_client.post(url, {"study_uid": other}, follow=True)
    assert b"Nothing was imported" in refused.content and b"patient name" in refused.content
    assert (
        b"not a DICOM study UID"
        in coordinator_client.post(url, {"study_uid": "1.2.3; DROP"}, follow=True).content
    )


def test_an_unreachable_pacs_is_said_not_a_server_error(
    patient_encounter: Any, coordinator_client: Any, settings: Any
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    page = coordinator_client.get(f"/consultations/{patient_encounter.pk}/imaging/pacs/")
    assert page.status_code == 502 and b"The PACS search failed" in page.content


def test_without_a_pacs_the_page_does_not_exist(
    patient_encounter: Any, coordinator_client: Any, settings: Any
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = ""
    assert (
        coordinator_client.get(f"/consultations/{patient_encounter.pk}/imaging/pacs/").status_code
        == 404
    )
