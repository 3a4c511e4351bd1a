"""The imaging step: studies and findings, the MRI review, DICOM uploads and the PACS."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
)

from spinepath.accounts.actors import actor_of, staff_actor
from spinepath.audit.middleware import noting, viewing
from spinepath.consultations import actions, selectors
from spinepath.consultations.dicom import DicomProblem, read_uploads
from spinepath.consultations.forms import (
    BlockForm,
    FindingFormSet,
    ProcedureForm,
    StudyForm,
)
from spinepath.consultations.models import (
    LEVEL_CHOICES,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
)
from spinepath.consultations.views.common import (
    SEES,
    _after_save,
    _audit_view,
    _context,
    _show_refusal,
)
from spinepath.errors import Invalid, NotAllowed, Refused
from spinepath.patients.models import Patient
from spinepath.web.params import parse_id


def _posted_id(request: HttpRequest, name: str) -> int:
    """An id posted by a form; anything but a plausible positive integer is a 400."""
    value = parse_id(request.POST.get(name, ""))
    if value is None:
        raise Invalid(f"{name}: not a valid id.", fields={name: "Not a valid id."})
    return value


@require_http_methods(["GET", "HEAD", "POST"])
def imaging(request: HttpRequest, encounter_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    patient = encounter.patient
    day = encounter.assessed_on
    can_review = actor_of(request).may("mri_review")
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
                    study = actions.study_save(
                        patient=patient,
                        through=encounter,
                        actor=actor_of(request),
                        fields=study_form.study_fields(),
                        attest=bool(study_form.cleaned_data.get("attest")),
                    )
                    messages.success(
                        request, "Study added: now record its findings level by level."
                    )
                    return redirect("consultations:study", encounter.pk, study.pk)
            elif which == "block":
                block_form = BlockForm(request.POST, prefix="block", review_date=day)
                if block_form.is_valid():
                    fields = dict(block_form.cleaned_data)
                    actions.block_add(
                        patient=patient,
                        through=encounter,
                        actor=actor_of(request),
                        fields=fields,
                        submission_key=fields.pop("submission"),
                    )
                    return _after_save(request, encounter, "imaging")
            elif which == "procedure":
                procedure_form = ProcedureForm(
                    request.POST, prefix="proc", review_date=day, birth_date=patient.birth_date
                )
                if procedure_form.is_valid():
                    actions.procedure_add(
                        patient=patient,
                        through=encounter,
                        actor=actor_of(request),
                        fields=procedure_form.cleaned_data,
                    )
                    return _after_save(request, encounter, "imaging")
            elif which == "review_study":
                actions.study_review(
                    patient=patient,
                    through=encounter,
                    study_id=_study_id(request, patient),
                    actor=actor_of(request),
                    shown=request.POST.get("shown", "")[:64],
                )
                messages.success(request, "Study reviewed: your review is recorded.")
                return redirect("consultations:imaging", encounter.pk)
            elif which == "verify_block":
                block_id = _posted_id(request, "block_id")
                get_object_or_404(DiagnosticBlock, pk=block_id, patient=patient)
                actions.block_verify(
                    patient=patient,
                    through=encounter,
                    block_id=block_id,
                    actor=actor_of(request),
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
                (study, actions.study_version(study))
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
    staff_actor(request, sees=SEES)
    encounter = selectors.encounter_get(encounter_id)
    record = get_object_or_404(
        ImagingStudy.objects.select_related("reviewed_by"), pk=study_id, patient=encounter.patient
    )
    existing = {f.level: f for f in record.levels.all()}
    initial = [
        {"level": level, **actions.finding_values(existing.get(level))}
        for level, _ in LEVEL_CHOICES
    ]
    form = StudyForm(
        request.POST or None,
        instance=record,
        prefix="study",
        review_date=encounter.assessed_on,
        can_review=actor_of(request).may("mri_review"),
        initial={"shown": actions.study_version(record)},
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
                saved = actions.study_save(
                    patient=encounter.patient,
                    through=encounter,
                    actor=actor_of(request),
                    study_id=record.pk,
                    fields=form.study_fields(),
                    findings=findings,
                    attest=bool(form.cleaned_data.get("attest")),
                    shown=form.cleaned_data.get("shown") or "",
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


@require_POST
def imaging_dicom(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """MRI from DICOM files on the imaging step: one .zip, or the files of a folder (a disc's
    DICOMDIR folder included). The study arrives unreviewed, dated by its files."""
    staff_actor(request, sees=SEES)
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
        record, created = actions.dicom_study_import(
            patient=encounter.patient,
            study=studies[0],
            actor=actor_of(request),
            through=encounter,
        )
    except Refused as refused:
        messages.error(request, "Nothing was imported: " + "; ".join(refused.reasons))
        return redirect("consultations:imaging", encounter.pk)
    if created:
        messages.success(
            request,
            f"MRI of {record.performed_on:%Y-%m-%d} imported from DICOM "
            f"({len(record.series or [])} series). It counts as reviewed only once a clinician "
            "reviews it." + _filed(record, encounter),
        )
    else:
        messages.info(request, "This study was already on the record: nothing changed.")
    return redirect("consultations:imaging", (record.filed_into or encounter).pk)


def _filed(record: ImagingStudy, encounter: Encounter) -> str:
    """What the page says when a study went into the next consultation."""
    if record.filed_into is None or record.filed_into.pk == encounter.pk:
        return ""
    return (
        f" The consultation of {encounter.assessed_on:%Y-%m-%d} is signed and stays as it was "
        f"signed: the study was filed into the consultation of "
        f"{record.filed_into.assessed_on:%Y-%m-%d}, shown here."
    )


@require_http_methods(["GET", "HEAD", "POST"])
def imaging_pacs(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """The patient's studies in the clinic's PACS (DICOMweb), and the import of a chosen one:
    its headers only, held to the same checks as a DICOM import of files."""
    from spinepath.consultations import dicomweb

    staff_actor(request, sees=SEES)
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
            record, created = actions.dicom_study_import(
                patient=patient,
                study=study,
                actor=actor_of(request),
                through=encounter,
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
                    "clinician reviews it." + _filed(record, encounter),
                )
            else:
                messages.info(request, "This study was already on the record: nothing changed.")
            return redirect("consultations:imaging", (record.filed_into or encounter).pk)
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
