"""The clinic's PACS over DICOMweb, against a real Orthanc with its DICOMweb plugin (Debian's
orthanc and orthanc-dicomweb, started here on free local ports; the test is skipped with the
reason where they are not installed). The studies are synthetic, made with pydicom."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dicom_helpers import study_files

from spinepath.consultations.models import ImagingStudy
from spinepath.patients.models import Patient

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(ORTHANC).exists() or not PLUGIN.exists():
        pytest.skip(
            "Orthanc and its DICOMweb plugin are not installed (apt: orthanc orthanc-dicomweb)"
        )
    folder = tmp_path_factory.mktemp("orthanc")
    port = _free_port()
    config = {
        "Name": "spinepath-test",
        "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"),
        "HttpPort": port,
        "DicomPort": _free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [ORTHANC, str(folder / "orthanc.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/system", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("Orthanc did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def upload(base: str, folder: Path) -> None:
    for path in sorted(folder.glob("*.dcm")):
        request = urllib.request.Request(f"{base}/instances", data=path.read_bytes(), method="POST")
        urllib.request.urlopen(request, timeout=10).read()


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
    settings.SPINEPATH_DICOMWEB_URL = f"http://127.0.0.1:{_free_port()}/dicom-web"
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
