"""Follow-up pages: the worklist, a reassessment visit, the patient's questionnaire, the chart."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spinepath.accounts.actors import acting_as, actor_of, staff_actor
from spinepath.accounts.roles import OUTCOMES_READERS
from spinepath.audit.middleware import showing, viewing
from spinepath.errors import Refused
from spinepath.followup import charts, reminders, selectors, services
from spinepath.followup.forms import (
    WORKLIST_STATES,
    CallOutcomeForm,
    PaperForm,
    QuestionnaireForm,
    VisitNotesForm,
    WorklistFilter,
    questions_version,
)
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
from spinepath.pathway.safety import safety_advice
from spinepath.patients.models import Patient
from spinepath.plans.forms import show_refusal
from spinepath.plans.sessions_cache import sessions_to_book_cached
from spinepath.safety.forms import posted_safety
from spinepath.safety.selectors import reviews_to_show
from spinepath.versions.triggers import code_version, patient_version, table_versions
from spinepath.web.kept import kept, kept_key, render_part, shown
from spinepath.web.policy import clinic_policy

SEES = "see follow-up"
# Who answers on the questionnaire page when nobody is signed in: whoever holds the link.
LINK_HOLDER = "(patient's questionnaire link)"


WORKLIST_PAGE_SIZE = 50
QUESTIONS_VERSION = questions_version()


# What the worklist shows is read from these tables: it is kept under their versions.
WORKLIST_TABLES = (
    "followup_reassessmentvisit",
    "followup_outcomemeasurement",
    "followup_reminderstep",
    "patients_patient",
    "plans_careplan",
    "plans_planline",
    "plans_procedure",
    "public_appointment",
    "safety_safetyreport",
)


@require_safe
def worklist(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    today = timezone.localdate()
    filters = WorklistFilter(request.GET)
    valid = filters.is_valid()
    data = filters.cleaned_data if valid else {}
    state = data.get("state") or "open"
    sort = data.get("sort") or "due"
    patient_id = data.get("patient")
    number = request.GET.get("page") or ""
    number = number if number.isdigit() and len(number) < 7 else ""
    completion_line = actor.has_role(*OUTCOMES_READERS)
    # The tables' versions first, then the rows: what is kept is never older than its key.
    versions = table_versions(*WORKLIST_TABLES)
    key = kept_key(
        "worklist",
        versions,
        today.isoformat(),
        state,
        sort,
        patient_id or "",
        number,
        "1" if completion_line else "0",
    )

    def compute() -> tuple[str, list[str]]:
        return _worklist_body(
            today, valid, filters, state, sort, patient_id, number, completion_line, versions
        )

    body, numbers = kept(key, compute) if valid else compute()
    showing(request, [], numbers=numbers)
    return render(
        request,
        "followup/worklist.html",
        {"body": shown(request, body), "nav": "worklist"},
        status=200 if valid else 400,
    )


def _worklist_body(
    today: date,
    valid: bool,
    filters: WorklistFilter,
    state: str,
    sort: str,
    patient_id: int | None,
    number: str,
    completion_line: bool,
    versions: str,
) -> tuple[str, list[str]]:
    """The worklist's content and the record numbers of the patients it shows (the visits' ids
    and count, and the sessions to book, are kept under the same versions of their tables)."""
    if valid:
        page, visits = selectors.worklist_page(
            today, state, sort, patient_id, number or None, WORKLIST_PAGE_SIZE, versions
        )
    else:
        page, visits = Paginator([], WORKLIST_PAGE_SIZE).get_page(1), []
    rows = selectors.visit_rows(visits, today)
    # Injection sessions of accepted plans that no appointment holds yet (first page only).
    to_book = (
        sessions_to_book_cached(limit=20) if valid and page.number == 1 and not patient_id else []
    )
    safety_reviews = reviews_to_show()
    first = valid and page.number == 1 and not patient_id
    calls = list(selectors.calls_to_make(today)[:50]) if first else []
    letters = list(selectors.letters_to_print(today)[:50]) if first else []
    patients = (
        [visit.patient for visit, _ in rows]
        + [plan.patient for plan, _ in to_book]
        + [report.patient for report, _ in safety_reviews]
        + [step.visit.patient for step in calls + letters]
    )
    keep = {"state": state, "sort": sort, **({"patient": patient_id} if patient_id else {})}
    html = render_part(
        "followup/_worklist_body.html",
        {
            "rows": rows,
            "page": page,
            "keep": urlencode(keep),
            "state": state,
            "sort": sort,
            "patient_id": patient_id or "",
            "filter_errors": []
            if valid
            else [f"{name}: {' '.join(errors)}" for name, errors in filters.errors.items()],
            "states": WORKLIST_STATES,
            "today": today,
            "to_book": to_book,
            "safety_reviews": safety_reviews,
            "calls": calls,
            "letters": letters,
            # The line of follow-up completion, for who may read the outcomes (loaded after).
            "completion_line": completion_line,
        },
    )
    return html, sorted({p.mrn for p in patients if p.mrn})


@require_http_methods(["GET", "HEAD", "POST"])
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    visit = get_object_or_404(
        ReassessmentVisit.objects.select_related("patient", "plan"), pk=visit_id
    )
    today = timezone.localdate()
    measurement = OutcomeMeasurement.objects.filter(visit=visit).first()
    # The paper form's date starts inside the window: today when it is, else the nearest day
    # on which the answers would still count.
    paper = PaperForm(
        prefix="paper",
        initial={
            "measured_on": visit.window.nearest_day(today),
            "source": "phone" if request.GET.get("source") == "phone" else "paper",
        },
    )
    call = CallOutcomeForm(prefix="call")
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
                        actor=actor,
                        visit=visit,
                        measured_on=data["measured_on"],
                        answers=services.Answers(
                            data["pain_value"],
                            data["scale"],
                            data["odi_sections"],
                            data["safety"],
                            data["lbp"],
                        ),
                        outside_window_confirmed=data["confirm_outside_window"],
                        source=data["source"],
                    )
                except Refused as refused:
                    if refused.status in (403, 404):
                        raise
                    show_refusal(paper, refused)
                    if measurement is not None or refused.status == 409:
                        messages.error(request, " ".join(refused.reasons))
                else:
                    messages.success(
                        request,
                        "Answers from the call saved and scored; the call is done."
                        if data["source"] == "phone"
                        else "Paper form saved and scored.",
                    )
                    return redirect("followup:visit", visit.pk)
        elif action == "call":
            call = CallOutcomeForm(request.POST, prefix="call")
            if call.is_valid():
                step = ReminderStep.objects.filter(
                    pk=call.cleaned_data["step"], visit=visit, channel=ReminderStep.CALL
                ).first()
                if step is None:
                    call.add_error(None, "This call is not one of this visit's reminders.")
                    messages.error(request, "This call is not one of this visit's reminders.")
                else:
                    try:
                        reminders.call_outcome_record(
                            actor=actor,
                            step=step,
                            outcome=call.cleaned_data["outcome"],
                            note=call.cleaned_data["note"],
                        )
                    except Refused as refused:
                        if refused.status in (403, 404):
                            raise
                        show_refusal(call, refused)
                        # Said at the top too: the call's form is gone once it is settled.
                        messages.error(request, " ".join(refused.reasons))
                    else:
                        messages.success(request, "The call's outcome is recorded.")
                        return redirect("followup:visit", visit.pk)
        elif action == "notes":
            notes = VisitNotesForm(request.POST)
            if notes.is_valid():
                services.visit_notes_save(actor=actor, visit=visit, **notes.cleaned_data)
                messages.success(request, "Notes saved.")
                return redirect("followup:visit", visit.pk)
        status = 400
    baseline, response = selectors.response_at(visit)
    viewing(request, visit.patient)
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
            "link_problem": services.link_problem(visit, today) if measurement is None else None,
            "steps": list(visit.steps.select_related("call_by", "printed_by")),
            "open_call": selectors.open_call(visit, today, measurement is not None),
            "call": call,
            "today": today,
            "responder_rules": selectors.responder_rules(policy),
        },
        status=status,
    )


@require_POST
def letters_print(request: HttpRequest) -> HttpResponse:
    """Print the reminder letters waiting on the worklist (those ticked, or all): each with a
    new link as a QR code and the questions on paper; they are then marked printed."""
    import segno
    from django.template.loader import render_to_string

    from spinepath.pathway import ichom
    from spinepath.pathway.instruments import ODI_SECTIONS
    from spinepath.pathway.safety import SAFETY_QUESTIONS
    from spinepath.plans.pdf import FONT_FAMILY, html_to_pdf

    actor = staff_actor(request, sees=SEES)
    today = timezone.localdate()
    chosen = [v for v in request.POST.getlist("letter") if v.isdigit() and len(v) < 12]
    if not chosen:
        messages.error(request, "No letters printed: tick the letters to print.")
        return redirect(reverse("followup:worklist") + "#letters")
    # Printed, answered or closed since the list was shown: the service says which and why.
    waiting = ReminderStep.objects.filter(pk__in=chosen, channel=ReminderStep.LETTER)
    try:
        letters = reminders.letters_print(
            actor=actor, steps=list(waiting), base_url=settings.SPINEPATH_BASE_URL
        )
    except Refused as refused:
        if refused.status in (403, 404):
            raise
        messages.error(request, "No letters printed: " + " ".join(refused.reasons))
        return redirect(reverse("followup:worklist") + "#letters")
    pdf = html_to_pdf(
        render_to_string(
            "followup/reminder_letters.html",
            {
                "letters": [
                    replace(letter, qr=segno.make(letter.url, error="m").svg_inline(scale=4))
                    for letter in letters
                ],
                "font_family": FONT_FAMILY,
                "clinic": settings.SPINEPATH_CLINIC_NAME,
                "clinic_address": settings.SPINEPATH_CLINIC_ADDRESS,
                "clinic_phone": settings.SPINEPATH_CLINIC_PHONE,
                "today": today,
                "safety_questions": SAFETY_QUESTIONS,
                "odi_sections": ODI_SECTIONS,
                "lbp": {
                    "back": ichom.BACK_PAIN_QUESTION,
                    "leg": ichom.LEG_PAIN_QUESTION,
                    "nrs_help": ichom.NRS_HELP,
                    "work": ichom.WORK_STATUS_QUESTION,
                    "work_options": list(ichom.WORK_STATUS.values()),
                    "analgesic": ichom.ANALGESIC_QUESTION,
                    "analgesic_options": list(ichom.ANALGESIC_USE.values()),
                    "opioid": ichom.OPIOID_QUESTION,
                },
            },
        )
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="check-in-letters.pdf"'
    return response


@require_POST
def link_create(request: HttpRequest, visit_id: int) -> HttpResponse:
    """A questionnaire link for one visit, emailed or shown once to hand over; refused, with
    the window's dates, when the window is closed or opens after the link would expire."""
    actor = staff_actor(request, sees=SEES)
    visit = get_object_or_404(ReassessmentVisit, pk=visit_id)
    try:
        if request.POST.get("send") == "email":
            address = services.questionnaire_link_send(actor=actor, visit=visit)
            done = f"A new link was emailed to {address}."
        else:
            token = services.questionnaire_link_create(actor=actor, visit=visit)
            # On the clinic's configured address, as an emailed link would be.
            url = settings.SPINEPATH_BASE_URL.rstrip("/") + reverse(
                "followup:questionnaire", args=[token]
            )
            done = f"New single-use link (shown once): {url}"
    except Refused as refused:
        if refused.status in (403, 404):
            raise
        messages.error(request, "No link: " + " ".join(refused.reasons))
        return redirect("followup:visit", visit.pk)
    messages.success(request, done)
    return redirect("followup:visit", visit.pk)


