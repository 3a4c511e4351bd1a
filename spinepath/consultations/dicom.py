"""MRI studies from DICOM files: a folder, a .zip or a DICOMDIR, read with pydicom.

Only the headers are read (never the pixel data): the study's date, modality, description,
body part, its series, and the patient's name, birth date and sex. The study date comes from
the files - nobody types it - and the study is recorded unreviewed; a clinician reviews it on
the imaging step. What the files say about the patient must agree with the record
(:mod:`spinepath.pathway.dicom_check`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from spinepath.pathway.dicom_check import DicomPatient
from spinepath.web.text import text_problem

# A disc or a PACS export holds a few thousand files; more than this is not one patient's MRI.
MAX_FILES = 20_000
MAX_ZIP_BYTES = 4 * 1024**3
MAX_MEMBER_BYTES = 512 * 1024**2
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage


class DicomProblem(ValueError):
    """The files cannot be read as a DICOM study, in words naming what is wrong."""


@dataclass
class Series:
    uid: str
    number: str
    description: str
    modality: str
    instances: int = 0


@dataclass
class Study:
    uid: str
    study_date: date | None
    description: str
    body_part: str
    patient: DicomPatient
    series: dict[str, Series] = field(default_factory=dict)
    # Every patient and study date its files name (one each, for a study that can be imported).
    patients: set[DicomPatient] = field(default_factory=set)
    dates: set[date | None] = field(default_factory=set)

    @property
    def modalities(self) -> set[str]:
        return {s.modality for s in self.series.values() if s.modality}

    def series_list(self) -> list[dict[str, Any]]:
        return [
            {
                "uid": s.uid,
                "number": s.number,
                "description": s.description,
                "modality": s.modality,
                "instances": s.instances,
            }
            for s in sorted(self.series.values(), key=lambda s: (s.number.zfill(6), s.uid))
        ]


def _text(ds: Any, keyword: str) -> str:
    value = ds.get(keyword, "")
    return _storable(keyword, str(value).strip() if value is not None else "")


def _storable(keyword: str, text: str) -> str:
    """A header's text, refused (named by its DICOM keyword) when the database cannot store it."""
    problem = text_problem(text)
    if problem:
        raise DicomProblem(f"{keyword}: the DICOM files' {keyword} {problem}")
    return text


def _date(text: str) -> date | None:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _patient(ds: Any) -> DicomPatient:
    name = ds.get("PatientName", "")
    family = _storable("PatientName", str(getattr(name, "family_name", "") or "").strip())
    given = _storable("PatientName", str(getattr(name, "given_name", "") or "").strip())
    if not family and not given:
        family = _storable("PatientName", str(name).strip())
    return DicomPatient(
        family, given, _date(_text(ds, "PatientBirthDate")), _text(ds, "PatientSex")
    )


