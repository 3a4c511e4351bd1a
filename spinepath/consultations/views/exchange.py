"""A consultation's workup as JSON: export, and import from a file."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
)

from spinepath.accounts.actors import actor_of, staff_actor
from spinepath.audit.middleware import viewing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations import actions, selectors
from spinepath.consultations.forms import (
    ImportForm,
)
from spinepath.consultations.views.common import (
    SEES,
    _show_refusal,
)
from spinepath.consultations.workup import workup_document
from spinepath.errors import Refused
from spinepath.pathway.workup import InvalidWorkup, parse_workup


@require_GET
def export(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    document = workup_document(encounter)
    audit_record(
        actor=actor_of(request),
        action=AuditEvent.EXPORT,
        what="workup JSON",
        patient=encounter.patient,
    )
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    name = f"workup-{encounter.patient.mrn}-{encounter.assessed_on}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def import_workup(request: HttpRequest) -> HttpResponse:
    staff_actor(request, sees=SEES)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    match = None
    differences: dict[str, tuple[object, object]] = {}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            document = form.cleaned_data["document"]
            try:
                workup = parse_workup(document.encode())
                encounter = actions.workup_import(
                    workup=workup,
                    actor=actor_of(request),
                    names=(form.cleaned_data["given_name"], form.cleaned_data["family_name"]),
                    patient=form.cleaned_data["patient"],
                    confirm_changes=form.cleaned_data["confirm_changes"],
                    confirm_for=form.cleaned_data["confirm_for"] or "unconfirmed",
                )
            except InvalidWorkup as exc:
                errors = [str(e) for e in exc.errors]
                form.add_error("file", "The workup is not valid; see the fields below.")
            except actions.ImportNeedsChoice as refused:
                match = refused.match
                viewing(request, match)  # the page names the chart the workup's id matches
                form.add_error("patient", refused.reasons[0])
                status = refused.status
            except actions.ImportNeedsConfirmation as refused:
                differences = refused.differences
                viewing(request, form.cleaned_data["patient"])  # its values beside the file's
                form.add_error("confirm_changes", refused.reasons[0])
                form.data = form.data.copy()
                form.data["confirm_for"] = refused.confirm_for
                form.data["confirm_changes"] = ""  # confirmed afresh, for what is shown now
                status = refused.status
            except Refused as refused:
                _show_refusal(form, refused)
                status = refused.status
            else:
                left = actions.unstated_on_import(actor_of(request))
                messages.success(
                    request,
                    "Workup imported. Its imaging arrives unreviewed and its blocks unverified: "
                    "a clinician reviews them on the imaging page."
                    + (f" Left for a clinician to record: {', '.join(left)}." if left else ""),
                )
                return redirect("consultations:review", encounter.pk)
    kept = getattr(form, "cleaned_data", {}).get("document")
    if kept:
        # Keep the file's content in the page so a choice does not need a second upload.
        form.data = form.data.copy()
        form.data["document"] = kept
    return render(
        request,
        "consultations/import.html",
        {"form": form, "errors": errors, "match": match, "differences": differences},
        status=status,
    )
