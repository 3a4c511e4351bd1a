"""Issue 23, point 1: the PACS search shows the chart's patient's studies and nobody else's.

A coordinator who makes up a chart (family name ``*`` or ``S``, no birth date) must not list
the PACS. Against the real Orthanc of pacs_helpers (a PACS full of other people), and against a
stand-in PACS that records exactly what it was asked and answers whatever it likes."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dicom_helpers import study_files
from django.test import Client
from pacs_helpers import upload
from web_helpers import start

from spinepath.audit.models import AuditEvent
from spinepath.consultations.models import Encounter, ImagingStudy
from spinepath.patients.models import Patient

# Other people in the PACS: nobody's chart below may show them.
OTHERS = [
    ("Smith^John", date(1950, 1, 2), "M"),
    ("Smithers^Sam", date(1970, 3, 4), "M"),
    ("Sanchez^Ana", date(1961, 4, 30), "F"),  # the chart's birth date, another name
    ("Lopez^Maria", date(1961, 4, 30), "M"),  # the chart's name and birth date, another sex
]


@pytest.fixture(scope="module")
def pacs(orthanc: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Orthanc holding the chart's patient's MRI and the others' (name -> study UID)."""
    folder = tmp_path_factory.mktemp("pacs-studies")
    uids = {}
    for index, (name, birth, sex) in enumerate(OTHERS):
        uids[f"{name}/{sex}"] = study_files(
            folder / str(index), name=name, birth=birth, sex=sex, series=1, instances=1
        )
        upload(orthanc, folder / str(index))
    uids["mine"] = study_files(
        folder / "mine", name="LOPEZ^MARIA", birth=date(1961, 4, 30), sex="F", series=1
    )
    upload(orthanc, folder / "mine")
    return uids


def _chart(
    client: Client, user: Any, family: str, given: str, birth: date | None, sex: str = "female"
) -> Encounter:
    encounter = start(client, user)
    Patient.objects.filter(pk=encounter.patient_id).update(
        family_name=family, given_name=given, birth_date=birth, sex=sex
    )
    return encounter


def _page(client: Client, encounter: Encounter) -> Any:
    return client.get(f"/consultations/{encounter.pk}/imaging/pacs/")


def _shows_nobody_else(page: Any) -> None:
    """None of the other people in the PACS, by name or birth date (but the chart's own)."""
    for name, birth, _sex in OTHERS[:2]:
        assert name.split("^")[0].encode() not in page.content, name
        assert birth.isoformat().encode() not in page.content, name
    assert b"Sanchez" not in page.content


