"""The draft report of a serious adverse reaction, laid out as FDA Form 3500A asks (mandatory
reporting; 21 CFR 1271.350 for HCT/P establishments): the patient by initials, never by name.

The clinic files it through the FDA's own channels and records the filing
(:func:`spinepath.safety.services.filing_record`); this is the draft they file from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from spinepath.pathway.biologics import PRODUCT_KINDS
from spinepath.pathway.plans import GUIDANCE_LABELS
from spinepath.pathway.safety import (
    ACTIONS,
    CTCAE_GRADES,
    OUTCOMES,
    RELATEDNESS,
    SERIOUS_CRITERIA,
    initials,
)
from spinepath.plans.pdf import FONT_FAMILY, html_to_pdf
from spinepath.safety.selectors import EventRow


def _age(born: date | None, on: date) -> str:
    if born is None:
        return "unknown"
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return f"{years} years"


def medwatch_context(row: EventRow, today: date) -> dict[str, Any]:
    event, version = row.event, row.current
    patient = event.patient
    procedure = event.procedure
    lot = procedure.lot if procedure is not None else None
    return {
        "font_family": FONT_FAMILY,
        "clinic": settings.SPINEPATH_CLINIC_NAME,
        "clinic_address": settings.SPINEPATH_CLINIC_ADDRESS,
        "clinic_phone": getattr(settings, "SPINEPATH_CLINIC_PHONE", ""),
        "initials": initials(patient.given_name, patient.family_name),
        "age": _age(patient.birth_date, version.onset_on),
        "sex": patient.get_sex_display() or "not recorded",
        "criteria": [
            (k, label, k in version.serious_criteria) for k, label in SERIOUS_CRITERIA.items()
        ],
        "version": version,
        "grade": CTCAE_GRADES[version.grade],
        "related_procedure": RELATEDNESS[version.related_procedure],
        "related_product": RELATEDNESS[version.related_product],
        "action": ACTIONS[version.action],
        "outcome": OUTCOMES[version.outcome],
        "procedure": procedure,
        "guidance": GUIDANCE_LABELS.get(procedure.guidance, "") if procedure else "",
        "lot": lot,
        "kind": PRODUCT_KINDS.get(lot.product.kind, "") if lot else "",
        "event": event,
        "clock": row.clock,
        "filings": row.filings,
        "report_date": today,
        "follow_up_number": sum(1 for f in row.filings if f.kind == "follow_up"),
    }


def medwatch_pdf(row: EventRow, today: date) -> bytes:
    return html_to_pdf(render_to_string("safety/medwatch.html", medwatch_context(row, today)))
