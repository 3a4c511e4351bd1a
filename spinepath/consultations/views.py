"""The consultation pages: thin views over services and selectors."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from spinepath.accounts.roles import is_clinician, is_staff_member, role_names
from spinepath.audit.middleware import noting, viewing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations import selectors, services
from spinepath.consultations.dicom import DicomProblem, read_uploads
from spinepath.consultations.forms import (
    AmendForm,
    BlockForm,
    ExamForm,
    FindingFormSet,
    HistoryForm,
    ImportForm,
    ProcedureForm,
    StudyForm,
)
from spinepath.consultations.models import (
    LEVEL_CHOICES,
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
)
from spinepath.consultations.workup import workup_document
from spinepath.errors import Conflict, Invalid, NotAllowed, Refused
from spinepath.pathway.gates import sign_refusal
from spinepath.pathway.instruments import OdiScore, odi_score
from spinepath.pathway.workup import InvalidWorkup, parse_workup
from spinepath.patients.models import Patient
from spinepath.web.params import parse_id
from spinepath.web.policy import clinic_policy
from spinepath.web.refusals import show_on_form
from spinepath.web.submissions import valid_submission_key

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


def _show_refusal(form: forms.BaseForm, refused: Refused) -> None:
    show_on_form(form, refused)


def _step_form(
    form_class: type[HistoryForm] | type[ExamForm], request: HttpRequest, encounter: Encounter
) -> HistoryForm | ExamForm:
    # Bound on every POST, an empty one too (its fields are then named as missing).
    form = form_class(request.POST if request.method == "POST" else None, instance=encounter)
    form.limit(roles=role_names(request.user), locked=encounter.is_locked)
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
                services.encounter_save(
                    encounter=encounter,
                    user=request.user,
                    step=step,
                    fields=form.step_fields(),
                    request=request,
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
            encounter = services.encounter_save(
                encounter=encounter, user=request.user, step=step, fields=fields, request=request
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


@require_POST
def encounter_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    _staff_only(request)
    patient = get_object_or_404(Patient, pk=patient_id)
    key = request.POST.get("start_key")
    if not valid_submission_key(key):
        # Only the chart's form starts a consultation, once per showing of the form.
        messages.error(request, "This page has expired: no consultation was started. Try again.")
        return redirect("patients:chart", patient.pk)
    encounter = services.encounter_start(
        patient=patient,
        user=request.user,
        assessed_on=timezone.localdate(),
        start_key=key,
        request=request,
    )
    return redirect("consultations:history", encounter.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def history(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    form = _step_form(HistoryForm, request, encounter)
    return _step(request, encounter, "history", form, {"odi": _odi(encounter.odi_sections)})


@require_http_methods(["GET", "HEAD", "POST"])
def exam(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    form = _step_form(ExamForm, request, encounter)
    return _step(request, encounter, "exam", form, {})


def _posted_id(request: HttpRequest, name: str) -> int:
    """An id posted by a form; anything but a plausible positive integer is a 400."""
    value = parse_id(request.POST.get(name, ""))
    if value is None:
        raise Invalid(f"{name}: not a valid id.", fields={name: "Not a valid id."})
    return value


@require_http_methods(["GET", "HEAD", "POST"])
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
        status = 400
        try:
            if which == "study":
                study_form = StudyForm(
                    request.POST, prefix="study", review_date=day, can_review=can_review
                )
                if study_form.is_valid():
                    study = services.study_save(
                        patient=patient,
                        through=encounter,
                        user=request.user,
                        fields=study_form.study_fields(),
                        attest=bool(study_form.cleaned_data.get("attest")),
                        request=request,
                    )
                    messages.success(
                        request, "Study added: now record its findings level by level."
                    )
                    return redirect("consultations:study", encounter.pk, study.pk)
            elif which == "block":
                block_form = BlockForm(request.POST, prefix="block", review_date=day)
                if block_form.is_valid():
                    fields = dict(block_form.cleaned_data)
                    services.block_add(
                        patient=patient,
                        through=encounter,
                        user=request.user,
                        fields=fields,
                        submission_key=fields.pop("submission"),
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
                        through=encounter,
                        user=request.user,
                        fields=procedure_form.cleaned_data,
                        request=request,
                    )
                    return _after_save(request, encounter, "imaging")
            elif which == "review_study":
                services.study_review(
                    patient=patient,
                    through=encounter,
                    study_id=_study_id(request, patient),
                    user=request.user,
                    shown=request.POST.get("shown", "")[:64],
                    request=request,
                )
                messages.success(request, "Study reviewed: your review is recorded.")
                return redirect("consultations:imaging", encounter.pk)
            elif which == "verify_block":
                block_id = _posted_id(request, "block_id")
                get_object_or_404(DiagnosticBlock, pk=block_id, patient=patient)
                services.block_verify(
                    patient=patient,
                    through=encounter,
                    block_id=block_id,
                    user=request.user,
                    request=request,
                )
                messages.success(request, "Block verified: it now counts in the workup.")
                return redirect("consultations:imaging", encounter.pk)
            else:
                raise Invalid("form: unknown form.", fields={"form": "Unknown form."})
        except Refused as refused:
            form = {"study": study_form, "block": block_form, "procedure": procedure_form}.get(
                which or ""
            )
            if form is None or isinstance(refused, NotAllowed):
                raise  # shown on its own page (the form is not offered to this role)
            _show_refusal(form, refused)
            status = refused.status
    _audit_view(request, encounter, "imaging and blocks")
    return render(
        request,
        "consultations/imaging.html",
        _context(
            encounter,
            "imaging",
            studies=[
                (study, services.study_version(study))
                for study in selectors.studies_for(patient).select_related("reviewed_by")
            ],
            blocks=selectors.blocks_for(patient).select_related("verified_by"),
            procedures=selectors.procedures_for(patient),
            study_form=study_form,
            block_form=block_form,
            procedure_form=procedure_form,
            pacs=bool(settings.SPINEPATH_DICOMWEB_URL),
            can_review=can_review,
        ),
        status=status,
    )


def _study_id(request: HttpRequest, patient: Patient) -> int:
    study_id = _posted_id(request, "study_id")
    get_object_or_404(ImagingStudy, pk=study_id, patient=patient)
    return study_id


@require_http_methods(["GET", "HEAD", "POST"])
def study(request: HttpRequest, encounter_id: int, study_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    record = get_object_or_404(
        ImagingStudy.objects.select_related("reviewed_by"), pk=study_id, patient=encounter.patient
    )
    existing = {f.level: f for f in record.levels.all()}
    initial = [
        {"level": level, **services.finding_values(existing.get(level))}
        for level, _ in LEVEL_CHOICES
    ]
    form = StudyForm(
        request.POST or None,
        instance=record,
        prefix="study",
        review_date=encounter.assessed_on,
        can_review=is_clinician(request.user),
        initial={"shown": services.study_version(record)},
    )
    formset = FindingFormSet(request.POST or None, initial=initial, prefix="lv")
    if encounter.is_locked:
        for bound in (form, *formset.forms):
            for field in bound.fields.values():
                field.disabled = True
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and formset.is_valid():
            levels = {lv for lv, _ in LEVEL_CHOICES}
            findings = [
                dict(f.cleaned_data) for f in formset if f.cleaned_data.get("level") in levels
            ]
            try:
                saved = services.study_save(
                    patient=encounter.patient,
                    through=encounter,
                    user=request.user,
                    study_id=record.pk,
                    fields=form.study_fields(),
                    findings=findings,
                    attest=bool(form.cleaned_data.get("attest")),
                    shown=form.cleaned_data.get("shown") or "",
                    request=request,
                )
            except Refused as refused:
                _show_refusal(form, refused)
                status = refused.status
            else:
                if record.reviewed and not saved.reviewed:
                    messages.warning(
                        request, "The study changed, so its review was cleared: review it again."
                    )
                return _after_save(request, encounter, "imaging")
    _audit_view(request, encounter, f"imaging {record.modality} {record.performed_on}")
    return render(
        request,
        "consultations/study.html",
        _context(encounter, "imaging", study=record, form=form, formset=formset),
        status=status,
    )


def _review_page(
    request: HttpRequest, encounter: Encounter, *, status: int = 200, notice: str = ""
) -> HttpResponse:
    try:
        review = services.decision_review(encounter)
        decision, errors, fingerprint = review.decision, [], review.fingerprint
    except InvalidWorkup as exc:
        decision, errors, fingerprint = None, exc.errors, ""
    signed = list(encounter.decisions.select_related("signed_by").order_by("-signed_at", "-id"))
    standing = selectors.decision_in_force(encounter.patient) if signed else None
    # Signing once a newer consultation exists is refused: the page says so before the click.
    sign_refused = sign_refusal(selectors.consultation_standing(encounter.patient), encounter.pk)
    changed_since_signing = (
        encounter.is_locked and bool(signed) and signed[0].fingerprint not in ("", fingerprint)
    )
    return render(
        request,
        "consultations/review.html",
        _context(
            encounter,
            "review",
            decision=decision,
            errors=errors,
            fingerprint=fingerprint,
            signature_token=services.new_signature_token(),
            signed=signed,
            amendments=encounter.amendments.select_related("opened_by", "closed_by"),
            standing=standing,
            changed_since_signing=changed_since_signing,
            sign_refused=sign_refused,
            can_sign=is_clinician(request.user),
            notice=notice,
        ),
        status=status,
    )


@require_safe
def review(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    _audit_view(request, encounter, "candidacy review")
    return _review_page(request, encounter)


@require_POST
def sign(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    fingerprint = request.POST.get("fingerprint", "")
    if len(fingerprint) != 64:
        raise Invalid("This review page is incomplete; reload it and sign again.")
    try:
        signed = services.decision_sign(
            encounter=encounter,
            user=request.user,
            token=request.POST.get("token", ""),
            fingerprint=fingerprint,
            request=request,
        )
    except services.ReviewChanged as changed:
        return _review_page(request, encounter, status=changed.status, notice=changed.reasons[0])
    except InvalidWorkup as exc:
        messages.error(request, f"Cannot sign: {exc}")
        return redirect("consultations:review", encounter.pk)
    label = signed.decision.replace("_", " ")
    if signed.newly_signed:  # type: ignore[attr-defined]
        messages.success(request, f"Decision signed: {label}.")
    else:
        messages.info(
            request, f"Already signed ({label}): nothing changed, nothing new was signed."
        )
    return redirect("consultations:decision", signed.pk)


@require_POST
def amend(request: HttpRequest, encounter_id: int) -> HttpResponse:
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    form = AmendForm(request.POST)
    if not form.is_valid():
        reason = form.errors.get("reason", ["Say why."])[0]
        raise Invalid(f"reason: {reason}", fields={"reason": reason})
    services.encounter_amend(
        encounter=encounter, user=request.user, reason=form.cleaned_data["reason"], request=request
    )
    messages.success(
        request,
        "Amendment opened: change what is wrong, then sign a new decision. Until then no plan "
        "or procedure relies on this consultation.",
    )
    return redirect("consultations:history", encounter.pk)


@require_safe
def decision_detail(request: HttpRequest, decision_id: int) -> HttpResponse:
    _staff_only(request)
    signed = get_object_or_404(
        CandidacyDecision.objects.select_related("patient", "signed_by", "encounter"),
        pk=decision_id,
    )
    viewing(request, signed.patient)
    latest = selectors.latest_signed_decision(signed.patient)
    standing = selectors.decision_in_force(signed.patient)
    return render(
        request,
        "consultations/decision.html",
        {
            "signed": signed,
            "d": signed.decision_json,
            "patient": signed.patient,
            "latest": latest,
            "superseded": latest is not None and latest.pk != signed.pk,
            "problem": standing.problem if standing.signed == signed else None,
        },
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


@require_http_methods(["GET", "HEAD", "POST"])
def import_workup(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
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
                encounter = services.workup_import(
                    workup=workup,
                    user=request.user,
                    names=(form.cleaned_data["given_name"], form.cleaned_data["family_name"]),
                    patient=form.cleaned_data["patient"],
                    confirm_changes=form.cleaned_data["confirm_changes"],
                    confirm_for=form.cleaned_data["confirm_for"] or "unconfirmed",
                    request=request,
                )
            except InvalidWorkup as exc:
                errors = [str(e) for e in exc.errors]
                form.add_error("file", "The workup is not valid; see the fields below.")
            except services.ImportNeedsChoice as refused:
                match = refused.match
                viewing(request, match)  # the page names the chart the workup's id matches
                form.add_error("patient", refused.reasons[0])
                status = refused.status
            except services.ImportNeedsConfirmation as refused:
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
                left = services.unstated_on_import(request.user)
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


@require_POST
def imaging_dicom(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """MRI from DICOM files on the imaging step: one .zip, or the files of a folder (a disc's
    DICOMDIR folder included). The study arrives unreviewed, dated by its files."""
    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    uploads = request.FILES.getlist("files")
    if not uploads:
        messages.error(request, "Choose the DICOM files of the study, or a .zip of them.")
        return redirect("consultations:imaging", encounter.pk)
    try:
        studies = read_uploads([(f.name, f) for f in uploads])
    except DicomProblem as problem:
        messages.error(request, f"Nothing was imported: {problem}")
        return redirect("consultations:imaging", encounter.pk)
    if len(studies) != 1:
        found = "no DICOM study" if not studies else f"{len(studies)} studies"
        messages.error(request, f"Nothing was imported: the files hold {found}; import one study.")
        return redirect("consultations:imaging", encounter.pk)
    try:
        record, created = services.dicom_study_import(
            patient=encounter.patient,
            study=studies[0],
            user=request.user,
            through=encounter,
            request=request,
        )
    except Refused as refused:
        messages.error(request, "Nothing was imported: " + "; ".join(refused.reasons))
        return redirect("consultations:imaging", encounter.pk)
    if created:
        messages.success(
            request,
            f"MRI of {record.performed_on:%Y-%m-%d} imported from DICOM "
            f"({len(record.series or [])} series). It counts as reviewed only once a clinician "
            "reviews it.",
        )
    else:
        messages.info(request, "This study was already on the record: nothing changed.")
    return redirect("consultations:imaging", encounter.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def imaging_pacs(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """The patient's studies in the clinic's PACS (DICOMweb), and the import of a chosen one:
    its headers only, held to the same checks as a DICOM import of files."""
    from spinepath.consultations import dicomweb

    _staff_only(request)
    encounter = selectors.encounter_get(encounter_id)
    patient = encounter.patient
    if not dicomweb.configured():
        raise Http404("No PACS is configured (SPINEPATH_DICOMWEB_URL).")
    # A record without the family and given names and the birth date, or with a name the PACS
    # would read as a pattern, neither searches nor imports (the page says why).
    cannot_search = dicomweb.search_problem(patient)
    if request.method == "POST" and not cannot_search:
        try:
            study = dicomweb.fetch_study(request.POST.get("study_uid", "")[:64])
            record, created = services.dicom_study_import(
                patient=patient,
                study=study,
                user=request.user,
                through=encounter,
                request=request,
            )
        except DicomProblem as problem:
            messages.error(request, f"Nothing was imported: {problem}")
        except Refused as refused:
            messages.error(request, "Nothing was imported: " + "; ".join(refused.reasons))
        else:
            if created:
                messages.success(
                    request,
                    f"MRI of {record.performed_on:%Y-%m-%d} imported from the PACS "
                    f"({len(record.series or [])} series). It counts as reviewed only once a "
                    "clinician reviews it.",
                )
            else:
                messages.info(request, "This study was already on the record: nothing changed.")
            return redirect("consultations:imaging", encounter.pk)
    problem, found, withheld = None, [], 0
    if not cannot_search:
        try:
            search = dicomweb.find_studies(patient)
        except DicomProblem as error:
            problem = str(error)
        else:
            found, withheld = search.studies, search.withheld
    viewing(request, patient)
    # The studies listed, all of this patient (the others the PACS answered are not shown).
    noting(request, pacs_studies=[s.uid for s in found], pacs_withheld=withheld)
    on_record = set(
        ImagingStudy.objects.filter(patient=patient, study_uid__isnull=False).values_list(
            "study_uid", flat=True
        )
    )
    return render(
        request,
        "consultations/pacs.html",
        {
            "encounter": encounter,
            "patient": patient,
            "studies": found,
            "problem": problem,
            "cannot_search": cannot_search,
            "withheld": withheld,
            "on_record": on_record,
            "nav": "patients",
        },
        status=502 if problem else 409 if cannot_search and request.method == "POST" else 200,
    )
