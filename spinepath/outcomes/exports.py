"""Cohort exports: CSV and Excel (identified, for the clinic), and a de-identified CSV.

Every export streams: rows come from the database in chunks and go out as they are written
(Excel through openpyxl's write-only mode into a temporary file), never the whole cohort in
memory. De-identified: no names, contact or free text; the patient is a keyed pseudonym and
every date is shifted by a per-patient offset (intervals within a patient are kept).
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from spinepath.outcomes.selectors import COHORT_COLUMN_NAMES, cohort_columns
from spinepath.web.policy import clinic_policy
from spinepath.web.spreadsheet import cell
from spinepath.web.spreadsheet import csv_lines as spreadsheet_lines

COLUMNS = COHORT_COLUMN_NAMES
DATE_COLUMNS = ("injected_on", "due", "measured_on", "reintervention_on")
MAX_SHIFT_DAYS = 180


def _key() -> bytes:
    return (settings.SECRET_KEY + ":deidentify").encode()


def pseudonym(patient_id: int) -> str:
    return "P-" + hmac.new(_key(), str(patient_id).encode(), hashlib.sha256).hexdigest()[:12]


def date_shift(patient_id: int) -> timedelta:
    digest = hmac.new(_key(), f"shift:{patient_id}".encode(), hashlib.sha256).digest()
    offset = int.from_bytes(digest[:4], "big") % (2 * MAX_SHIFT_DAYS + 1) - MAX_SHIFT_DAYS
    return timedelta(days=offset or 1)


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return round(value, 2)
    return value


def deidentified(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        shift = date_shift(row["patient_id"])
        out = dict(row)
        out["patient"] = pseudonym(row["patient_id"])
        for column in DATE_COLUMNS:
            if isinstance(out[column], date):
                out[column] = out[column] + shift
        yield out


def csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    return spreadsheet_lines(COLUMNS, ([_value(row[c]) for c in COLUMNS] for row in rows))


def dictionary_lines() -> Iterator[str]:
    return spreadsheet_lines(["column", "meaning"], cohort_columns(clinic_policy()))


def excel_file(rows: Iterable[dict[str, Any]]) -> Any:
    """A temporary .xlsx with the cohort and its data dictionary (write-only: constant memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("cohort")
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([cell(_value(row[c])) for c in COLUMNS])
    notes = book.create_sheet("data dictionary")
    notes.append(["column", "meaning"])
    for name, meaning in cohort_columns(clinic_policy()):
        notes.append([name, meaning])
    # The caller streams and closes it (FileResponse closes the file when sent).
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    book.save(handle)
    handle.seek(0)
    return handle
