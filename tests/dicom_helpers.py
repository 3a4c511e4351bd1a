"""Synthetic DICOM studies for the tests, written with pydicom (no real patient data, no pixels
worth looking at)."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def instance(
    *,
    study_uid: str,
    series_uid: str,
    series_number: int,
    number: int,
    name: str,
    birth: date | None,
    sex: str,
    study_date: date | None,
    modality: str,
) -> FileDataset:
    meta = FileMetaDataset()
    sop_class = MRImageStorage if modality == "MR" else CT_IMAGE_STORAGE
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.InstanceNumber = number
    ds.Modality = modality
    ds.PatientName = name
    ds.PatientID = "SYNTHETIC"
    ds.PatientBirthDate = birth.strftime("%Y%m%d") if birth else ""
    ds.PatientSex = sex
    ds.StudyDate = study_date.strftime("%Y%m%d") if study_date else ""
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.StudyDescription = "MRI LUMBAR SPINE WO CONTRAST"
    ds.BodyPartExamined = "LSPINE"
    ds.SeriesDescription = ["SAG T2", "AX T2", "SAG T1"][series_number % 3]
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 4, 4, 16, 12, 11
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.PixelData = bytes(32)
    return ds


def study_files(
    folder: Path,
    *,
    name: str = "Lopez^Maria",
    birth: date | None = date(1961, 4, 30),
    sex: str = "F",
    study_date: date | None = date(2026, 10, 20),
    modality: str = "MR",
    series: int = 2,
    instances: int = 3,
    study_uid: str | None = None,
) -> str:
    """Write one study's files under ``folder``; returns its StudyInstanceUID."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    for s in range(1, series + 1):
        series_uid = generate_uid()
        for i in range(1, instances + 1):
            ds = instance(
                study_uid=study_uid,
                series_uid=series_uid,
                series_number=s,
                number=i,
                name=name,
                birth=birth,
                sex=sex,
                study_date=study_date,
                modality=modality,
            )
            ds.save_as(folder / f"S{s:03d}I{i:03d}.dcm", enforce_file_format=True)
    return study_uid


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def with_dicomdir(folder: Path, target: Path) -> Path:
    """The study written again as a DICOM file-set with its DICOMDIR (as on a disc)."""
    import pydicom
    from pydicom.fileset import FileSet

    fs = FileSet()
    for path in sorted(folder.glob("*.dcm")):
        fs.add(pydicom.dcmread(path))
    target.mkdir(parents=True, exist_ok=True)
    fs.write(target)
    return target / "DICOMDIR"
