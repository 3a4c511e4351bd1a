"""The clinic's PACS over DICOMweb (SPINEPATH_DICOMWEB_URL): find a patient's studies
(QIDO-RS) and read a chosen study's headers (WADO-RS metadata) - never its pixels. What it
reads becomes an import like any other (spinepath/consultations/dicom.py), held to the same
checks: the study's patient must be the record's, MRI only, recorded unreviewed.

The search shows this patient's studies and nobody else's:

- it asks for the record's exact family and given names (``family^given``) and birth date, never
  a pattern: a record without all three does not search, and a name with a character the PACS
  reads as a wildcard or a separator (``*``, ``?``, ``^``, ``\\``, ``=``, ...) is refused, since
  DICOM has no way to escape them;
- what the PACS answers is checked again here, study by study, against the record (the same
  comparison as an import's); any other patient's study is left out, unseen.
"""

from __future__ import annotations

import json
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings

from spinepath.consultations.dicom import DicomProblem, Study, _date, studies_from_datasets
from spinepath.pathway.dicom_check import DicomPatient, RecordPatient, demographic_mismatches
from spinepath.patients.models import Patient

TIMEOUT = 20
MAX_RESULTS = 50
DICOM_JSON = "application/dicom+json"


class PacsProblem(DicomProblem):
    """The PACS could not be reached or answered something unreadable."""


class CannotSearch(DicomProblem):
    """The record lacks what an exact search needs (names, birth date), or holds a name a
    PACS would read as a pattern: nothing is asked of the PACS."""


@dataclass(frozen=True)
class PacsStudy:
    uid: str
    study_date: date | None
    description: str
    modalities: str
    patient_name: str
    birth_date: date | None


@dataclass(frozen=True)
class PacsSearch:
    studies: list[PacsStudy]  # the record's patient's, and only theirs
    withheld: int  # studies the PACS answered for someone else, not shown


def configured() -> bool:
    return bool(settings.SPINEPATH_DICOMWEB_URL)


def _get(path: str, params: list[tuple[str, str]] | None = None) -> Any:
    base = settings.SPINEPATH_DICOMWEB_URL.rstrip("/")
    # Percent-encoded except the name's component separator and apostrophes, and the lists
    # of fields (some PACSs, Orthanc 1.10 among them, do not decode %5E, %27 or %2C).
    query = (
        urllib.parse.urlencode(params, safe="^',", quote_via=urllib.parse.quote) if params else ""
    )
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


# Letters of any script (and their accents), spaces, hyphens, apostrophes and full stops: what
# names are made of. Anything else (* ? are DICOM wildcards, ^ = \\ separate components,
# groups and values) would make the exact search a pattern or a list, with no escape.
_NAME_PUNCTUATION = set(" -'.’")


def _name_problem(label: str, text: str) -> str | None:
    odd = sorted(
        {c for c in text if not (c.isalpha() or unicodedata.category(c).startswith("M"))}
        - _NAME_PUNCTUATION
    )
    if not odd:
        return None
    shown = " ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in odd)
    return (
        f"The chart's {label} holds characters a PACS reads as a pattern or a separator "
        f"({shown}), so the PACS is not searched: correct the {label} on the patient's details "
        "first."
    )


def search_problem(patient: Patient) -> str | None:
    """Why this record cannot search the PACS, in words, or None."""
    missing = [
        label
        for label, value in (
            ("family name", patient.family_name.strip()),
            ("given name", patient.given_name.strip()),
            ("date of birth", patient.birth_date),
        )
        if not value
    ]
    if missing:
        what = (
            " and ".join(missing)
            if len(missing) < 3
            else "family name, given name and date of birth"
        )
        return (
            f"This chart has no {what}. The PACS is searched by the family name, given name and "
            "date of birth together, so that it shows this patient's studies and no one else's: "
            f"add the {what} on the patient's details first."
        )
    for label, value in (("family name", patient.family_name), ("given name", patient.given_name)):
        problem = _name_problem(label, value.strip())
        if problem:
            return problem
    return None


def _split_name(alphabetic: str) -> tuple[str, str]:
    parts = alphabetic.split("=")[0].split("^")
    return parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")


def find_studies(patient: Patient) -> PacsSearch:
    """QIDO-RS: the PACS's studies of exactly this patient (family^given and birth date), each
    checked again against the record before it is shown."""
    problem = search_problem(patient)
    if problem:
        raise CannotSearch(problem)
    assert patient.birth_date is not None
    params = [
        ("PatientName", f"{patient.family_name.strip()}^{patient.given_name.strip()}"),
        ("PatientBirthDate", patient.birth_date.strftime("%Y%m%d")),
        ("includefield", "00081030,00080061,00100040"),
        ("limit", str(MAX_RESULTS)),
    ]
    found = _get("studies", params)
    if not isinstance(found, list):
        raise PacsProblem("the PACS answered something that is not a list of studies")
    record = RecordPatient(patient.family_name, patient.given_name, patient.birth_date, patient.sex)
    studies, withheld = [], 0
    for item in found[:MAX_RESULTS]:
        if not isinstance(item, dict):
            continue
        family, given = _split_name(_value(item, "00100010"))
        birth_date = _date(_value(item, "00100030"))
        uid = _value(item, "0020000D")
        theirs = DicomPatient(family, given, birth_date, _value(item, "00100040")[:16])
        if demographic_mismatches(theirs, record) or not _is_uid(uid):
            withheld += 1
            continue
        studies.append(
            PacsStudy(
                uid=uid,
                study_date=_date(_value(item, "00080020")),
                description=_value(item, "00081030")[:200],
                modalities=", ".join(
                    str(v) for v in (item.get("00080061") or {}).get("Value") or []
                )[:100],
                patient_name=f"{family}, {given}"[:200],
                birth_date=birth_date,
            )
        )
    studies.sort(key=lambda s: s.study_date or date.min, reverse=True)
    return PacsSearch(studies=studies, withheld=withheld)


def _is_uid(uid: str) -> bool:
    return 0 < len(uid) <= 64 and uid.isascii() and all(c.isdecimal() or c == "." for c in uid)


def fetch_study(study_uid: str) -> Study:
    """WADO-RS metadata of one study: its headers, read as the DICOM files would be."""
    from pydicom import Dataset

    if not _is_uid(study_uid):
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
