"""The patient's own pages (/my/...): sign-in by link and date of birth, then their
consultation, plan, appointments, questionnaires and progress - and nobody else's.

Every page but the two sign-in steps goes through :func:`patient_page`, which finds the patient
of the session (or sends the browser to sign in) and passes only that patient to the view; ids
in a URL are always looked up within that patient's records, so another patient's id is a 404.
A patient session carries no staff login, so every staff page refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from icalendar import Calendar, Event

from spinepath.accounts.actors import acting_as, actor_of, staff_actor
from spinepath.actors import Actor
from spinepath.audit.middleware import viewing
from spinepath.errors import RateLimited, Refused
from spinepath.followup.charts import outcome_chart_svg
from spinepath.followup.models import ReassessmentVisit
from spinepath.followup.services import questionnaire_link_create
from spinepath.pathway import gates
from spinepath.pathway.portal import acceptance_statement
from spinepath.pathway.safety import safety_advice
from spinepath.patients.models import Patient
from spinepath.patients.services import reminder_choices_set
from spinepath.plans.acceptance import plan_accept_by_patient
from spinepath.plans.documents import plan_context, plan_pdf_bytes
from spinepath.plans.forms import show_refusal
from spinepath.plans.models import CarePlan, Procedure
from spinepath.plans.pricing import pricing_problem
from spinepath.plans.selectors import plan_content_hash, plan_sessions, plan_visits
from spinepath.plans.standing import patient_standing
from spinepath.portal import selectors, services
from spinepath.portal.forms import (
    AcceptForm,
    BirthDateForm,
    ChangeRequestForm,
    LinkRequestForm,
    ReminderChoicesForm,
)
from spinepath.public.bookings import appointment_ics, change_request_create
from spinepath.public.models import Appointment
from spinepath.safety.forms import (
    SafetyAnswersForm,
    posted_safety,
    safety_answers,
    safety_fields,
)
from spinepath.safety.models import SafetyReport
from spinepath.safety.services import answers_from_patient
from spinepath.web.clients import client_address
from spinepath.web.policy import clinic_policy
from spinepath.web.refusals import show_on_form, with_retry_after
from spinepath.web.submissions import valid_submission_key

View = Callable[..., HttpResponse]
logger = logging.getLogger(__name__)
# How the audit log names someone on the sign-in pages who is not signed in.
SIGN_IN_PAGE = "(patient's sign-in page)"
LINK_HOLDER = "(patient's sign-in link)"


def _visitor(request: HttpRequest, name: str) -> Actor:
    """The actor on a sign-in page: a visitor not signed in is named by the page."""
    actor = actor_of(request)
    return acting_as(request, replace(actor, name=name)) if actor.channel == "public" else actor


def patient_page(view: View) -> View:
    @login_not_required
    @never_cache
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient, expired = services.current_patient(request)
        if patient is None:
            where = reverse("portal:sign_in")
            return redirect(f"{where}?ended=1" if expired else where)
        acting_as(
            request,
            Actor.for_patient(
                patient.pk,
                services.actor_name(patient),
                address=client_address(request),
                path=request.get_full_path(),
            ),
        )
        viewing(request, patient)
        return view(request, patient, *args, **kwargs)

    return wrapped


def _page(request: HttpRequest, template: str, context: dict[str, Any], **kw: Any) -> HttpResponse:
    return render(
        request,
        f"portal/{template}",
        {
            "clinic": settings.SPINEPATH_CLINIC_NAME,
            "clinic_address": settings.SPINEPATH_CLINIC_ADDRESS,
            **context,
        },
        **kw,
    )


# --- Signing in -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_not_required
@never_cache
def sign_in(request: HttpRequest) -> HttpResponse:
    form = LinkRequestForm(request.POST or None)
    sent = False
    status = 200
    after: Callable[[], None] | None = None
    limited: RateLimited | None = None
    if request.method == "POST" and form.is_valid():
        try:
            after = services.link_request(
                actor=_visitor(request, SIGN_IN_PAGE), email=form.cleaned_data["email"]
            )
        except RateLimited as refused:
            form.add_error(None, " ".join(refused.reasons))
            status, limited = refused.status, refused
        else:
            sent = True
    elif form.errors:
        status = 400
    response = _page(
        request,
        "sign_in.html",
        {"form": form, "sent": sent, "ended": request.GET.get("ended") == "1"},
        status=status,
    )
    if after is not None:
        _after_the_answer(response, after)
    return with_retry_after(response, limited) if limited else response


def _after_the_answer(response: HttpResponse, work: Callable[[], None]) -> None:
    """Run ``work`` once the answer is sent: the server closes a response after writing it, so
    whether an address is on a record never shows in how long the answer took. A failure is
    logged, never the visitor's."""
    close = response.close

    def work_then_close() -> None:
        try:
            work()
        except Exception:
            logger.exception("the sign-in links asked for on the public page were not sent")
        finally:
            close()

    response.close = work_then_close  # type: ignore[method-assign]


