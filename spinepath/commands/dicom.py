"""spinepath import-dicom PATH --patient RECORD_NUMBER --by USERNAME: an MRI from DICOM files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from spinepath.commands._common import EXIT_INVALID, staff_actor


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "import-dicom",
        help="record an MRI study from DICOM files (a folder, a .zip or a DICOMDIR)",
        description=(
            "Read the DICOM headers under PATH (a folder, a .zip, a DICOMDIR or one file) and "
            "record the study on the patient's chart: unreviewed, dated by its files, with its "
            "series. The files' patient (name, birth date, sex) must agree with the record. The "
            "same study imported again changes nothing. Exit status 2 names what is wrong."
        ),
    )
    parser.add_argument("path", metavar="PATH")
    parser.add_argument("--patient", metavar="RECORD_NUMBER", required=True)
    parser.add_argument(
        "--by",
        metavar="USERNAME",
        required=True,
        help="your own staff account (audited, with the machine account that ran the command)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    from spinepath.accounts.actors import at_command_line
    from spinepath.consultations.actions import dicom_study_import
    from spinepath.consultations.dicom import DicomProblem, read_path
    from spinepath.errors import Refused
    from spinepath.patients.models import Patient
    from spinepath.web.text import text_problem

    problem = text_problem(args.patient)
    if problem:
        return _fail(f"--patient: {problem}")
    patient = Patient.objects.filter(mrn__iexact=args.patient.strip()).first()
    if patient is None:
        return _fail(f"--patient: no record numbered {args.patient}")
    user, refused = staff_actor(args.by, "dicom_import")
    if user is None:
        return _fail(str(refused))
    try:
        studies = read_path(Path(args.path))
    except DicomProblem as problem:
        return _fail(str(problem))
    if not studies:
        return _fail(f"{args.path}: no DICOM study found")
    if len(studies) > 1:
        return _fail(f"{args.path}: {len(studies)} studies found; import one study at a time")
    try:
        record, created = dicom_study_import(
            patient=patient, study=studies[0], actor=at_command_line("import-dicom", user)
        )
    except Refused as refused:
        return _fail("; ".join(refused.reasons))
    what = "recorded" if created else "already on the record; nothing changed"
    series = len(record.series or [])
    filed = (
        f"; filed into the consultation of {record.filed_into.assessed_on}, since the one it "
        "dates from is signed"
        if created and record.filed_into is not None
        else ""
    )
    print(
        f"{record.modality} of {record.performed_on} for {patient.mrn} {what} "
        f"({series} series, unreviewed until a clinician reviews it){filed}"
    )
    return 0


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_INVALID
