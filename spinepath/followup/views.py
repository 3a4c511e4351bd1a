"""Follow-up pages: the worklist, a reassessment visit, the patient's questionnaire, the chart."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from spinepath.accounts.roles import is_staff_member
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.followup import charts, selectors, services
from spinepath.followup.forms import PaperForm, QuestionnaireForm, VisitNotesForm
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.patients.models import Patient
from spinepath.web.policy import clinic_policy


def _staff_only(request: HttpRequest) -> None:
    if not is_staff_member(request.user):
        raise PermissionDenied("Only clinic staff see follow-up.")


def worklist(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    today = timezone.localdate()
    state = request.GET.get("state", "open")
    sort = request.GET.get("sort", "due")
    patient_id = request.GET.get("patient", "")
    visits = selectors.worklist(
        today, state, sort, int(patient_id) if patient_id.isdigit() else None
    )[:500]
    return render(
        request,
        "followup/worklist.html",
        {
            "rows": selectors.visit_rows(visits, today),
            "state": state,
            "sort": sort,
            "patient_id": patient_id,
            "states": ["open", "due", "overdue", "missed", "upcoming", "done"],
            "today": today,
            "nav": "worklist",
        },
    )


def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    _staff_only(request)
    visit = get_object_or_404(
        ReassessmentVisit.objects.select_related("patient", "plan"), pk=visit_id
    )
    today = timezone.localdate()
    measurement = OutcomeMeasurement.objects.filter(visit=visit).first()
    paper = PaperForm(prefix="paper", initial={"measured_on": today})
    notes = VisitNotesForm(
        initial={"functional_notes": visit.functional_notes, "repeat_imaging": visit.repeat_imaging}
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "paper":
            paper = PaperForm(request.POST, prefix="paper")
            if paper.is_valid():
                data = paper.cleaned_data
                try:
                    services.paper_form_enter(
                        visit=visit,
                        user=request.user,
                        measured_on=data["measured_on"],
                        answers=services.Answers(
                            data["pain_value"], data["scale"], data["odi_sections"]
                        ),
                        request=request,
                    )
                except ValidationError as exc:
                    paper.add_error(None, exc)
                else:
                    messages.success(request, "Paper form saved and scored.")
                    return redirect("followup:visit", visit.pk)
        elif action == "notes":
            notes = VisitNotesForm(request.POST)
            if notes.is_valid():
                services.visit_notes_save(
                    visit=visit, user=request.user, request=request, **notes.cleaned_data
                )
                messages.success(request, "Notes saved.")
                return redirect("followup:visit", visit.pk)
        status = 400
    baseline, response = selectors.response_at(visit)
    audit_record(
        request=request,
        action=AuditEvent.VIEW,
        what=f"reassessment {visit.label}",
        patient=visit.patient,
    )
    policy = clinic_policy()
    return render(
        request,
        "followup/visit.html",
        {
            "visit": visit,
            "patient": visit.patient,
            "measurement": measurement,
            "state": selectors.visit_state(visit, today, measurement is not None),
            "baseline": baseline,
            "response": response,
            "paper": paper,
            "notes": notes,
            "policy": policy,
            "nav": "worklist",
            "suggest_imaging": bool(response and response.status == "non_responder"),
        },
        status=status,
    )


@require_POST
def link_create(request: HttpRequest, visit_id: int) -> HttpResponse:
    _staff_only(request)
    visit = get_object_or_404(ReassessmentVisit, pk=visit_id)
    if OutcomeMeasurement.objects.filter(visit=visit).exists():
        messages.error(request, "This visit already has its measurement.")
        return redirect("followup:visit", visit.pk)
    if request.POST.get("send") == "email":
        try:
            address = services.questionnaire_link_send(
                visit=visit, user=request.user, base_url=request.build_absolute_uri("/")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            audit_record(
                request=request,
                action=AuditEvent.CREATE,
                what=f"questionnaire link {visit.label} emailed",
                patient=visit.patient,
            )
            messages.success(request, f"A new link was emailed to {address}.")
        return redirect("followup:visit", visit.pk)
    token = services.questionnaire_link_create(visit=visit, user=request.user)
    url = request.build_absolute_uri(reverse("followup:questionnaire", args=[token]))
    audit_record(
        request=request,
        action=AuditEvent.CREATE,
        what=f"questionnaire link {visit.label}",
        patient=visit.patient,
    )
    messages.success(request, f"New single-use link (shown once): {url}")
    return redirect("followup:visit", visit.pk)


@never_cache
def questionnaire(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's page: no login, no personal data, one submission."""
    try:
        link = services.link_for(token)
    except services.LinkProblem as problem:
        return render(
            request, "followup/questionnaire_closed.html", {"message": str(problem)}, status=410
        )
    form = QuestionnaireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.questionnaire_submit(
                token=token,
                answers=services.Answers(data["pain_value"], "vas", data["odi_sections"]),
            )
        except services.LinkProblem as problem:
            return render(
                request, "followup/questionnaire_closed.html", {"message": str(problem)}, status=410
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(
                request,
                "followup/questionnaire_closed.html",
                {"message": "Thank you - your answers are saved.", "thanks": True},
            )
    return render(
        request,
        "followup/questionnaire.html",
        {"form": form, "visit_label": link.visit.label},
        status=400 if form.errors else 200,
    )


def outcome_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    _staff_only(request)
    patient = get_object_or_404(Patient, pk=patient_id)
    svg = charts.outcome_chart_svg(patient)
    return HttpResponse(svg, content_type="image/svg+xml")
