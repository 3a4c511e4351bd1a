"""Patient list and search, a new chart and its details (the chart itself: spinepath.records)."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spinepath.accounts.actors import staff_actor
from spinepath.audit.middleware import showing, viewing
from spinepath.errors import Refused
from spinepath.patients import services
from spinepath.patients.forms import IdentifierForm, NewPatientForm, PatientForm
from spinepath.patients.models import Patient
from spinepath.patients.selectors import patient_search
from spinepath.versions.triggers import table_versions
from spinepath.web.kept import kept, kept_key, render_part, shown
from spinepath.web.refusals import show_on_form

SEES = "can see patient records"


@require_safe
def patient_list(request: HttpRequest) -> HttpResponse:
    staff_actor(request, sees=SEES)
    query = request.GET.get("q", "")[:100]
    # Kept under the version of the patients' table, read before the rows (a clinic's team
    # looks the same patients up again and again; every change to a patient changes it).
    digest = hashlib.sha256(query.encode()).hexdigest()[:24]
    key = kept_key("patients:search", table_versions("patients_patient"), digest)
    results, numbers = kept(key, lambda: _results(query))
    showing(request, [], numbers=numbers)
    if request.headers.get("HX-Request"):
        return HttpResponse(shown(request, results))
    return render(
        request, "patients/list.html", {"results": shown(request, results), "query": query}
    )


def _results(query: str) -> tuple[str, list[str]]:
    """The search's results table and the record numbers it shows."""
    patients = list(patient_search(query))
    html = render_part("patients/_results.html", {"patients": patients, "query": query})
    return html, [p.mrn for p in patients if p.mrn]


@require_http_methods(["GET", "HEAD", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    form = NewPatientForm(request.POST or None)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        key = fields.pop("submission")
        other = fields.pop("confirm_other_person")
        try:
            patient = services.patient_create(
                actor=actor, details=fields, submission_key=key, other_person=other
            )
        except services.PossibleDuplicate as refused:
            duplicate = refused.existing
            viewing(request, duplicate)  # the page names that chart: its event names the patient
            form.add_error("confirm_other_person", refused.reasons[0])
        else:
            return redirect("records:chart", patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "New patient", "duplicate": duplicate},
        status=(409 if duplicate else 400) if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(actor=actor, patient=patient, details=form.cleaned_data)
        except Refused as refused:
            show_on_form(form, refused)
        else:
            return redirect("records:chart", patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": f"Edit {patient.display_name}", "patient": patient},
        status=400 if form.errors else 200,
    )


@require_POST
def contact_confirm(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A staff member other than the one who changed the contact details confirms the change
    with the patient in person (identity checked): links to the patient's pages resume."""
    actor = staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    try:
        services.contact_change_confirm(
            actor=actor,
            patient=patient,
            how="in person (identity checked by staff)",
            shown=request.POST.get("shown", ""),
        )
    except Refused as refused:
        if refused.status == 404:
            raise
        messages.error(request, " ".join(refused.reasons))
    else:
        messages.success(request, "Confirmed: links to the patient's own pages can be sent again.")
    return redirect("records:chart", patient.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def identifiers(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's identifiers in other systems (the EHR's patient id, by which CDS Hooks
    find the chart), and a form to add one; a refusal keeps what was typed."""
    actor = staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    form = IdentifierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _identifier, new = services.identifier_add(
                actor=actor,
                patient=patient,
                system=form.cleaned_data["system"],
                value=form.cleaned_data["value"],
            )
        except Refused as refused:
            show_on_form(form, refused)
        else:
            messages.success(
                request,
                "Identifier kept on the chart."
                if new
                else "That identifier is on this chart already.",
            )
            return redirect("patients:identifiers", patient.pk)
    return render(
        request,
        "patients/identifiers.html",
        {
            "patient": patient,
            "form": form,
            "identifiers": list(patient.identifiers.select_related("added_by")),
            "may_edit": actor.may("demographics"),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def identifier_remove(request: HttpRequest, patient_id: int, identifier_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    if services.identifier_remove(actor=actor, patient=patient, identifier_id=identifier_id):
        messages.success(request, "Identifier removed from the chart (its history keeps it).")
    else:
        messages.error(request, "That identifier is not on this chart (removed already?).")
    return redirect("patients:identifiers", patient.pk)
