"""What the FHIR API serves: the same resources as the per-patient export (one set of
serializers, spinepath/patients/fhir.py), found by id or searched, plus the questionnaires.

Every resource but the Patient, the payers, the lots of biologic products and the
questionnaires belongs to one patient; its id says which record it comes from (``m12-odi``:
measurement 12), so a read finds its patient, builds that patient's resources and returns the
one asked for. A lot (``lot7``) is the clinic's catalogue, read by itself; searched by patient,
the lots that patient received.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from spinepath.consultations.models import (
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
    PriorProcedure,
)
from spinepath.fhir_api.questionnaires import questionnaires
from spinepath.fhir_api.responses import response_resource, safety_response_resource
from spinepath.followup.models import OutcomeMeasurement
from spinepath.patients.models import MRN_SYSTEM, PAYER_CHOICES, Patient
from spinepath.patients.selectors import charts_identified_by, name_starts_with
from spinepath.plans.models import CarePlan, Procedure, ProductLot
from spinepath.records.fhir import (
    OBSERVATION_KINDS,
    biologic_product_resource,
    patient_resource,
    patient_resources,
    payer_organization,
)
from spinepath.safety.models import AdverseEvent, Reintervention, SafetyReport
from spinepath.versions.triggers import patient_version
from spinepath.web.kept import kept, kept_key

# The types the API reads and searches (the CapabilityStatement lists exactly these).
PATIENT_TYPES = (
    "Encounter",
    "Condition",
    "Observation",
    "ImagingStudy",
    "Procedure",
    "CarePlan",
    "Coverage",
    "QuestionnaireResponse",
    "AdverseEvent",
    "BiologicallyDerivedProduct",
)
TYPES = ("Patient", *PATIENT_TYPES, "Organization", "Questionnaire")
SEARCH_PARAMS: dict[str, tuple[str, ...]] = {
    "Patient": ("identifier", "name", "birthdate"),
    "Observation": ("patient", "subject", "code", "date"),
    **{t: ("patient", "subject") for t in PATIENT_TYPES if t != "Observation"},
    "Organization": (),
    "Questionnaire": ("url",),
}
COMMON_PARAMS = ("_count", "_offset")
MAX_COUNT = 200
DEFAULT_COUNT = 50


class SearchProblem(ValueError):
    """A search the API cannot answer (400 with an OperationOutcome naming the parameter)."""


def int_id(text: str) -> int | None:
    """A resource id that is a row's number, else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _one(model: Any, text: str) -> Patient | None:
    pk = int_id(text)
    row = model.objects.filter(pk=pk).select_related("patient").first() if pk else None
    return row.patient if row is not None else None


KINDS = "|".join(OBSERVATION_KINDS)
# id -> the patient it belongs to, per type (None: no such resource).
OWNERS: dict[str, list[tuple[re.Pattern[str], Callable[[str], Patient | None]]]] = {
    "Encounter": [(re.compile(r"^(\d+)$"), lambda m: _one(Encounter, m))],
    "ImagingStudy": [(re.compile(r"^(\d+)$"), lambda m: _one(ImagingStudy, m))],
    "CarePlan": [(re.compile(r"^(\d+)$"), lambda m: _one(CarePlan, m))],
    "Coverage": [
        (re.compile(r"^(\d+)-coverage$"), lambda m: Patient.objects.filter(pk=int_id(m)).first())
    ],
    "Observation": [
        (re.compile(rf"^enc(\d+)-(?:{KINDS})$"), lambda m: _one(Encounter, m)),
        (re.compile(rf"^m(\d+)-(?:{KINDS})$"), lambda m: _one(OutcomeMeasurement, m)),
    ],
    "Procedure": [
        (re.compile(r"^prior(\d+)$"), lambda m: _one(PriorProcedure, m)),
        (re.compile(r"^block(\d+)$"), lambda m: _one(DiagnosticBlock, m)),
        (re.compile(r"^inj(\d+)$"), lambda m: _one(Procedure, m)),
        (re.compile(r"^reint(\d+)$"), lambda m: _one(Reintervention, m)),
    ],
    "Condition": [(re.compile(r"^d(\d+)-\d+$"), lambda m: _one(CandidacyDecision, m))],
    "QuestionnaireResponse": [
        (re.compile(r"^m(\d+)$"), lambda m: _one(OutcomeMeasurement, m)),
        (re.compile(r"^s(\d+)$"), lambda m: _one(SafetyReport, m)),
    ],
    "AdverseEvent": [(re.compile(r"^ae(\d+)$"), lambda m: _one(AdverseEvent, m))],
}


