"""Public pages (no login) and the coordinators' inbox and booking calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spinepath.accounts.actors import actor_of, staff_actor
from spinepath.audit.middleware import showing, viewing
from spinepath.errors import RateLimited, Refused
from spinepath.pathway.selfscreen import RED_FLAG_QUESTIONS, red_flag_result, self_screen
from spinepath.plans.models import CarePlan
from spinepath.plans.selectors import plan_sessions
from spinepath.plans.sessions_cache import sessions_to_book_cached
from spinepath.public import bookings as booking
from spinepath.public import intake
from spinepath.public.forms import (
    BookingForm,
    ConsultationRequestForm,
    RescheduleForm,
    SelfScreenForm,
    SessionForm,
    SessionRescheduleForm,
)
from spinepath.public.models import Appointment, ChangeRequest, ConsultationRequest
from spinepath.public.protocols import DEFAULT_PROTOCOL, load_protocol, protocol_version
from spinepath.web.params import optional_id
from spinepath.web.policy import clinic_policy
from spinepath.web.refusals import show_on_form, with_retry_after


def _limited(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """Too many submissions from this connection: when to try again, in words and in
    ``Retry-After``."""
    page = render(
        request, "public/limited.html", {"message": " ".join(limited.reasons)}, status=429
    )
    return with_retry_after(page, limited)


@require_safe
@login_not_required
def indication(request: HttpRequest, slug: str = DEFAULT_PROTOCOL) -> HttpResponse:
    if len(slug) > 60:
        raise Http404("No such protocol.")
    try:
        version = protocol_version(slug)
        protocol = load_protocol(slug)  # parsed once per version of its file
    except KeyError:
        raise Http404("No such protocol.") from None
    # The page's body is rendered once per version of the protocol file and kept in the cache
    # that every worker shares (templates/public/indication.html).
    return render(
        request, "public/indication.html", {"p": protocol, "slug": slug, "version": version}
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_not_required
def screen(request: HttpRequest) -> HttpResponse:
    """The self-screen: nothing is stored; the result is shown with its reasons."""
    form = SelfScreenForm(request.POST or None)
    flags = frozenset(request.POST.getlist("red_flags")) & set(RED_FLAG_QUESTIONS)
    if request.method == "POST" and flags:
        # A warning sign is answered at once: urgent advice never waits for the other
        # questions to be filled in.
        return render(request, "public/screen_result.html", {"result": red_flag_result(flags)})
    if request.method == "POST" and form.is_valid():
        try:
            intake.rate_limit(actor=actor_of(request), form="screen")
        except RateLimited as limited:
            return _limited(request, limited)
        result = self_screen(form.answers(), clinic_policy())
        return render(request, "public/screen_result.html", {"result": result})
    return render(request, "public/screen.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@login_not_required
def request_consultation(request: HttpRequest) -> HttpResponse:
    initial = {"screen_outcome": request.GET.get("outcome", "")[:30]}
    form = ConsultationRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data.pop("website"):
            # The hidden field was filled in: answer as if it worked, store nothing.
            return render(request, "public/request_thanks.html", {})
        actor = actor_of(request)
        try:
            intake.rate_limit(actor=actor, form="request")
            intake.consultation_request_create(actor=actor, **data)
        except RateLimited as limited:
            return _limited(request, limited)
        except Refused as refused:
            show_on_form(form, refused)
        else:
            return render(request, "public/request_thanks.html", {"email": data.get("email")})
    return render(
        request, "public/request.html", {"form": form}, status=400 if form.errors else 200
    )


# --- staff: the inbox and the calendar --------------------------------------------------------

SEES = "see requests and bookings"


def _on_slot_form(form: BaseForm, refused: Refused) -> None:
    """A refused booking on its form: the start the service names is the form's time."""
    refused.fields = {("time" if k == "start" else k): v for k, v in refused.fields.items()}
    show_on_form(form, refused)