def _closed(request: HttpRequest, problem: services.LinkProblem) -> HttpResponse:
    """Why the link answers nothing (used, expired, outside its window, not valid)."""
    return render(
        request,
        "followup/questionnaire_closed.html",
        {"message": str(problem), "clinic_phone": settings.SPINEPATH_CLINIC_PHONE},
        status=problem.status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_not_required
@never_cache
def questionnaire(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's page: no login, no personal data, one submission. Complete answers to a
    link that exists and is unused go to the write, which checks the link (under its lock);
    otherwise the page says why the link cannot be used, or shows the questions."""
    posted = request.method == "POST"
    form = QuestionnaireForm(request.POST) if posted else None
    if form is not None and form.is_valid() and services.link_unused(token):
        data = form.cleaned_data
        actor = actor_of(request)
        if actor.channel == "public":
            actor = acting_as(request, replace(actor, name=LINK_HOLDER))
        try:
            services.questionnaire_submit(
                actor=actor,
                token=token,
                answers=services.Answers(
                    data["pain_value"], "vas", data["odi_sections"], data["safety"], data["lbp"]
                ),
            )
        except services.LinkProblem as problem:
            return _closed(request, problem)
        except Refused as refused:
            show_refusal(form, refused)
        else:
            return render(
                request,
                "followup/questionnaire_closed.html",
                {
                    "message": "Thank you - your answers are saved.",
                    "thanks": True,
                    "clinic_phone": settings.SPINEPATH_CLINIC_PHONE,
                    # A worrying safety answer: what to do now, at once (PATHWAY.md section 10).
                    "advice": safety_advice(data["safety"], settings.SPINEPATH_CLINIC_PHONE),
                },
            )
    try:
        link = services.link_for(token)
    except services.LinkProblem as problem:
        return _closed(request, problem)
    if form is None:
        # The blank page is the same for every link of its visit's label: kept per label,
        # wording, build and mode (the demo banner), with this request's CSRF token filled in.
        def blank() -> str:
            return render_part(
                "followup/questionnaire.html",
                {
                    "form": QuestionnaireForm(),
                    "visit_label": link.visit.label,
                    "questions_version": QUESTIONS_VERSION,
                    "code_version": code_version(),
                    "demo_mode": settings.SPINEPATH_DEMO,
                    "advice": None,
                },
            )

        label = hashlib.sha256(link.visit.label.encode()).hexdigest()[:16]  # a key has no spaces
        key = kept_key("questionnaire-page", label, QUESTIONS_VERSION, settings.SPINEPATH_DEMO)
        return HttpResponse(shown(request, kept(key, blank)))
    return render(
        request,
        "followup/questionnaire.html",
        # The blank questions are the same for every patient: rendered once per wording.
        {
            "form": form,
            "visit_label": link.visit.label,
            "questions_version": QUESTIONS_VERSION,
            "code_version": code_version(),
            # A yes already given is answered at once, even while other answers are missing.
            "advice": safety_advice(
                {k: v == "yes" for k, v in posted_safety(request.POST).items()},
                settings.SPINEPATH_CLINIC_PHONE,
            )
            if form.errors
            else None,
        },
        status=400 if form.errors else 200,
    )


@require_safe
def outcome_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    staff_actor(request, sees=SEES)
    # Kept under the patient's version, read before the facts (drawing it takes most of a
    # second, and the chart page asks for it every time it is opened).
    key = kept_key("outcome-chart", patient_id, patient_version(patient_id))
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    svg = kept(key, lambda: charts.outcome_chart_svg(patient))
    return HttpResponse(svg, content_type="image/svg+xml")
