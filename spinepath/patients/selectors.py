"""Reads of patient records: search and the chart."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from spinepath.patients.models import (
    MRN_SYSTEM,
    SYNTHETIC_ID_PREFIX,
    Patient,
    PatientIdentifier,
    identifier_system,
    search_form,
)

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


def name_starts_with(text: str) -> Q:
    """Patients whose name starts with ``text`` (family or given name first, compared in their
    search form), read from the name indexes."""
    name = search_form(text)
    if not name:
        return Q(pk__in=[])
    return _prefix("family_key", name) | _prefix("given_key", name)


def patient_search(query: str) -> QuerySet[Patient]:
    """Patients matching a name (either order, prefix), a date of birth, or a record number."""
    text = " ".join(query.split()).lower()
    if not text:
        # The clinic's own patients first, then any synthetic cohort (a demo's 300 generated
        # patients would otherwise bury the dozen hand-made ones).
        synthetic_last = Case(
            When(external_id__startswith=SYNTHETIC_ID_PREFIX, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        return Patient.objects.order_by(synthetic_last, "-updated_at", "-id")[:SEARCH_LIMIT]
    born = _as_date(text)
    if born is not None:
        return Patient.objects.filter(birth_date=born).order_by("family_key")[:SEARCH_LIMIT]
    if _MRN.match(text):
        digits = re.sub(r"\D", "", text)
        mrn = f"SP{int(digits):07d}"
        return Patient.objects.filter(Q(mrn=mrn) | Q(external_id=query.strip()))[:SEARCH_LIMIT]
    name = search_form(text)
    if not name:
        return Patient.objects.filter(external_id=query.strip())[:SEARCH_LIMIT]
    by_name = name_starts_with(name)
    exact_id = Q(external_id=query.strip())
    return Patient.objects.filter(by_name | exact_id).order_by("family_key")[:SEARCH_LIMIT]


def charts_identified_by(pairs: Iterable[tuple[str, str]]) -> list[Patient]:
    """The charts that any of the (system, value) identifiers names: the clinic's record
    number by its system, any other by an identifier kept on a chart for exactly that system.
    A value is never looked up under another system (a bare id from another system is not
    this clinic's id). Several charts when the identifiers disagree; the caller never picks."""
    mrns: set[str] = set()
    others = Q()
    asked = False
    for system, value in pairs:
        system, value = identifier_system(system), value.strip()
        if not system or not value or len(value) > 64 or len(system) > 255:
            continue
        if system.lower() == MRN_SYSTEM:
            mrns.add(value)
        else:
            others |= Q(system=system, value=value)
            asked = True
    found: set[int] = set()
    if mrns:
        found |= set(Patient.objects.filter(mrn__in=mrns).values_list("pk", flat=True))
    if asked:
        found |= set(PatientIdentifier.objects.filter(others).values_list("patient_id", flat=True))
    return list(Patient.objects.filter(pk__in=found).order_by("pk"))