def owner(kind: str, ident: str) -> Patient | None:
    for pattern, find in OWNERS.get(kind, []):
        match = pattern.match(ident)
        if match:
            return find(match.group(1))
    return None


def resources_of(patient: Patient, kind: str | None = None) -> list[dict[str, Any]]:
    """The export's resources, and the patient's check-ins and safety answers as
    QuestionnaireResponses; with ``kind``, only those of that type (and only the records
    that make them are read)."""
    found = patient_resources(patient, kind)
    if kind not in (None, "QuestionnaireResponse"):
        return found
    measurements = OutcomeMeasurement.objects.filter(patient=patient).order_by("measured_on", "id")
    reports = SafetyReport.objects.filter(patient=patient).order_by("answered_on", "id")
    return (
        found
        + [response_resource(m) for m in measurements]
        + [safety_response_resource(r) for r in reports]
    )


def read(kind: str, ident: str) -> tuple[dict[str, Any] | None, Patient | None]:
    """(the resource, the patient whose record it is) or (None, None)."""
    if len(ident) > 64:
        return None, None
    if kind == "Patient":
        pk = int_id(ident)
        patient = Patient.objects.filter(pk=pk).first() if pk else None
        return (patient_resource(patient), patient) if patient else (None, None)
    if kind == "Organization":
        payer = ident.removeprefix("payer-").replace("-", "_")
        known = {key for key, _ in PAYER_CHOICES} - {"self_pay"}
        return (
            (payer_organization(payer), None)
            if ident.startswith("payer-") and payer in known
            else (None, None)
        )
    if kind == "Questionnaire":
        return questionnaires().get(ident), None
    if kind == "BiologicallyDerivedProduct":
        # A lot of the catalogue (what Procedure.usedReference points at): the product, not
        # any patient's record; which patients received it is the look-back's, not the API's.
        pk = int_id(ident.removeprefix("lot")) if ident.startswith("lot") else None
        lot = ProductLot.objects.select_related("product").filter(pk=pk).first() if pk else None
        return (biologic_product_resource(lot), None) if lot else (None, None)
    patient = owner(kind, ident)
    if patient is None:
        return None, None
    for resource in resources_of(patient, kind):
        if resource["id"] == ident:
            return resource, patient
    return None, None


def everything(patient: Patient) -> list[dict[str, Any]]:
    return resources_of(patient)


# --- Search ---------------------------------------------------------------------------------


def _date_test(text: str) -> Callable[[date], bool]:
    prefixes = {"eq": "__eq__", "ge": "__ge__", "le": "__le__", "gt": "__gt__", "lt": "__lt__"}
    op = "eq"
    if text[:2] in prefixes:
        op, text = text[:2], text[2:]
    try:
        wanted = date.fromisoformat(text)
    except ValueError:
        raise SearchProblem(
            "date: write a day as YYYY-MM-DD, optionally after eq, ge, le, gt or lt"
        ) from None
    method = prefixes[op]
    return lambda day: bool(getattr(day, method)(wanted))


def patient_param(params: dict[str, str]) -> int:
    """The id of the one patient whose records a search asks for."""
    text = params.get("patient") or params.get("subject") or ""
    pk = int_id(text.removeprefix("Patient/"))
    if pk is None:
        raise SearchProblem("patient: search these resources for one patient, e.g. patient=12")
    return pk


def _patient_param(params: dict[str, str]) -> Patient:
    pk = patient_param(params)
    patient = Patient.objects.filter(pk=pk).first()
    if patient is None:
        raise SearchProblem(f"patient: there is no Patient/{pk}")
    return patient


def _coding_matches(resource: dict[str, Any], wanted: str) -> bool:
    system, _, code = wanted.rpartition("|")
    for coding in resource.get("code", {}).get("coding", []):
        if coding.get("code") == code and (not system or coding.get("system") == system):
            return True
    return False


# A Patient search lists at most this many matches (its pages, its total).
MAX_PATIENT_MATCHES = 5000


