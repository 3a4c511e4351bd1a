"""The written plan as the patient reads it: the page's context, and the PDF.

An accepted plan's PDF is printed once, when it is accepted, and kept (bytes and SHA-256) as
the document the patient accepted; a draft's is printed on demand.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from spinepath.pathway.plans import PAYER_LABELS
from spinepath.plans import selectors
from spinepath.plans.models import CarePlan


def plan_context(plan: CarePlan) -> dict[str, Any]:
    figures = selectors.plan_figures(plan)
    phases = []
    for phase, label in (("prepare", "Prepare"), ("inject", "Inject"), ("follow", "Follow")):
        rows = [(line, priced) for line, priced in figures.lines if line.phase == phase]
        phases.append((label, rows))
    signed = plan.decision
    return {
        "plan": plan,
        "patient": plan.patient,
        "phases": phases,
        "figures": figures,
        "totals": figures.totals,
        "financing": figures.financing,
        "currency": settings.SPINEPATH_CURRENCY,
        "clinic_name": settings.SPINEPATH_CLINIC_NAME,
        "payer_label": PAYER_LABELS.get(plan.payer, "Not recorded"),
        "generators": [g for g in signed.decision_json["generators"] if g["status"] == "confirmed"],
        "decision": signed.decision_json,
        "changes": selectors.plan_changes(plan),
        "products": selectors.plan_products(plan),
        "follow_up": [v.label for v in policy_visits()],
        "odds": selectors.plan_odds(plan),
    }


def policy_visits() -> list[Any]:
    from spinepath.web.policy import clinic_policy

    return [v for v in clinic_policy().visits if not v.optional]


def plan_pdf_bytes(plan: CarePlan, *, printed_at: datetime) -> bytes:
    from spinepath.plans.pdf import FONT_FAMILY, html_to_pdf

    html = render_to_string(
        "plans/document.html",
        {**plan_context(plan), "printed_at": printed_at, "font_family": FONT_FAMILY},
    )
    return bytes(html_to_pdf(html))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