def _read(data: BinaryIO, name: str) -> Any | None:
    """The header of one file, or None when it is not DICOM (a DICOMDIR, a README, a viewer)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        head = data.read(132)
        data.seek(0)
    except Exception as exc:  # a damaged archive member, a corrupt deflate stream
        raise DicomProblem(f"{name}: cannot be read ({type(exc).__name__})") from None
    marked = len(head) == 132 and head[128:] == b"DICM"  # a DICOM file says so at byte 128
    try:
        ds = pydicom.dcmread(data, stop_before_pixels=True)
    except (InvalidDicomError, EOFError):
        if marked:
            raise DicomProblem(f"{name}: a DICOM file that cannot be read (damaged?)") from None
        return None  # not DICOM at all: a README, a viewer program on the disc
    except Exception as exc:  # a truncated or corrupt file names itself
        raise DicomProblem(f"{name}: cannot be read as DICOM ({type(exc).__name__})") from None
    media_class = str(getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", ""))
    if media_class == DICOMDIR_CLASS:
        return None  # the DICOMDIR itself: the files it lists are read on their own
    if "StudyInstanceUID" not in ds or "SeriesInstanceUID" not in ds:
        if marked:
            raise DicomProblem(f"{name}: a DICOM file without its study or series (damaged?)")
        return None
    return ds


def _files_in_folder(folder: Path) -> Iterator[tuple[str, BinaryIO]]:
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            count += 1
            if count > MAX_FILES:
                raise DicomProblem(f"more than {MAX_FILES} files: import one study at a time")
            with path.open("rb") as handle:
                yield str(path.relative_to(folder)), handle


def _files_in_zip(data: BinaryIO) -> Iterator[tuple[str, BinaryIO]]:
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile:
        raise DicomProblem("the file is not a .zip archive") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_FILES:
        raise DicomProblem(f"more than {MAX_FILES} files: import one study at a time")
    if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
        raise DicomProblem("the archive unpacks to more than 4 GiB")
    for info in infos:
        if info.file_size > MAX_MEMBER_BYTES:
            raise DicomProblem(f"{info.filename}: larger than one DICOM image can be")
        if info.flag_bits & 0x1:
            raise DicomProblem(f"{info.filename}: the archive is encrypted")
        # Read from the archive as pydicom asks (headers only), never unpacked whole.
        try:
            member = archive.open(info)
        except (NotImplementedError, RuntimeError, zipfile.BadZipFile, OSError) as exc:
            raise DicomProblem(
                f"{info.filename}: cannot be unpacked ({type(exc).__name__})"
            ) from None
        with member:
            yield info.filename, member  # type: ignore[misc]


def studies_in(files: Iterator[tuple[str, BinaryIO]]) -> list[Study]:
    """Every study in the files, with its series (one study is what the import expects)."""
    return studies_from_datasets(
        ds for ds in (_read(handle, name) for name, handle in files) if ds is not None
    )


def studies_from_datasets(datasets: Iterable[Any]) -> list[Study]:
    """The studies of DICOM headers (read from files, or from a PACS's WADO-RS metadata)."""
    studies: dict[str, Study] = {}
    for ds in datasets:
        uid = _text(ds, "StudyInstanceUID")
        study = studies.get(uid)
        if study is None:
            study = studies[uid] = Study(
                uid=uid,
                study_date=_date(_text(ds, "StudyDate")),
                description=_text(ds, "StudyDescription")[:200],
                body_part=_text(ds, "BodyPartExamined")[:64],
                patient=_patient(ds),
            )
        study.patients.add(_patient(ds))
        study.dates.add(_date(_text(ds, "StudyDate")))
        series_uid = _text(ds, "SeriesInstanceUID")
        series = study.series.get(series_uid)
        if series is None:
            series = study.series[series_uid] = Series(
                uid=series_uid,
                number=_text(ds, "SeriesNumber"),
                description=_text(ds, "SeriesDescription")[:200],
                modality=_text(ds, "Modality"),
            )
        series.instances += 1
    return list(studies.values())


def read_path(path: Path) -> list[Study]:
    """A folder (a DICOMDIR's folder included), a .zip, a DICOMDIR file or one DICOM file."""
    if path.is_dir():
        return studies_in(_files_in_folder(path))
    if not path.exists():
        raise DicomProblem(f"{path}: no such file or folder")
    if path.name.upper() == "DICOMDIR":
        return studies_in(_files_in_folder(path.parent))
    with path.open("rb") as handle:
        if zipfile.is_zipfile(handle):
            handle.seek(0)
            return studies_in(_files_in_zip(handle))
        handle.seek(0)
        found = studies_in(iter([(path.name, handle)]))
    if not found:
        raise DicomProblem(f"{path.name}: not a DICOM file, a folder of them, a .zip or a DICOMDIR")
    return found


def read_uploads(uploads: list[tuple[str, BinaryIO]]) -> list[Study]:
    """Files uploaded from the imaging step: one .zip, or the files of a folder."""
    if len(uploads) == 1 and zipfile.is_zipfile(uploads[0][1]):
        uploads[0][1].seek(0)
        return studies_in(_files_in_zip(uploads[0][1]))
    for _, handle in uploads:
        handle.seek(0)
    return studies_in(iter(uploads))
