"""Patient list, search and chart."""

from __future__ import annotations

import secrets
from itertools import chain

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.timezone import localdate
from django.views.decorators.http import require_http_methods, require_safe

from spinepath.accounts.roles import is_staff_member
from spinepath.audit.middleware import showing, viewing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import Amendment, CandidacyDecision
from spinepath.consultations.selectors import decision_in_force, field_changes
from spinepath.pathway import gates
from spinepath.patients import services
from spinepath.patients.forms import NewPatientForm, PatientForm
from spinepath.patients.models import Patient
from spinepath.patients.selectors import patient_search
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy
from spinepath.web.submissions import new_submission_key

# On one day the pathway's order: the consultation, its signed decision, the accepted plan,
# the injection, then follow-up (the timeline lists the newest first).
_SAME_DAY_ORDER = {"consultation": 1, "decision": 2, "plan": 3, "injection": 4, "follow-up": 5}


def _staff_only(request: HttpRequest) -> None:
    if not is_staff_member(request.user):
        raise PermissionDenied("Only clinic staff can see patient records.")


@require_safe
def patient_list(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    query = request.GET.get("q", "")[:100]
    patients = list(patient_search(query))
    showing(request, patients)
    template = (
        "patients/_results.html" if request.headers.get("HX-Request") else "patients/list.html"
    )
    return render(request, template, {"patients": patients, "query": query})


@require_http_methods(["GET", "HEAD", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    form = NewPatientForm(request.POST or None)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        key = fields.pop("submission")
        other = fields.pop("confirm_other_person")
        try:
            patient = services.patient_create(
                request=request, submission_key=key, other_person=other, **fields
            )
        except services.PossibleDuplicate as refused:
            duplicate = refused.existing
            viewing(request, duplicate)  # the page names that chart: its event names the patient
            form.add_error("confirm_other_person", refused.reasons[0])
        else:
            return redirect("patients:chart", patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "New patient", "duplicate": duplicate},
        status=(409 if duplicate else 400) if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    _staff_only(request)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        services.patient_update(patient=patient, request=request, **form.cleaned_data)
        return redirect("patients:chart", patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": f"Edit {patient.display_name}", "patient": patient},
        status=400 if form.errors else 200,
    )


CHART_CHANGES = 30


@require_safe
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    _staff_only(request)
    patient = get_object_or_404(Patient, pk=patient_id)
    encounters = list(patient.encounters.all())
    studies = list(patient.imaging.prefetch_related("levels"))
    blocks = list(patient.blocks.all())
    procedures = list(patient.procedures.all())
    decisions = list(CandidacyDecision.objects.filter(patient=patient).select_related("signed_by"))
    injections = list(patient.regen_procedures.select_related("operator", "voided_by"))
    measurements = list(patient.measurements.select_related("visit"))
    accepted_plans = [p for p in patient.plans.all() if p.accepted_at is not None]
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
    viewing(request, patient)
    standing = patient_standing(patient)
    in_force = decision_in_force(patient, standing)
    refused = gates.prices_refusal(standing, clinic_policy()) if decisions else None
    return render(
        request,
        "patients/chart.html",
        {
            "patient": patient,
            "timeline": timeline,
            # The decision in force (by review date), else the one signed last.
            "latest_decision": in_force.signed or (decisions[0] if decisions else None),
            "open_encounter": next((e for e in encounters if e.status == "in-progress"), None),
            "has_injections": bool(injections),
            "pricing_problem": refused.sentence if refused is not None else None,
            "changes": changes[:CHART_CHANGES],
            "more_changes": len(changes) > CHART_CHANGES,
            "amended": {
                a.encounter_id for a in Amendment.objects.filter(encounter__patient=patient)
            },
            # One consultation per "New consultation" form, however often it is sent.
            "start_key": secrets.token_urlsafe(18),
            # One email per press of "Email a sign-in link", however often it is sent.
            "link_submission": new_submission_key(),
        },
    )


@require_safe
def patient_fhir(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's record as a FHIR R4 Bundle (JSON)."""
    from django.http import JsonResponse

    from spinepath.patients.fhir import patient_bundle

    _staff_only(request)
    patient = get_object_or_404(Patient, pk=patient_id)
    audit_record(request=request, action=AuditEvent.EXPORT, what="FHIR bundle", patient=patient)
    response = JsonResponse(
        patient_bundle(patient),
        json_dumps_params={"indent": 2},
        content_type="application/fhir+json",
    )
    response["Content-Disposition"] = f'attachment; filename="{patient.mrn}-fhir.json"'
    return response
