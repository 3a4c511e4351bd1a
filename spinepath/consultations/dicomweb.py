"""The clinic's PACS over DICOMweb (SPINEPATH_DICOMWEB_URL): find a patient's studies
(QIDO-RS) and read a chosen study's headers (WADO-RS metadata) - never its pixels. What it
reads becomes an import like any other (spinepath/consultations/dicom.py), held to the same
checks: the study's patient must be the record's, MRI only, recorded unreviewed."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings

from spinepath.consultations.dicom import DicomProblem, Study, _date, studies_from_datasets
from spinepath.patients.models import Patient

TIMEOUT = 20
MAX_RESULTS = 50
DICOM_JSON = "application/dicom+json"


class PacsProblem(DicomProblem):
    """The PACS could not be reached or answered something unreadable."""


@dataclass(frozen=True)
class PacsStudy:
    uid: str
    study_date: date | None
    description: str
    modalities: str
    patient_name: str
    birth_date: date | None


def configured() -> bool:
    return bool(settings.SPINEPATH_DICOMWEB_URL)


def _get(path: str, params: dict[str, str] | None = None) -> Any:
    base = settings.SPINEPATH_DICOMWEB_URL.rstrip("/")
    # Wildcards and lists unescaped: some PACSs (Orthanc 1.10) do not decode %2A.
    query = urllib.parse.urlencode(params, safe="*,^") if params else ""
    url = f"{base}/{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, headers={"Accept": DICOM_JSON})
    if settings.SPINEPATH_DICOMWEB_USER:
        import base64

        pair = f"{settings.SPINEPATH_DICOMWEB_USER}:{settings.SPINEPATH_DICOMWEB_PASSWORD}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read(64 * 1024 * 1024)
    except urllib.error.HTTPError as error:
        raise PacsProblem(f"the PACS answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise PacsProblem(
            f"the PACS cannot be reached ({getattr(error, 'reason', error)})"
        ) from None
    if not body.strip():
        return []
    try:
        return json.loads(body)
    except ValueError:
        raise PacsProblem("the PACS answered something that is not DICOM JSON") from None


def _value(item: dict[str, Any], tag: str) -> str:
    values = (item.get(tag) or {}).get("Value") or [""]
    first = values[0]
    if isinstance(first, dict):
        return str(first.get("Alphabetic", ""))
    return str(first)


def find_studies(patient: Patient) -> list[PacsStudy]:
    """QIDO-RS: the PACS's studies under the patient's family name and birth date."""
    params = {
        "PatientName": f"{patient.family_name}*",
        "includefield": "00081030,00080061",
        "limit": str(MAX_RESULTS),
    }
    if patient.birth_date:
        params["PatientBirthDate"] = patient.birth_date.strftime("%Y%m%d")
    found = _get("studies", params)
    if not isinstance(found, list):
        raise PacsProblem("the PACS answered something that is not a list of studies")
    studies = []
    for item in found[:MAX_RESULTS]:
        if not isinstance(item, dict):
            continue
        studies.append(
            PacsStudy(
                uid=_value(item, "0020000D"),
                study_date=_date(_value(item, "00080020")),
                description=_value(item, "00081030")[:200],
                modalities=", ".join(
                    str(v) for v in (item.get("00080061") or {}).get("Value") or []
                ),
                patient_name=_value(item, "00100010").replace("^", ", ", 1).replace("^", " "),
                birth_date=_date(_value(item, "00100030")),
            )
        )
    return sorted(studies, key=lambda s: s.study_date or date.min, reverse=True)


def fetch_study(study_uid: str) -> Study:
    """WADO-RS metadata of one study: its headers, read as the DICOM files would be."""
    from pydicom import Dataset

    if (
        not study_uid
        or len(study_uid) > 64
        or not study_uid.isascii()
        or not all(c.isdecimal() or c == "." for c in study_uid)
    ):
        raise PacsProblem("study: not a DICOM study UID")
    instances = _get(f"studies/{study_uid}/metadata")
    if not isinstance(instances, list) or not instances:
        raise PacsProblem("the PACS has no such study")
    try:
        datasets = [
            Dataset.from_json({k: v for k, v in item.items() if "BulkDataURI" not in v})
            for item in instances
            if isinstance(item, dict)
        ]
    except Exception as exc:  # malformed DICOM JSON names itself
        raise PacsProblem(f"the PACS's metadata cannot be read ({type(exc).__name__})") from None
    studies = studies_from_datasets(datasets)
    if len(studies) != 1:
        raise PacsProblem("the PACS's metadata does not describe one study")
    return studies[0]