@require_http_methods(["GET", "HEAD", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    if request.method == "POST":
        try:
            intake.request_status_set(
                actor=actor,
                request_id=int(request.POST.get("request", 0)),
                status=request.POST.get("status", ""),
            )
        except (Refused, ValueError):
            messages.error(request, "That request could not be updated.")
        return redirect("public:inbox")
    status = request.GET.get("status", "new")
    items = ConsultationRequest.objects.select_related("patient")
    if status != "all":
        items = items.filter(status=status)
    shown = list(items[:200])
    # People asking for a consultation: by record number once they have a record, else by
    # their request (the accounting of disclosures names everyone a list showed).
    showing(
        request,
        [r.patient for r in shown if r.patient is not None],
        unregistered=[f"consultation request #{r.pk}" for r in shown if r.patient is None],
    )
    return render(
        request,
        "public/inbox.html",
        {
            "items": shown,
            "status": status,
            "statuses": ConsultationRequest.STATUSES,
            "nav": "inbox",
        },
    )


def _start(date: object, time: object) -> datetime:
    return timezone.make_aware(datetime.combine(date, time))  # type: ignore[arg-type]


# The booking calendar shows this far ahead (injection sessions are often weeks out).
BOOKINGS_SHOWN_DAYS = 60


@require_http_methods(["GET", "HEAD", "POST"])
def bookings(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    initial = {}
    req = None
    request_id = optional_id(request.GET, "request")
    if request_id is not None:
        req = ConsultationRequest.objects.filter(pk=request_id).first()
        if req is not None:
            initial = {"patient_name": req.name, "email": req.email, "request_id": req.pk}
    form = BookingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        linked = (
            ConsultationRequest.objects.filter(pk=data["request_id"]).first()
            if data["request_id"]
            else None
        )
        try:
            booking.appointment_book(
                actor=actor,
                clinician=data["clinician"],
                room=data["room"],
                start=_start(data["date"], data["time"]),
                minutes=data["minutes"],
                patient_name=data["patient_name"],
                email=data["email"],
                consultation_request=linked,
            )
        except Refused as refused:
            _on_slot_form(form, refused)
        else:
            messages.success(request, "Consultation booked; the confirmation is on its way.")
            return redirect("public:bookings")
    today = timezone.localdate()
    upcoming = list(
        Appointment.objects.filter(
            start__gte=timezone.make_aware(datetime.combine(today, datetime.min.time())),
            start__lt=timezone.make_aware(
                datetime.combine(today + timedelta(days=BOOKINGS_SHOWN_DAYS), datetime.min.time())
            ),
        ).select_related("clinician", "room", "patient")
    )
    to_book = sessions_to_book_cached(limit=20)
    orphaned = list(
        Appointment.objects.filter(
            kind=Appointment.INJECTION, status=Appointment.BOOKED, plan__status="superseded"
        ).select_related("room", "patient")[:50]
    )
    change_requests = list(
        ChangeRequest.objects.filter(handled_at__isnull=True)
        .select_related("appointment", "appointment__room", "appointment__patient")
        .order_by("created_at")[:50]
    )
    # Every patient the calendar shows, by record number; a consultation booked by name (no
    # record yet) by its appointment, and the request a booking is being made for.
    appointments = upcoming + orphaned + [r.appointment for r in change_requests]
    showing(
        request,
        [a.patient for a in appointments if a.patient is not None]
        + [plan.patient for plan, _ in to_book],
        unregistered=[f"appointment #{a.pk}" for a in appointments if a.patient is None]
        + ([f"consultation request #{req.pk}"] if req is not None else []),
    )
    return render(
        request,
        "public/bookings.html",
        {
            "form": form,
            "upcoming": upcoming,
            "nav": "bookings",
            "linked_request": req,
            "to_book": to_book,
            "orphaned": orphaned,
            "change_requests": change_requests,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def booking_change(request: HttpRequest, appointment_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    local = timezone.localtime(appointment.start)
    form_class = (
        SessionRescheduleForm if appointment.kind == Appointment.INJECTION else RescheduleForm
    )
    form = form_class(
        request.POST or None,
        initial={
            "date": local.date(),
            "time": local.time(),
            "minutes": int((appointment.end - appointment.start).total_seconds() // 60),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking.appointment_reschedule(
                actor=actor,
                appointment=appointment,
                start=_start(data["date"], data["time"]),
                minutes=data["minutes"],
            )
        except Refused as refused:
            _on_slot_form(form, refused)
        else:
            messages.success(request, f"{appointment.title} moved; the patient has been told.")
            return redirect("public:bookings")
    if appointment.patient_id is not None:
        viewing(request, appointment.patient)
    else:
        showing(request, [], unregistered=[f"appointment #{appointment.pk}"])
    return render(
        request,
        "public/booking_change.html",
        {"form": form, "appointment": appointment, "nav": "bookings"},
        status=400 if form.errors else 200,
    )


@require_POST
def booking_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    booking.appointment_cancel(actor=actor, appointment=appointment)
    messages.success(request, f"{appointment.title} cancelled; the patient has been told.")
    return redirect("public:bookings")


@require_http_methods(["GET", "HEAD", "POST"])
def session_book(request: HttpRequest, plan_id: int, session_key: str) -> HttpResponse:
    """Book one injection session of an accepted plan (the coordinator's worklist links here)."""
    actor = staff_actor(request, sees=SEES)
    plan = get_object_or_404(CarePlan.objects.select_related("patient"), pk=plan_id)
    state = next((s for s in plan_sessions(plan) if s.session.key == session_key), None)
    if state is None:
        raise Http404("This plan has no such injection session.")
    initial: dict[str, object] = {"minutes": 60}
    if state.session.planned_on and state.session.planned_on >= timezone.localdate():
        initial["date"] = state.session.planned_on
    form = SessionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking.session_book(
                actor=actor,
                plan_id=plan.pk,
                session_key=session_key,
                clinician=data["clinician"],
                room=data["room"],
                start=_start(data["date"], data["time"]),
                minutes=data["minutes"],
            )
        except Refused as refused:
            _on_slot_form(form, refused)
        else:
            messages.success(request, "Injection session booked; the confirmation is on its way.")
            return redirect("plans:plan", plan.pk)
    viewing(request, plan.patient)
    return render(
        request,
        "public/session_book.html",
        {"form": form, "plan": plan, "state": state, "nav": "bookings"},
        status=400 if form.errors else 200,
    )


@require_POST
def change_request_done(request: HttpRequest, request_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    booking.change_request_handle(actor=actor, request_id=request_id)
    messages.success(request, "Marked as handled.")
    return redirect("public:bookings")
