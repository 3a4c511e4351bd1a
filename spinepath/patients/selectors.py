"""Reads of patient records: search and the chart."""

from __future__ import annotations

import re
from datetime import date, datetime

from django.db.models import Q, QuerySet

from spinepath.patients.models import Patient

SEARCH_LIMIT = 50
_MRN = re.compile(r"^(sp-?)?\d{1,10}$", re.IGNORECASE)


def _as_date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _prefix(field: str, text: str) -> Q:
    # A range on an indexed column: uses the index on SQLite and PostgreSQL alike.
    return Q(**{f"{field}__gte": text, f"{field}__lt": text + "\uffff"})


def patient_search(query: str) -> QuerySet[Patient]:
    """Patients matching a name (either order, prefix), a date of birth, or a record number."""
    text = " ".join(query.split()).lower()
    if not text:
        return Patient.objects.order_by("-updated_at")[:SEARCH_LIMIT]
    born = _as_date(text)
    if born is not None:
        return Patient.objects.filter(birth_date=born).order_by("family_key")[:SEARCH_LIMIT]
    if _MRN.match(text):
        digits = re.sub(r"\D", "", text)
        mrn = f"SP{int(digits):07d}"
        return Patient.objects.filter(Q(mrn=mrn) | Q(external_id=query.strip()))[:SEARCH_LIMIT]
    by_name = _prefix("family_key", text) | _prefix("given_key", text)
    exact_id = Q(external_id=query.strip())
    return Patient.objects.filter(by_name | exact_id).order_by("family_key")[:SEARCH_LIMIT]