def _search_patients(params: dict[str, str]) -> QuerySet[Patient]:
    query = Patient.objects.all()
    if params.get("identifier"):
        system, bar, value = params["identifier"].rpartition("|")
        value = value.strip()
        if not bar:  # any system: the record number, or an identifier kept on a chart
            query = query.filter(Q(mrn__iexact=value) | Q(identifiers__value=value)).distinct()
        elif system.strip().rstrip("/").lower() == MRN_SYSTEM:
            query = query.filter(mrn__iexact=value)
        else:
            found = charts_identified_by([(system, value)])
            query = query.filter(pk__in=[p.pk for p in found])
    if params.get("name"):
        text = params["name"].strip()[:100]
        # Either name first, ignoring case and accents (as the staff search does).
        query = query.filter(name_starts_with(text))
    if params.get("birthdate"):
        test_text = params["birthdate"]
        op = test_text[:2] if test_text[:2] in ("eq", "ge", "le", "gt", "lt") else "eq"
        day_text = test_text[2:] if op != "eq" or test_text.startswith("eq") else test_text
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise SearchProblem(
                "birthdate: write a day as YYYY-MM-DD, optionally after eq, ge, le, gt or lt"
            ) from None
        lookup = {"eq": "", "ge": "__gte", "le": "__lte", "gt": "__gt", "lt": "__lt"}[op]
        query = query.filter(**{f"birth_date{lookup}": day})
    if not any(params.get(p) for p in ("identifier", "name", "birthdate")):
        raise SearchProblem("Patient: search by identifier, name or birthdate")
    return query.order_by("family_name", "given_name", "id")


def search(
    kind: str, params: dict[str, str], count: int, offset: int
) -> tuple[int, list[dict[str, Any]], list[Patient]]:
    """(how many resources match, the page of them from ``offset`` in a stable order, the
    patients they belong to). A Patient search reads only its page's patients."""
    allowed = set(SEARCH_PARAMS.get(kind, ())) | set(COMMON_PARAMS)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise SearchProblem(f"{unknown[0]}: not a search parameter of {kind} here")
    if kind == "Patient":
        query = _search_patients(params)
        total = min(query.count(), MAX_PATIENT_MATCHES)
        end = min(offset + count, total)
        patients = list(query.prefetch_related("identifiers")[offset:end]) if offset < end else []
        return total, [patient_resource(p) for p in patients], patients
    if kind in PATIENT_TYPES:
        # One patient's records, kept under the version of their facts.
        pk = patient_param(params)
        # The day too: what a resource says may depend on it (a plan is on hold once its MRI
        # is too old).
        key = kept_key("fhir:of", pk, kind, patient_version(pk), timezone.localdate().isoformat())
        records, mrn = kept(key, lambda: _records_of(pk, kind))
        found = _filtered(kind, params, records)
        return len(found), found[offset : offset + count], [Patient(pk=pk, mrn=mrn)]
    found, patients = _search_all(kind, params)
    return len(found), found[offset : offset + count], patients


def _records_of(pk: int, kind: str) -> tuple[list[dict[str, Any]], str]:
    patient = _patient_param({"patient": str(pk)})
    return resources_of(patient, kind), patient.mrn


def _search_all(kind: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], list[Patient]]:
    """The searches of the types that are no patient's records."""
    if kind == "Organization":
        return [payer_organization(k) for k, _ in PAYER_CHOICES if k != "self_pay"], []
    wanted = params.get("url")
    found = [q for q in questionnaires().values() if not wanted or q["url"] == wanted]
    return found, []  # Questionnaire


def _filtered(
    kind: str, params: dict[str, str], found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if kind == "Observation":
        if params.get("code"):
            found = [r for r in found if _coding_matches(r, params["code"])]
        if params.get("date"):
            test = _date_test(params["date"])
            found = [r for r in found if test(date.fromisoformat(r["effectiveDateTime"][:10]))]
    return found


def page_of(params: dict[str, str]) -> tuple[int, int]:
    count_text, offset_text = params.get("_count", ""), params.get("_offset", "")
    count = int_id(count_text) if count_text else DEFAULT_COUNT
    offset = int_id(offset_text) if offset_text else 0
    if count is None or not 1 <= count <= MAX_COUNT:
        raise SearchProblem(f"_count: a whole number from 1 to {MAX_COUNT}")
    if offset is None:
        raise SearchProblem("_offset: a whole number from 0")
    return count, offset
