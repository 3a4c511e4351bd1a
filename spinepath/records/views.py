"""A patient's whole record: the chart (every consultation, study, block, decision, plan,
injection and follow-up on one page) and its FHIR R4 Bundle.

This app sits above the apps whose records it assembles; none of them imports it.
"""

from __future__ import annotations

import secrets
from itertools import chain

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.timezone import localdate
from django.views.decorators.http import require_safe

from spinepath.accounts.actors import staff_actor
from spinepath.audit.middleware import viewing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import Amendment
from spinepath.consultations.selectors import (
    consultation_records,
    decision_in_force,
    field_changes,
)
from spinepath.pathway import gates
from spinepath.patients.models import Patient
from spinepath.plans.standing import patient_standing
from spinepath.public.models import Appointment
from spinepath.safety.selectors import patient_events, patient_reinterventions, patient_reports
from spinepath.versions.triggers import patient_version
from spinepath.web.kept import kept, kept_key, render_part, shown
from spinepath.web.policy import clinic_policy
from spinepath.web.submissions import new_submission_key

SEES = "can see patient records"

# On one day the pathway's order: the consultation, its signed decision, the accepted plan,
# the injection, then follow-up (the timeline lists the newest first).
_SAME_DAY_ORDER = {"consultation": 1, "decision": 2, "plan": 3, "injection": 4, "follow-up": 5}


CHART_CHANGES = 30


@require_safe
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    may = {
        "may_record_event": actor.may("adverse_event"),
        "may_record_reintervention": actor.may("reintervention"),
    }
    # The versions first, then the facts: what is kept under a key is never older than it.
    key = kept_key(
        "chart",
        patient_id,
        patient_version(patient_id),
        localdate().isoformat(),
        "".join("1" if allowed else "0" for allowed in may.values()),
    )
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    parts = kept(key, lambda: _chart_parts(patient, may))
    return render(
        request,
        "records/chart.html",
        {
            "patient": patient,
            "identifiers": list(patient.identifiers.all()),
            "parts": {name: shown(request, html) for name, html in parts.items()},
            # One consultation per "New consultation" form, however often it is sent.
            "start_key": secrets.token_urlsafe(18),
            # One email per press of "Email a sign-in link", however often it is sent.
            "link_submission": new_submission_key(),
        },
    )


def _chart_parts(patient: Patient, may: dict[str, bool]) -> dict[str, str]:
    """The chart's parts computed from the patient's facts (the same for every viewer with the
    same permissions on the same day): the link to a consultation in progress, the latest
    decision's card, and everything below the header."""
    # The consultations' records, read once for the timeline and the patient's standing.
    read = consultation_records(patient)
    encounters = read.encounters
    studies = read.records.studies
    blocks = read.records.blocks
    procedures = read.records.procedures
    decisions = read.decisions
    plans = list(patient.plans.all())
    injections = list(
        patient.regen_procedures.select_related(
            "operator", "voided_by", "time_out_by", "lot__product"
        )
    )
    measurements = list(patient.measurements.select_related("visit"))
    accepted_plans = [p for p in plans if p.accepted_at is not None]
    timeline = sorted(
        chain(
            (("consultation", e.assessed_on, e) for e in encounters),
            (("imaging", s.performed_on, s) for s in studies),
            (("block", b.performed_on, b) for b in blocks),
            (("procedure", p.performed_on, p) for p in procedures),
            (("decision", localdate(d.signed_at), d) for d in decisions),
            (("plan", localdate(p.accepted_at), p) for p in accepted_plans),
            (("injection", p.performed_on, p) for p in injections),
            (("follow-up", m.measured_on, m) for m in measurements),
        ),
        key=lambda item: (item[1], _SAME_DAY_ORDER.get(item[0], 0)),
        reverse=True,
    )
    changes = field_changes(patient)
    standing = patient_standing(patient, read=read, plans=plans)
    in_force = decision_in_force(patient, standing, decisions)
    refused = gates.prices_refusal(standing, clinic_policy()) if decisions else None
    context = {
        "patient": patient,
        "timeline": timeline,
        # The decision in force (by review date), else the one signed last.
        "latest_decision": in_force.signed or (decisions[0] if decisions else None),
        "open_encounter": next((e for e in encounters if e.status == "in-progress"), None),
        "has_injections": bool(injections),
        "pricing_problem": refused.sentence if refused is not None else None,
        # In force, but nothing may be offered now (e.g. an MRI awaiting review).
        "decision_on_hold": refused is not None and in_force.problem is None,
        "changes": changes[:CHART_CHANGES],
        "more_changes": len(changes) > CHART_CHANGES,
        "amended": {a.encounter_id for a in Amendment.objects.filter(encounter__patient=patient)},
        "adverse_events": patient_events(patient, clinic_policy()),
        "safety_reports": list(patient_reports(patient)[:12]),
        "reinterventions": patient_reinterventions(patient, procedures),
        "appointments": list(
            Appointment.objects.filter(patient=patient)
            .select_related("clinician", "room")
            .order_by("-start")[:20]
        ),
        **may,
    }
    return {
        part: render_part(f"records/_chart_{part}.html", context)
        for part in ("resume", "decision", "body")
    }


@require_safe
def patient_fhir(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's record as a FHIR R4 Bundle (JSON)."""
    from django.http import JsonResponse

    from spinepath.records.fhir import patient_bundle

    actor = staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    audit_record(actor=actor, action=AuditEvent.EXPORT, what="FHIR bundle", patient=patient)
    response = JsonResponse(
        patient_bundle(patient),
        json_dumps_params={"indent": 2},
        content_type="application/fhir+json",
    )
    response["Content-Disposition"] = f'attachment; filename="{patient.mrn}-fhir.json"'
    return response