@pytest.mark.parametrize("family", ["*", "S", "S*", "?", "Lo?ez"])
def test_a_made_up_chart_without_a_birth_date_lists_nobody(
    family: str,
    pacs: dict[str, str],
    orthanc: str,
    coordinator: Any,
    coordinator_client: Client,
    settings: Any,
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"{orthanc}/dicom-web"
    encounter = _chart(coordinator_client, coordinator, family, "", None)
    page = _page(coordinator_client, encounter)
    assert page.status_code == 200
    assert b"The PACS was not searched." in page.content
    assert b"This chart has no given name and date of birth." in page.content
    _shows_nobody_else(page)
    assert b"Lopez" not in page.content and b"1961-04-30" not in page.content


@pytest.mark.parametrize("family", ["*", "S*", "Lo?ez", "Lopez^Maria", "Lopez\\Garcia", "Lo=pez"])
def test_a_name_a_pacs_would_read_as_a_pattern_is_not_searched(
    family: str,
    pacs: dict[str, str],
    orthanc: str,
    coordinator: Any,
    coordinator_client: Client,
    settings: Any,
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"{orthanc}/dicom-web"
    encounter = _chart(coordinator_client, coordinator, family, "Maria", date(1961, 4, 30))
    page = _page(coordinator_client, encounter)
    assert b"The PACS was not searched." in page.content
    assert b"holds characters a PACS reads as a pattern or a separator" in page.content
    assert pacs["mine"].encode() not in page.content
    _shows_nobody_else(page)


def test_a_short_name_with_a_real_birth_date_finds_only_an_exact_match(
    pacs: dict[str, str],
    orthanc: str,
    coordinator: Any,
    coordinator_client: Client,
    settings: Any,
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"{orthanc}/dicom-web"
    # "S" with Smith's given name and birth date: no prefix search, so Smith stays unseen.
    encounter = _chart(coordinator_client, coordinator, "S", "John", date(1950, 1, 2), "male")
    page = _page(coordinator_client, encounter)
    assert page.status_code == 200
    assert b"No study found for this patient." in page.content
    assert (
        b"Smith" not in page.content
        and b"born 1950-01-02" not in page.content.split(b"studies in the PACS")[1]
    )


def test_the_patient_s_own_studies_are_listed_and_the_others_withheld_and_audited(
    pacs: dict[str, str],
    orthanc: str,
    coordinator: Any,
    coordinator_client: Client,
    settings: Any,
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"{orthanc}/dicom-web"
    encounter = _chart(coordinator_client, coordinator, "Lopez", "Maria", date(1961, 4, 30))
    page = _page(coordinator_client, encounter)
    assert page.status_code == 200
    # The chart's patient (the PACS writes her name in capitals) ...
    assert pacs["mine"].encode() in page.content
    assert b"LOPEZ, MARIA, born 1961-04-30" in page.content
    # ... and not the man the PACS holds under the same name and birth date.
    assert pacs["Lopez^Maria/M"].encode() not in page.content
    assert b"The PACS also answered 1 study whose patient's details differ" in page.content
    _shows_nobody_else(page)
    event = AuditEvent.objects.filter(action="view").order_by("-seq").first()
    assert event is not None and event.patient_id == encounter.patient_id
    assert event.what == "consultation: the patient's studies in the PACS"
    assert event.detail["pacs_studies"] == [pacs["mine"]]
    assert event.detail["pacs_withheld"] == "1"


def test_a_chart_without_a_birth_date_imports_nothing_from_the_pacs(
    pacs: dict[str, str],
    orthanc: str,
    coordinator: Any,
    coordinator_client: Client,
    settings: Any,
) -> None:
    settings.SPINEPATH_DICOMWEB_URL = f"{orthanc}/dicom-web"
    encounter = _chart(coordinator_client, coordinator, "Lopez", "Maria", None)
    url = f"/consultations/{encounter.pk}/imaging/pacs/"
    page = coordinator_client.post(url, {"study_uid": pacs["mine"]})
    assert page.status_code == 409
    assert b"This chart has no date of birth." in page.content
    assert not ImagingStudy.objects.filter(study_uid=pacs["mine"]).exists()
    # The page it answered with is recorded too (a POST that shows the chart's patient).
    event = AuditEvent.objects.filter(action="view").order_by("-seq").first()
    assert event is not None and event.patient_id == encounter.patient_id
    assert (event.detail["method"], event.detail["status"]) == ("POST", "409")


# --- A stand-in PACS: what exactly is asked, and a PACS that answers too much ------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    asked: list[str] = []
    answer: list[dict[str, Any]] = []

    def do_GET(self) -> None:
        type(self).asked.append(self.path)
        body = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _study(uid: str, name: str, birth: str, sex: str) -> dict[str, Any]:
    return {
        "0020000D": {"vr": "UI", "Value": [uid]},
        "00080020": {"vr": "DA", "Value": ["20261020"]},
        "00081030": {"vr": "LO", "Value": ["MRI LUMBAR SPINE"]},
        "00080061": {"vr": "CS", "Value": ["MR"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": name}]},
        "00100030": {"vr": "DA", "Value": [birth]},
        "00100040": {"vr": "CS", "Value": [sex]},
    }


@pytest.fixture
def careless_pacs(settings: Any) -> Iterator[type[_Recorder]]:
    """A PACS that ignores the query and answers every study it has."""
    _Recorder.asked, _Recorder.answer = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SPINEPATH_DICOMWEB_URL = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    try:
        yield _Recorder
    finally:
        server.shutdown()
        server.server_close()


def test_the_query_is_the_exact_name_and_birth_date_never_a_wildcard(
    careless_pacs: type[_Recorder], coordinator: Any, coordinator_client: Client
) -> None:
    encounter = _chart(coordinator_client, coordinator, "O'Brien", "Mary Ann", date(1955, 5, 5))
    assert _page(coordinator_client, encounter).status_code == 200
    (asked,) = careless_pacs.asked
    assert asked.startswith("/dicom-web/studies?")
    assert "PatientName=O'Brien^Mary%20Ann&" in asked
    assert "PatientBirthDate=19550505&" in asked
    assert "*" not in asked and "?" not in asked.split("?", 1)[1]


def test_what_a_careless_pacs_answers_about_others_is_never_shown(
    careless_pacs: type[_Recorder], coordinator: Any, coordinator_client: Client
) -> None:
    careless_pacs.answer = [
        _study("1.2.3.1", "Lopez^Maria", "19610430", "F"),
        _study("1.2.3.2", "Smith^John", "19500102", "M"),
        _study("1.2.3.3", "Lopez^Maria", "19610501", "F"),
        _study("1.2.3.4", "Lopez", "19610430", "F"),  # no given name
        _study("1.2.3.5", "Lopez^Maria", "", "F"),  # no birth date
        _study("1.2.3.6; <script>", "Lopez^Maria", "19610430", "F"),  # not a UID
    ]
    encounter = _chart(coordinator_client, coordinator, "Lopez", "Maria", date(1961, 4, 30))
    page = _page(coordinator_client, encounter)
    assert page.status_code == 200
    assert b"1.2.3.1" in page.content
    for withheld in (b"1.2.3.2", b"1.2.3.3", b"1.2.3.4", b"1.2.3.5", b"1.2.3.6", b"Smith"):
        assert withheld not in page.content
    assert b"1950-01-02" not in page.content and b"1961-05-01" not in page.content
    assert b"The PACS also answered 5 studies" in page.content
    event = AuditEvent.objects.filter(action="view").order_by("-seq").first()
    assert event is not None and event.detail["pacs_studies"] == ["1.2.3.1"]


def test_a_record_without_a_birth_date_never_asks_the_pacs(
    careless_pacs: type[_Recorder], coordinator: Any, coordinator_client: Client, tmp_path: Path
) -> None:
    careless_pacs.answer = [_study("1.2.3.2", "Smith^John", "19500102", "M")]
    encounter = _chart(coordinator_client, coordinator, "*", "*", None)
    page = _page(coordinator_client, encounter)
    assert b"This chart has no date of birth." in page.content
    assert b"Smith" not in page.content
    assert careless_pacs.asked == []
