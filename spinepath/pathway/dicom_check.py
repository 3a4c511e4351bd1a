"""Does a DICOM study belong to this patient, and is it a study the pathway can use?

Pure: the DICOM reading (pydicom) and the records are elsewhere; this compares what the files
say with what the record says and names every field that differs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

# The pathway's promises rest on an MRI: the import takes MR studies only (a CT or an X-ray is
# recorded by hand, and never stands in for the MRI).
USABLE_MODALITIES = {"MR": "MRI"}
# Series that accompany an MRI without being images of another modality (reports, key images,
# presentation states, screenshots); any other imaging modality makes the study not an MRI.
COMPANION_MODALITIES = {"SR", "PR", "KO", "SC", "OT", "DOC", "REG", "SEG"}


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
    when they agree), without repeating what the files say (a PACS's other patients stay
    unnamed). Names are compared without case, accents or punctuation; the family and given
    names and the birth date must be there; an empty sex is not held against the record."""
    problems = []
    family, given = _plain(dicom.family_name), _plain(dicom.given_name)
    if not family or not given:
        problems.append("patient name: the DICOM files do not carry the family and given names")
    elif family != _plain(record.family_name) or (
        given.split()[0] != (_plain(record.given_name).split() or [""])[0]
    ):
        problems.append("patient name: the DICOM files name another patient than the record")
    if dicom.birth_date is None:
        problems.append("birth date: the DICOM files carry no birth date")
    elif record.birth_date is None or dicom.birth_date != record.birth_date:
        problems.append("birth date: the DICOM files' birth date is not the record's")
    dicom_sex = SEX.get(dicom.sex.upper(), "")
    if dicom_sex and record.sex and dicom_sex != record.sex:
        problems.append("sex: the DICOM files' sex is not the record's")
    return problems


def modality_problem(modalities: set[str]) -> str | None:
    """Why a study with these series modalities is not an MRI the pathway reads (an MRI
    study may carry reports and key images, never images of another modality)."""
    found = ", ".join(sorted(modalities)) or "none"
    others = modalities - USABLE_MODALITIES.keys() - COMPANION_MODALITIES
    if not modalities & USABLE_MODALITIES.keys() or others:
        return f"modality: the study is not an MRI alone (its series are {found})"
    return None


def consistency_problems(
    patients: Collection[DicomPatient], dates: Collection[object]
) -> list[str]:
    """The files of one study must name one patient and one study date."""
    problems = []
    identities = {
        (_plain(p.family_name), _plain(p.given_name), p.birth_date, p.sex.upper()) for p in patients
    }
    if len(identities) > 1:
        problems.append("patient: the files of this study name more than one patient")
    if len(set(dates)) > 1:
        problems.append("study date: the files of this study carry more than one study date")
    return problems


def study_modality(modalities: set[str]) -> str:
    return "MRI"
