"""CDS Hooks 2.0 services for the clinic's EHR: the candidacy decision when a patient's chart
opens (patient-view), and a check of a spine injection being ordered (order-select)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q

from spinepath.consultations.selectors import decision_in_force, latest_signed_decision
from spinepath.errors import Invalid
from spinepath.pathway import gates
from spinepath.pathway.orders import is_spine_injection, order_target, order_warnings
from spinepath.patients.models import Patient
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy

MRN_SYSTEM = "urn:spinepath:mrn"
SERVICES = [
    {
        "hook": "patient-view",
        "id": "spinepath-candidacy",
        "title": "Regenerative spine candidacy",
        "description": "The patient's latest signed candidacy decision at the spine clinic, "
        "with its policy and a link to the review.",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
    },
    {
        "hook": "order-select",
        "id": "spinepath-injection-check",
        "title": "Spine injection check",
        "description": "Warns when an ordered spine injection has no signed candidate "
        "decision, no recent reviewed MRI, or a target the workup has not confirmed.",
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
    },
]
INDICATORS = {
    "refer_urgent": "critical",
    "refer_surgical": "warning",
    "needs_imaging": "warning",
}


class HookProblem(Invalid):
    """A hook request that cannot be answered (400, named)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="invalid_hook_request")


def match_patient(hook: dict[str, Any]) -> Patient | None:
    """The clinic's patient, matched by identifier: the prefetched Patient's identifiers (our
    record number, or the EHR's id we hold), else the context's patientId."""
    context = hook.get("context") or {}
    if not isinstance(context, dict):
        raise HookProblem("context: an object")
    values: list[str] = []
    prefetch = hook.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise HookProblem("prefetch: an object")
    prefetched = prefetch.get("patient") or {}
    if isinstance(prefetched, dict):
        for identifier in prefetched.get("identifier") or []:
            if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
                values.append(identifier["value"])
    patient_id = context.get("patientId")
    if isinstance(patient_id, str):
        values.append(patient_id)
    values = [v.strip()[:64] for v in values if v.strip()]
    if not values:
        raise HookProblem("context.patientId: which patient")
    return Patient.objects.filter(Q(mrn__in=values) | Q(external_id__in=values)).first()


def _review_link(decision_id: int) -> dict[str, str]:
    return {
        "label": "Open the candidacy review in spinepath",
        "url": f"{settings.SPINEPATH_BASE_URL}/decisions/{decision_id}/",
        "type": "absolute",
    }


def patient_view(hook: dict[str, Any], patient: Patient | None) -> list[dict[str, Any]]:
    source = {"label": "spinepath (spine clinic)"}
    if patient is None:
        return []
    signed = latest_signed_decision(patient)
    if signed is None:
        return [
            {
                "summary": "Spine clinic: no candidacy decision yet",
                "indicator": "info",
                "source": source,
            }
        ]
    d = signed.decision_json
    summary = (
        f"Spine clinic: {d.get('label') or d['decision']} (signed {signed.signed_at:%Y-%m-%d})"
    )
    cards = []
    warning = gates.warning_standing(patient_standing(patient), clinic_policy())
    if warning is not None:
        # A warning recorded since the signed decision comes first: the EHR sees it at once.
        cards.append(
            {
                "summary": "Spine clinic: new warning signs recorded, not yet signed"[:140],
                "indicator": "critical",
                "detail": warning.sentence,
                "source": source,
            }
        )
    return [
        *cards,
        {
            "summary": summary[:140],
            "indicator": INDICATORS.get(d["decision"], "info"),
            "detail": d.get("summary", ""),
            "source": {
                "label": f"{signed.policy_name} {signed.policy_version}",
                "topic": {"display": "Regenerative spine candidacy"},
            },
            "links": [_review_link(signed.pk)],
        },
    ]


def _orders(hook: dict[str, Any]) -> list[dict[str, Any]]:
    context = hook.get("context") or {}
    bundle = context.get("draftOrders") or {}
    if not isinstance(bundle, dict):
        raise HookProblem("context.draftOrders: a Bundle")
    raw = context.get("selections") or []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise HookProblem("context.selections: a list of references")
    selections = set(raw)
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise HookProblem("context.draftOrders.entry: a list")
    orders = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource") or {}, dict):
            raise HookProblem("context.draftOrders.entry: Bundle entries")
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "ServiceRequest":
            continue
        ref = f"ServiceRequest/{resource.get('id', '')}"
        if selections and ref not in selections:
            continue
        orders.append(resource)
    return orders


def _text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    parts = [concept.get("text") or ""]
    parts += [c.get("display") or "" for c in concept.get("coding") or [] if isinstance(c, dict)]
    return " ".join(p for p in parts if isinstance(p, str))


def order_select(hook: dict[str, Any], patient: Patient | None) -> list[dict[str, Any]]:
    cards = []
    for order in _orders(hook):
        text = _text(order.get("code"))
        if not is_spine_injection(text):
            continue
        body_sites = order.get("bodySite") or []
        sites = [_text(site) for site in body_sites] if isinstance(body_sites, list) else []
        generator, level = order_target(text, sites)
        if patient is None:
            warnings = ["The spine clinic has no record of this patient: no candidacy review."]
            decision, refused = None, None
        else:
            standing = patient_standing(patient)
            decision = decision_in_force(patient, standing).signed
            signature = gates.decision_in_force(standing).signature
            refused = gates.prices_refusal(standing, clinic_policy())
            warnings = order_warnings(
                gate_problem=refused.sentence if refused is not None else None,
                targets=signature.targets if signature is not None else frozenset(),
                generator=generator,
                level=level,
            )
        if not warnings:
            continue
        first = warnings[0]
        short = first if len(first) <= 120 else first[: first.rfind(" ", 0, 117)] + " ..."
        critical = refused is not None and refused.code == "warning_in_newer_consultation"
        card: dict[str, Any] = {
            "summary": f"Spine injection: {short}"[:140],
            "indicator": "critical" if critical else "warning",
            "detail": "\n".join(f"- {w}" for w in warnings),
            "source": {"label": "spinepath (spine clinic)"},
        }
        if decision is not None:
            card["links"] = [_review_link(decision.pk)]
        cards.append(card)
    return cards


HOOKS = {"spinepath-candidacy": patient_view, "spinepath-injection-check": order_select}
