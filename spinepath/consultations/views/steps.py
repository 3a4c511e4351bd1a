"""Starting a consultation and its history and exam steps."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
)

from spinepath.accounts.actors import actor_of, staff_actor
from spinepath.consultations import actions, selectors
from spinepath.consultations.forms import (
    ExamForm,
    HistoryForm,
)
from spinepath.consultations.views.common import (
    SEES,
    _odi,
    _step,
    _step_form,
)
from spinepath.patients.models import Patient
from spinepath.web.submissions import valid_submission_key


@require_POST
def encounter_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    key = request.POST.get("start_key")
    if not valid_submission_key(key):
        # Only the chart's form starts a consultation, once per showing of the form.
        messages.error(request, "This page has expired: no consultation was started. Try again.")
        return redirect("records:chart", patient.pk)
    encounter = actions.encounter_start(
        patient=patient,
        actor=actor_of(request),
        assessed_on=timezone.localdate(),
        start_key=key,
    )
    return redirect("consultations:history", encounter.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def history(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    form = _step_form(HistoryForm, request, encounter)
    return _step(
        request,
        encounter,
        "history",
        form,
        {"odi": _odi(encounter.odi_sections), "casemix": selectors.casemix_of(encounter)},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def exam(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    form = _step_form(ExamForm, request, encounter)
    return _step(request, encounter, "exam", form, {})
