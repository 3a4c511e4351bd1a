"""The consultation pages: thin views over services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from spinepath.accounts.roles import is_clinician, is_staff_member
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations import selectors, services
from spinepath.consultations.forms import (
    BlockForm,
    ExamForm,
    FindingFormSet,
    HistoryForm,
    ImportForm,
    ProcedureForm,
    StudyForm,
)
from spinepath.consultations.models import LEVEL_CHOICES, CandidacyDecision, Encounter, ImagingStudy
from spinepath.consultations.workup import workup_document
from spinepath.pathway.instruments import OdiScore, odi_score
from spinepath.pathway.workup import InvalidWorkup, parse_workup
from spinepath.patients.models import Patient
from spinepath.web.policy import clinic_policy

STEPS = [
    ("history", "Intake & history"),
    ("exam", "Focused exam"),
    ("imaging", "Imaging & blocks"),
    ("review", "Candidacy review"),
]


def _staff_only(request: HttpRequest) -> None:
    if not is_staff_member(request.user):
        raise PermissionDenied("Only clinic staff can open consultations.")


def _context(encounter: Encounter, step: str, **extra: object) -> dict[str, object]:
    return {
        "encounter": encounter,
        "patient": encounter.patient,
        "steps": STEPS,
        "step": step,
        **extra,
    }


def _after_save(request: HttpRequest, encounter: Encounter, step: str) -> HttpResponse:
    messages.success(request, "Saved.")
    next_step = request.POST.get("next")
    target = next_step if next_step in dict(STEPS) else step
    return redirect(reverse(f"consultations:{target}", args=[encounter.pk]))


def _audit_view(request: HttpRequest, encounter: Encounter, what: str) -> None:
    if request.method == "GET":
        audit_record(
            request=request,
            action=AuditEvent.VIEW,
            what=f"consultation {encounter.assessed_on}: {what}",
            patient=encounter.patient,
        )


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
    if fields:
        encounter = services.encounter_save(
            encounter=encounter, user=request.user, step=step, fields=fields, request=request
        )
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
    )


@require_POST
def encounter_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    _staff_only(request)
    patient = get_object_or_404(Patient, pk=patient_id)
    encounter = services.encounter_start(
        patient=patient, user=request.user, assessed_on=timezone.localdate(), request=request
    )
    return redirect("consultations:history", encounter.pk)


def history(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    form = HistoryForm(request.POST or None, instance=encounter)
    if _autosaving(request):
        return _autosave(request, encounter, "history", form)
    if request.method == "POST" and form.is_valid():
        services.encounter_save(
            encounter=encounter,
            user=request.user,
            step="history",
            fields=form.step_fields(),
            request=request,
        )
        return _after_save(request, encounter, "history")
    _audit_view(request, encounter, "history")
    return render(
        request,
        "consultations/history.html",
        _context(encounter, "history", form=form, odi=_odi(encounter.odi_sections)),
        status=400 if form.errors else 200,
    )


def exam(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    form = ExamForm(request.POST or None, instance=encounter)
    if _autosaving(request):
        return _autosave(request, encounter, "exam", form)
    if request.method == "POST" and form.is_valid():
        services.encounter_save(
            encounter=encounter,
            user=request.user,
            step="exam",
            fields=form.step_fields(),
            request=request,
        )
        return _after_save(request, encounter, "exam")
    _audit_view(request, encounter, "exam")
    return render(
        request,
        "consultations/exam.html",
        _context(encounter, "exam", form=form),
        status=400 if form.errors else 200,
    )


def imaging(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    patient = encounter.patient
    day = encounter.assessed_on
    can_review = is_clinician(request.user)
    study_form = StudyForm(prefix="study", review_date=day, can_review=can_review)
    block_form = BlockForm(prefix="block", review_date=day)
    procedure_form = ProcedureForm(prefix="proc", review_date=day, birth_date=patient.birth_date)
    status = 200
    if request.method == "POST":
        which = request.POST.get("form")
        if which == "study":
            study_form = StudyForm(
                request.POST, prefix="study", review_date=day, can_review=can_review
            )
            if study_form.is_valid():
                study = services.study_save(
                    patient=patient,
                    user=request.user,
                    fields=study_form.cleaned_data,
                    request=request,
                )
                messages.success(request, "Study added: now record its findings level by level.")
                return redirect("consultations:study", encounter.pk, study.pk)
        elif which == "block":
            block_form = BlockForm(request.POST, prefix="block", review_date=day)
            if block_form.is_valid():
                services.block_add(
                    patient=patient,
                    user=request.user,
                    fields=block_form.cleaned_data,
                    request=request,
                )
                return _after_save(request, encounter, "imaging")
        elif which == "procedure":
            procedure_form = ProcedureForm(
                request.POST, prefix="proc", review_date=day, birth_date=patient.birth_date
            )
            if procedure_form.is_valid():
                services.procedure_add(
                    patient=patient,
                    user=request.user,
                    fields=procedure_form.cleaned_data,
                    request=request,
                )
                return _after_save(request, encounter, "imaging")
        status = 400
    _audit_view(request, encounter, "imaging and blocks")
    return render(
        request,
        "consultations/imaging.html",
        _context(
            encounter,
            "imaging",
            studies=selectors.studies_for(patient),
            blocks=selectors.blocks_for(patient),
            procedures=selectors.procedures_for(patient),
            study_form=study_form,
            block_form=block_form,
            procedure_form=procedure_form,
        ),
        status=status,
    )


def study(request: HttpRequest, encounter_id: int, study_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    record = get_object_or_404(ImagingStudy, pk=study_id, patient=encounter.patient)
    existing = {f.level: f for f in record.levels.all()}
    initial = []
    for level, _ in LEVEL_CHOICES:
        f = existing.get(level)
        initial.append(
            {
                "level": level,
                **(
                    {
                        "pfirrmann": f.pfirrmann,
                        "modic": f.modic,
                        "disc_height_loss_pct": f.disc_height_loss_pct,
                        "endplate_bone_on_bone": f.endplate_bone_on_bone,
                        "herniation": f.herniation,
                        "nerve_root_compression": f.nerve_root_compression,
                        "facet_arthropathy": f.facet_arthropathy,
                        "ligament_injury": f.ligament_injury,
                    }
                    if f
                    else {}
                ),
            }
        )
    form = StudyForm(
        request.POST or None,
        instance=record,
        prefix="study",
        review_date=encounter.assessed_on,
        can_review=is_clinician(request.user),
    )
    formset = FindingFormSet(request.POST or None, initial=initial, prefix="lv")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        levels = {lv for lv, _ in LEVEL_CHOICES}
        findings = [dict(f.cleaned_data) for f in formset if f.cleaned_data.get("level") in levels]
        services.study_save(
            patient=encounter.patient,
            user=request.user,
            study=record,
            fields=form.cleaned_data,
            findings=findings,
            request=request,
        )
        return _after_save(request, encounter, "imaging")
    _audit_view(request, encounter, f"imaging {record.modality} {record.performed_on}")
    return render(
        request,
        "consultations/study.html",
        _context(encounter, "imaging", study=record, form=form, formset=formset),
        status=400 if request.method == "POST" else 200,
    )


def review(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    try:
        _workup, decision = services.decision_preview(encounter)
        errors = []
    except InvalidWorkup as exc:
        decision, errors = None, exc.errors
    _audit_view(request, encounter, "candidacy review")
    return render(
        request,
        "consultations/review.html",
        _context(
            encounter,
            "review",
            decision=decision,
            errors=errors,
            signature_token=services.new_signature_token(),
            signed=encounter.decisions.select_related("signed_by").order_by("-signed_at"),
            can_sign=is_clinician(request.user),
        ),
    )


@require_POST
def sign(request: HttpRequest, encounter_id: int) -> HttpResponse:
    encounter = selectors.encounter_get(encounter_id)
    try:
        signed = services.decision_sign(
            encounter=encounter,
            user=request.user,
            token=request.POST.get("token", ""),
            request=request,
        )
    except InvalidWorkup as exc:
        messages.error(request, f"Cannot sign: {exc}")
        return redirect("consultations:review", encounter.pk)
    messages.success(request, f"Decision signed: {signed.decision.replace('_', ' ')}.")
    return redirect("consultations:decision", signed.pk)


def decision_detail(request: HttpRequest, decision_id: int) -> HttpResponse:
    _staff_only(request)
    signed = get_object_or_404(
        CandidacyDecision.objects.select_related("patient", "signed_by", "encounter"),
        pk=decision_id,
    )
    audit_record(
        request=request, action=AuditEvent.VIEW, what="signed decision", patient=signed.patient
    )
    return render(
        request,
        "consultations/decision.html",
        {"signed": signed, "d": signed.decision_json, "patient": signed.patient},
    )


@require_GET
def export(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    document = workup_document(encounter)
    audit_record(
        request=request, action=AuditEvent.EXPORT, what="workup JSON", patient=encounter.patient
    )
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    name = f"workup-{encounter.patient.mrn}-{encounter.assessed_on}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def import_workup(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > 1024 * 1024:
            form.add_error("file", "The file is larger than 1 MB.")
        else:
            try:
                workup = parse_workup(upload.read())
                names = (
                    form.cleaned_data["given_name"].strip(),
                    form.cleaned_data["family_name"].strip(),
                )
                encounter = services.workup_import(
                    workup=workup, user=request.user, names=names, request=request
                )
            except InvalidWorkup as exc:
                errors = [str(e) for e in exc.errors]
                form.add_error("file", "The workup is not valid; see the fields below.")
            except ValueError as exc:
                form.add_error("given_name", str(exc).split(": ", 1)[-1])
            else:
                messages.success(request, "Workup imported.")
                return redirect("consultations:review", encounter.pk)
    return render(
        request,
        "consultations/import.html",
        {"form": form, "errors": errors},
        status=400 if form.errors else 200,
    )
