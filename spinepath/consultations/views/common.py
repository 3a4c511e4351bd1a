"""What the consultation pages share: the steps, their forms, autosave, refusals on forms."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from spinepath.accounts.actors import actor_of
from spinepath.audit.middleware import viewing
from spinepath.consultations import actions
from spinepath.consultations.forms import (
    ExamForm,
    HistoryForm,
)
from spinepath.consultations.models import (
    Encounter,
)
from spinepath.errors import Conflict, Refused
from spinepath.pathway.instruments import OdiScore, odi_score
from spinepath.web.policy import clinic_policy
from spinepath.web.refusals import show_on_form

STEPS = [
    ("history", "Intake & history"),
    ("exam", "Focused exam"),
    ("imaging", "Imaging & blocks"),
    ("review", "Candidacy review"),
]


SEES = "can open consultations"


def _context(encounter: Encounter, step: str, **extra: object) -> dict[str, object]:
    return {
        "encounter": encounter,
        "patient": encounter.patient,
        "steps": STEPS,
        "step": step,
        **extra,
    }


def _show_refusal(form: forms.BaseForm, refused: Refused) -> None:
    show_on_form(form, refused)


def _step_form(
    form_class: type[HistoryForm] | type[ExamForm], request: HttpRequest, encounter: Encounter
) -> HistoryForm | ExamForm:
    # Bound on every POST, an empty one too (its fields are then named as missing).
    form = form_class(request.POST if request.method == "POST" else None, instance=encounter)
    form.limit(roles=actor_of(request).roles, locked=encounter.is_locked)
    return form


def _step(
    request: HttpRequest,
    encounter: Encounter,
    step: str,
    form: HistoryForm | ExamForm,
    extra: dict[str, object],
) -> HttpResponse:
    """A history or exam step: autosave, save, or show it (with the refusal at its fields)."""
    if request.method == "POST" and encounter.is_locked:
        # Its fields are read-only; saying "Saved" would be untrue.
        locked = Conflict(
            f"The consultation of {encounter.assessed_on} was signed and is locked: nothing was "
            "saved. A clinician can amend it, with a reason, on the review page."
        )
        if _autosaving(request):
            raise locked
        form.is_valid()
        _show_refusal(form, locked)
        _audit_view(request, encounter, step)
        return render(
            request,
            f"consultations/{step}.html",
            _context(encounter, step, form=form, **extra),
            status=locked.status,
        )
    if _autosaving(request):
        return _autosave(request, encounter, step, form)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                actions.encounter_save(
                    encounter=encounter,
                    actor=actor_of(request),
                    step=step,
                    fields=form.step_fields(),
                )
            except Refused as refused:
                _show_refusal(form, refused)
                status = refused.status
            else:
                return _after_save(request, encounter, step)
    _audit_view(request, encounter, step)
    return render(
        request,
        f"consultations/{step}.html",
        _context(encounter, step, form=form, **extra),
        status=status,
    )


def _after_save(request: HttpRequest, encounter: Encounter, step: str) -> HttpResponse:
    messages.success(request, "Saved.")
    next_step = request.POST.get("next")
    target = next_step if next_step in dict(STEPS) else step
    return redirect(reverse(f"consultations:{target}", args=[encounter.pk]))


def _audit_view(request: HttpRequest, encounter: Encounter, what: str) -> None:
    viewing(request, encounter.patient)


def _odi(sections: list[int | None] | None) -> OdiScore | None:
    """The baseline ODI as the domain scores it (never scored here)."""
    return odi_score(sections, clinic_policy()) if sections else None


def _autosaving(request: HttpRequest) -> bool:
    """An htmx save-as-you-go request (a value changed); a plain POST is the Save button."""
    return (
        request.method == "POST"
        and request.headers.get("HX-Request") == "true"
        and request.POST.get("autosave") == "1"
    )


def _autosave(
    request: HttpRequest, encounter: Encounter, step: str, form: HistoryForm | ExamForm
) -> HttpResponse:
    """Store every valid answer of the step now; the wrong ones are named at their field."""
    form.is_valid()
    fields = form.step_fields()
    status = 200
    if fields:
        try:
            encounter = actions.encounter_save(
                encounter=encounter, actor=actor_of(request), step=step, fields=fields
            )
        except Refused as refused:
            _show_refusal(form, refused)
            fields, status = {}, refused.status
    return render(
        request,
        "consultations/_autosave.html",
        {
            "form": form,
            "saved": bool(fields),
            "saved_at": timezone.localtime(),
            "odi": _odi(encounter.odi_sections) if step == "history" else None,
            "step": step,
        },
        status=status,
    )
