"""Cells for files that people open in a spreadsheet (CSV and Excel exports).

Text that starts with ``=``, ``+``, ``-``, ``@`` or a tab or carriage return is read as a formula
by Excel and LibreOffice (CSV injection): a username typed at the sign-in page could otherwise
run when the clinic admin opens the audit log. Such text gets a leading apostrophe, which the
spreadsheet shows as plain text. Numbers, including negative ones, stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows``, line by line (for a streaming response)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(value) for value in row])
