"""Does a DICOM study belong to this patient, and is it a study the pathway can use?

Pure: the DICOM reading (pydicom) and the records are elsewhere; this compares what the files
say with what the record says and names every field that differs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

# The pathway's promises rest on an MRI: the import takes MR studies only (a CT or an X-ray is
# recorded by hand, and never stands in for the MRI).
USABLE_MODALITIES = {"MR": "MRI"}


@dataclass(frozen=True, slots=True)
class DicomPatient:
    family_name: str
    given_name: str
    birth_date: date | None
    sex: str  # "M", "F", "O" or ""


@dataclass(frozen=True, slots=True)
class RecordPatient:
    family_name: str
    given_name: str
    birth_date: date | None
    sex: str  # "male", "female", "other" or ""


def _plain(text: str) -> str:
    letters = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in letters if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in kept.casefold()).split())


SEX = {"M": "male", "F": "female", "O": "other"}


def demographic_mismatches(dicom: DicomPatient, record: RecordPatient) -> list[str]:
    """Every field where the study's patient differs from the record, in words (an empty list
    when they agree). Names are compared without case, accents or punctuation; a field the
    DICOM leaves empty is not held against the record, but the names and birth date must be
    there."""
    problems = []
    if not _plain(dicom.family_name):
        problems.append("patient name: the DICOM files carry no patient name")
    elif _plain(dicom.family_name) != _plain(record.family_name) or (
        _plain(dicom.given_name)
        and _plain(dicom.given_name).split()[0] != _plain(record.given_name).split()[0]
    ):
        problems.append(
            f"patient name: the DICOM says {dicom.family_name}, {dicom.given_name}; the record "
            f"says {record.family_name}, {record.given_name}"
        )
    if dicom.birth_date is None:
        problems.append("birth date: the DICOM files carry no birth date")
    elif record.birth_date is not None and dicom.birth_date != record.birth_date:
        problems.append(
            f"birth date: the DICOM says {dicom.birth_date}; the record says {record.birth_date}"
        )
    dicom_sex = SEX.get(dicom.sex.upper(), "")
    if dicom_sex and record.sex and dicom_sex != record.sex:
        problems.append(f"sex: the DICOM says {dicom_sex}; the record says {record.sex}")
    return problems


def modality_problem(modalities: set[str]) -> str | None:
    """Why a study with these series modalities is not an MRI the pathway reads."""
    usable = modalities & USABLE_MODALITIES.keys()
    if not usable:
        found = ", ".join(sorted(modalities)) or "none"
        return f"modality: the study is not an MRI (its series are {found})"
    return None


def study_modality(modalities: set[str]) -> str:
    return "MRI"