@require_http_methods(["GET", "HEAD", "POST"])
@login_not_required
@never_cache
def link(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email: nothing about the patient until the date of birth matches."""
    try:
        services.link_usable(token)
    except Refused as refused:
        return _page(
            request, "link_closed.html", {"message": refused.reasons[0]}, status=refused.status
        )
    form = BirthDateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                patient = services.sign_in_check(
                    actor=_visitor(request, LINK_HOLDER),
                    token=token,
                    birth_date=form.cleaned_data["birth_date"],
                )
            except services.SignInRefused as refused:
                return _page(
                    request,
                    "link_closed.html",
                    {"message": refused.reasons[0]},
                    status=refused.status,
                )
            except Refused as refused:
                show_on_form(form, refused)
                status = refused.status
            else:
                services.portal_login(request, patient)
                return redirect("portal:home")
        else:
            status = 400
    return _page(request, "link.html", {"form": form}, status=status)


@login_not_required
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    services.portal_logout(request)
    return redirect(f"{reverse('portal:sign_in')}?out=1")


# --- The patient's pages --------------------------------------------------------------------


@require_safe
@patient_page
def home(request: HttpRequest, patient: Patient) -> HttpResponse:
    today = timezone.localdate()
    plan = selectors.plan_for_patient(patient)
    upcoming = [
        a
        for a in selectors.appointments_for(patient)
        if a.status == Appointment.BOOKED and a.end >= timezone.now()
    ]
    return _page(
        request,
        "home.html",
        {
            "patient": patient,
            "decision": selectors.decision_in_words(patient),
            "plan": plan,
            "next": upcoming[0] if upcoming else None,
            "due": selectors.questionnaires_due(patient, today),
            "nav": "home",
        },
    )


@require_safe
@patient_page
def consultation(request: HttpRequest, patient: Patient) -> HttpResponse:
    return _page(
        request,
        "consultation.html",
        {"patient": patient, "d": selectors.decision_in_words(patient), "nav": "consultation"},
    )


def _plan_or_none(patient: Patient) -> tuple[CarePlan | None, str | None]:
    plan = selectors.plan_for_patient(patient)
    if plan is None:
        return None, None
    standing = patient_standing(patient)
    shown = standing.plan(plan.pk)
    if shown is None or not gates.patient_may_see_plan(standing, shown, clinic_policy()):
        return None, "Your plan is being reviewed by the clinic; it will be here again soon."
    return plan, None


@require_http_methods(["GET", "HEAD", "POST"])
@patient_page
def plan(request: HttpRequest, patient: Patient) -> HttpResponse:
    current, note = _plan_or_none(patient)
    context: dict[str, Any] = {
        "patient": patient,
        "plan": current,
        "note": note,
        "on_hold": current is not None and pricing_problem(patient) is not None,
        "nav": "plan",
        "earlier": CarePlan.objects.filter(patient=patient, accepted_pdf_sha256__gt="")
        .exclude(pk=current.pk if current else None)
        .order_by("-version"),
    }
    if current is not None:
        context.update(plan_context(current))
        context["hide_lines"] = False
        if current.status == CarePlan.RELEASED:
            form = AcceptForm(request.POST or None, initial={"shown": plan_content_hash(current)})
            choices = ReminderChoicesForm(
                request.POST or None,
                prefix="remind",
                initial=ReminderChoicesForm.initial_for(patient),
            )
            status = 200
            if request.method == "POST":
                if form.is_valid() and choices.is_valid():
                    data = form.cleaned_data
                    try:
                        plan_accept_by_patient(
                            actor=actor_of(request),
                            plan_id=current.pk,
                            typed_name=data["typed_name"],
                            shown=data["shown"],
                            consent_given=data["consent"],
                        )
                    except Refused as refused:
                        show_on_form(form, refused)
                        form.data = form.data.copy()
                        form.data["shown"] = plan_content_hash(current)
                        status = refused.status
                    else:
                        # Asked at consent: how to be reminded of the check-ins after it.
                        if choices.choices is not None:
                            reminder_choices_set(
                                actor=actor_of(request),
                                patient=patient,
                                choices=choices.choices,
                            )
                        messages.success(request, "Thank you. You accepted your plan.")
                        return redirect("portal:plan")
                else:
                    status = 400
            context["form"] = form
            context["choices"] = choices
            context["statement"] = acceptance_statement(
                context["totals"].total, settings.SPINEPATH_CURRENCY
            )
            return _page(request, "plan.html", context, status=status)
        context["sessions"] = plan_sessions(current) if current.status == CarePlan.ACCEPTED else []
        context["visits"] = plan_visits(current) if current.status == CarePlan.ACCEPTED else []
    if (
        request.method == "POST"
        and current is not None
        and current.status == CarePlan.ACCEPTED
        and request.POST.get("shown") == current.accepted_content_hash
    ):
        # The second click of a double submission: the plan it accepted is the one shown.
        messages.success(request, "Thank you. You accepted your plan.")
        return redirect("portal:plan")
    if request.method == "POST":
        return _page(
            request,
            "plan.html",
            {
                **context,
                "gone": note
                or "This plan can no longer be accepted: it was replaced or withdrawn. Read "
                "the plan as it is now.",
            },
            status=409,
        )
    return _page(request, "plan.html", context)


@require_safe
@patient_page
def plan_pdf(request: HttpRequest, patient: Patient, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(CarePlan, pk=plan_id, patient=patient)
    if plan.accepted_pdf:  # what the patient accepted, also after a newer version
        data = bytes(plan.accepted_pdf)
    else:
        current, _ = _plan_or_none(patient)
        if current is None or current.pk != plan.pk:
            raise Http404("There is no such plan.")
        data = plan_pdf_bytes(plan, printed_at=timezone.now())
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="plan-v{plan.version}.pdf"'
    return response


@require_safe
@patient_page
def appointments(request: HttpRequest, patient: Patient) -> HttpResponse:
    now = timezone.now()
    rows = selectors.appointments_for(patient)
    return _page(
        request,
        "appointments.html",
        {
            "patient": patient,
            "upcoming": [a for a in rows if a.status == Appointment.BOOKED and a.end >= now],
            "cancelled": [a for a in rows if a.status == Appointment.CANCELLED and a.end >= now],
            # Held: the time has passed, or the step was done already (an injection recorded
            # before the day it was booked for).
            "past": [a for a in rows if a.end < now or a.status == Appointment.DONE],
            "visits": selectors.visits_for(patient),
            "today": timezone.localdate(),
            "form": ChangeRequestForm(),
            "nav": "appointments",
        },
    )


def _ics(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
@patient_page
def appointment_calendar(
    request: HttpRequest, patient: Patient, appointment_id: int
) -> HttpResponse:
    appointment = get_object_or_404(Appointment, pk=appointment_id, patient=patient)
    return _ics(appointment_ics(appointment, download=True), f"{appointment.kind}.ics")


@require_safe
@patient_page
def visit_calendar(request: HttpRequest, patient: Patient, visit_id: int) -> HttpResponse:
    visit = get_object_or_404(ReassessmentVisit, pk=visit_id, patient=patient)
    calendar = Calendar()
    calendar.add("prodid", "-//spinepath//appointments//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"visit-{visit.pk}@spinepath")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", visit.opens)
    event.add("dtend", visit.closes + timedelta(days=1))
    event.add("summary", f"{visit.label} check-in - {settings.SPINEPATH_CLINIC_NAME}")
    event.add(
        "description",
        "Your pain and daily-activity questionnaires are due in these days. The clinic sends "
        "you a link, or sign in to your pages to answer.",
    )
    event.add("transp", "TRANSPARENT")
    calendar.add_component(event)
    return _ics(calendar.to_ical(), "check-in.ics")


@patient_page
@require_POST
def change_request(request: HttpRequest, patient: Patient, appointment_id: int) -> HttpResponse:
    get_object_or_404(Appointment, pk=appointment_id, patient=patient)
    form = ChangeRequestForm(request.POST)
    if form.is_valid():
        try:
            change_request_create(
                actor=actor_of(request),
                appointment_id=appointment_id,
                kind=form.cleaned_data["kind"],
                message=form.cleaned_data["message"],
            )
        except Refused as refused:
            messages.error(request, " ".join(refused.reasons))
        else:
            messages.success(
                request, "Your request is with the coordinator, who will contact you to confirm."
            )
    else:
        messages.error(request, "Choose whether to move or cancel the appointment.")
    return redirect("portal:appointments")


@require_http_methods(["GET", "HEAD", "POST"])
@patient_page
def questionnaires(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The check-ins to answer now, and how the patient wants to be reminded of them."""
    choices = ReminderChoicesForm(
        request.POST or None, initial=ReminderChoicesForm.initial_for(patient)
    )
    if request.method == "POST" and choices.is_valid() and choices.choices is not None:
        reminder_choices_set(actor=actor_of(request), patient=patient, choices=choices.choices)
        if any(choices.choices.values()):
            messages.success(request, "Saved. We will remind you only in the ways you ticked.")
        else:
            messages.warning(
                request,
                "Saved: we will send you no reminders. Your check-ins still open here on My "
                "questionnaires, and the clinic may still call you about your care.",
            )
        return redirect(reverse("portal:questionnaires") + "#reminders")
    return _page(
        request,
        "questionnaires.html",
        {
            "patient": patient,
            "due": selectors.questionnaires_due(patient, timezone.localdate()),
            "visits": selectors.visits_for(patient),
            "today": timezone.localdate(),
            "choices": choices,
            "quiet": clinic_policy().quiet_hours,
            "nav": "questionnaires",
        },
    )


@patient_page
@require_POST
def questionnaire_start(request: HttpRequest, patient: Patient, visit_id: int) -> HttpResponse:
    visit = get_object_or_404(ReassessmentVisit, pk=visit_id, patient=patient)
    try:
        token = questionnaire_link_create(actor=actor_of(request), visit=visit)
    except Refused as refused:
        messages.error(request, " ".join(refused.reasons))
        return redirect("portal:questionnaires")
    return redirect("followup:questionnaire", token=token)


@require_http_methods(["GET", "HEAD", "POST"])
@patient_page
def safety(request: HttpRequest, patient: Patient) -> HttpResponse:
    """A patient reports a problem since their injection (PATHWAY.md section 10): the safety
    questions, and what to do now when an answer is worrying."""
    injected = Procedure.objects.not_voided().filter(patient=patient).exists()
    form = SafetyAnswersForm(request.POST or None)
    advice = None
    if request.method == "POST" and injected and form.is_valid():
        try:
            answers_from_patient(
                actor=actor_of(request),
                patient=patient,
                answers=safety_answers(form.cleaned_data),
                source=SafetyReport.OWN_PAGES,
                details=form.cleaned_data["details"],
                submission_key=form.cleaned_data["submission"],
            )
        except Refused as refused:
            show_refusal(form, refused)
        else:
            advice = safety_advice(
                safety_answers(form.cleaned_data), settings.SPINEPATH_CLINIC_PHONE
            )
            return _page(
                request,
                "safety_sent.html",
                {"patient": patient, "advice": advice, "nav": "safety"},
            )
    if request.method == "POST" and form.errors:
        # A yes already given is answered at once, whatever is still unanswered: a patient
        # who gives up on the rest of the form still knows what to do now.
        given = {k: v == "yes" for k, v in posted_safety(request.POST).items()}
        advice = safety_advice(given, settings.SPINEPATH_CLINIC_PHONE)
    return _page(
        request,
        "safety.html",
        {
            "patient": patient,
            "advice": advice,
            "form": form,
            "safety": safety_fields(form),
            "injected": injected,
            "clinic_phone": settings.SPINEPATH_CLINIC_PHONE,
            "nav": "safety",
        },
        status=400 if form.errors else 200,
    )


@require_safe
@patient_page
def progress(request: HttpRequest, patient: Patient) -> HttpResponse:
    return _page(
        request,
        "progress.html",
        {
            "patient": patient,
            # Drawn once, for a phone's width; a wider screen shows it at a readable size.
            "chart": mark_safe(outcome_chart_svg(patient, compact=True)),
            "nav": "progress",
            **selectors.progress(patient),
        },
    )


# --- Staff: send a sign-in link from the chart --------------------------------------------


@require_POST
def send_link(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = staff_actor(request, sees="send sign-in links")
    patient = get_object_or_404(Patient, pk=patient_id)
    key = request.POST.get("submission")
    if not valid_submission_key(key):
        messages.error(request, "This page has expired: no link was sent. Try again from here.")
        return redirect("records:chart", patient.pk)
    try:
        services.link_send(actor=actor, patient=patient, submission_key=key)
    except Refused as refused:
        messages.error(request, " ".join(refused.reasons))
    else:
        messages.success(
            request,
            f"A sign-in link was emailed to {patient.email}. It works once, for 15 minutes.",
        )
    return redirect("records:chart", patient.pk)
