"""Public pages (no login) and the coordinators' inbox and booking calendar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from spinepath.accounts.actors import actor_of, staff_actor
from spinepath.audit.middleware import showing, viewing
from spinepath.errors import RateLimited, Refused
from spinepath.pathway.selfscreen import RED_FLAG_QUESTIONS, red_flag_result, self_screen
from spinepath.patients.models import Patient
from spinepath.patients.services import PossibleDuplicate
from spinepath.plans.models import CarePlan
from spinepath.plans.selectors import plan_sessions, plan_visits
from spinepath.plans.sessions_cache import sessions_to_book_cached
from spinepath.public import bookings as booking
from spinepath.public import calendar, intake, requests
from spinepath.public.forms import (
    BookingForm,
    ConsultationRequestForm,
    RequestChartForm,
    RescheduleForm,
    SelfScreenForm,
    SessionForm,
    SessionRescheduleForm,
    VisitForm,
    VisitRescheduleForm,
    bookable_clinicians,
)
from spinepath.public.models import Appointment, ChangeRequest, ConsultationRequest
from spinepath.public.protocols import DEFAULT_PROTOCOL, load_protocol, protocol_version
from spinepath.safety.selectors import reviews_to_show
from spinepath.web.params import optional_id, parse_id
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
    staff_actor(request, sees=SEES)
    status = request.GET.get("status", ConsultationRequest.NEW)
    if status not in dict(ConsultationRequest.STATUSES):
        status = "all"
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
    counts = dict(
        ConsultationRequest.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    return render(
        request,
        "public/inbox.html",
        {
            "items": shown,
            "status": status,
            "tabs": [(k, v, counts.get(k, 0)) for k, v in ConsultationRequest.STATUSES],
            "nav": "inbox",
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    """One request: link it to a chart (the matches shown, the coordinator chooses), or make
    a chart from it; then book its consultation, or decline it."""
    actor = staff_actor(request, sees=SEES)
    item = get_object_or_404(ConsultationRequest.objects.select_related("patient"), pk=request_id)
    given, family = requests.split_name(item.name)
    form = RequestChartForm(
        request.POST if request.POST.get("do") == "create" else None,
        initial={
            "given_name": given,
            "family_name": family,
            "birth_date": item.birth_date,
            "email": item.email,
            "phone": item.phone,
        },
    )
    duplicate = None
    if request.method == "POST":
        do = request.POST.get("do")
        try:
            if do == "link":
                chosen = optional_id(request.POST, "patient") or 0
                if item.patient_id is not None and item.patient_id != chosen:
                    messages.error(
                        request,
                        f"This request is linked to the chart of {item.patient.display_name} "  # type: ignore[union-attr]
                        "already: unlink it first to choose another chart.",
                    )
                    return redirect("public:request_detail", item.pk)
                if chosen not in {m.patient.pk for m in requests.chart_matches(item)}:
                    messages.error(request, "Choose one of the charts shown for this request.")
                    return redirect("public:request_detail", item.pk)
                linked = requests.request_link(actor=actor, request_id=item.pk, patient_id=chosen)
                messages.success(
                    request,
                    f"Linked to the chart of {linked.patient.display_name}.",  # type: ignore[union-attr]
                )
                return redirect("public:request_detail", item.pk)
            if do == "unlink":
                requests.request_unlink(actor=actor, request_id=item.pk)
                messages.success(request, "The request is no longer linked to a chart.")
                return redirect("public:request_detail", item.pk)
            if do == "create" and item.patient_id is not None:
                messages.error(
                    request,
                    f"This request is linked to the chart of {item.patient.display_name} "  # type: ignore[union-attr]
                    "already: no chart was made.",
                )
                return redirect("public:request_detail", item.pk)
            if do in ("decline", "reopen"):
                requests.request_status_set(
                    actor=actor,
                    request_id=item.pk,
                    status="declined" if do == "decline" else "new",
                )
                messages.success(
                    request, "Request declined." if do == "decline" else "Request is new again."
                )
                return redirect("public:request_detail", item.pk)
            if do == "create" and form.is_valid():
                data = form.cleaned_data
                patient = requests.request_chart_create(
                    actor=actor,
                    request_id=item.pk,
                    details={
                        k: data[k]
                        for k in ("given_name", "family_name", "birth_date", "email", "phone")
                    },
                    other_person=data["confirm_other_person"],
                )
                messages.success(
                    request, f"Chart {patient.mrn} made for {patient.display_name} and linked."
                )
                return redirect("public:request_detail", item.pk)
        except PossibleDuplicate as refused:
            duplicate = refused.existing
            show_on_form(form, refused)
        except Refused as refused:
            if do == "create":
                show_on_form(form, refused)
            else:
                messages.error(request, " ".join(refused.reasons))
                return redirect("public:request_detail", item.pk)
    matches = requests.chart_matches(item) if item.patient_id is None else []
    if item.patient is not None:
        viewing(request, item.patient)
    else:
        showing(
            request,
            [m.patient for m in matches],
            unregistered=[f"consultation request #{item.pk}"],
        )
    return render(
        request,
        "public/request_detail.html",
        {
            "item": item,
            "form": form,
            "matches": matches,
            "duplicate": duplicate,
            "booked": requests.booked_consultation(item),
            "nav": "inbox",
        },
        status=400 if form.errors else 200,
    )


def _start(date: object, time: object) -> datetime:
    return timezone.make_aware(datetime.combine(date, time))  # type: ignore[arg-type]


def _book_from_form(
    request: HttpRequest, form: BaseForm, what: str, book: Callable[..., Appointment]
) -> Appointment | None:
    """A booking form's post: its slot to the write, the write's refusal on the form, or a
    message saying what was booked and what the patient was sent."""
    data = form.cleaned_data
    try:
        booked = book(
            clinician=data["clinician"],
            room=data["room"],
            start=_start(data["date"], data["time"]),
            minutes=data["minutes"],
            submission_key=data["submission"],
        )
    except Refused as refused:
        _on_slot_form(form, refused)
        return None
    messages.success(request, f"{what} booked; {booking.told(booked, 'confirmed')}")
    return booked


# The booking calendar shows this far ahead (injection sessions are often weeks out).
BOOKINGS_SHOWN_DAYS = 60


@require_http_methods(["GET", "HEAD", "POST"])
def bookings(request: HttpRequest) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    req = None
    patient = None
    request_id = optional_id(request.GET, "request")
    if request_id is not None:
        req = ConsultationRequest.objects.select_related("patient").filter(pk=request_id).first()
        patient = req.patient if req is not None else None
    elif (patient_id := optional_id(request.GET, "patient")) is not None:
        patient = Patient.objects.filter(pk=patient_id).first()
    initial = {
        "date": request.GET.get("date", "")[:10],
        "time": request.GET.get("time", "")[:5],
        "clinician": request.GET.get("clinician", "")[:12],
        "room": request.GET.get("room", "")[:12],
    }
    form = BookingForm(request.POST or None, initial={k: v for k, v in initial.items() if v})
    if request.method == "POST" and form.is_valid() and patient is None:
        form.add_error(None, "Choose the patient first: book from a request or from a chart.")
    elif request.method == "POST" and form.is_valid() and patient is not None:
        book = partial(
            booking.appointment_book, actor=actor, patient=patient, consultation_request=req
        )
        if _book_from_form(request, form, "Consultation", book) is not None:
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
    to_link = (
        []
        if patient is not None or req is not None
        else list(
            ConsultationRequest.objects.filter(status=ConsultationRequest.NEW).select_related(
                "patient"
            )[:20]
        )
    )
    showing(
        request,
        [a.patient for a in appointments if a.patient is not None]
        + [plan.patient for plan, _ in to_book]
        + ([patient] if patient is not None else [])
        + [r.patient for r in to_link if r.patient is not None],
        unregistered=[f"appointment #{a.pk}" for a in appointments if a.patient is None]
        + ([f"consultation request #{req.pk}"] if req is not None else [])
        + [f"consultation request #{r.pk}" for r in to_link if r.patient is None],
    )
    return render(
        request,
        "public/bookings.html",
        {
            "form": form,
            "upcoming": upcoming,
            "nav": "bookings",
            "linked_request": req,
            "request_booked": requests.booked_consultation(req) if req is not None else None,
            "patient": patient,
            "patient_upcoming": list(
                Appointment.objects.filter(
                    patient=patient, status=Appointment.BOOKED, start__gte=timezone.now()
                )
            )
            if patient is not None
            else [],
            "to_link": to_link,
            "day_asked": request.GET.get("date", "")[:10],
            "time_asked": request.GET.get("time", "")[:5],
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
    form_class = {
        Appointment.INJECTION: SessionRescheduleForm,
        Appointment.VISIT: VisitRescheduleForm,
    }.get(appointment.kind, RescheduleForm)
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
        start = _start(data["date"], data["time"])
        if start == appointment.start and data["minutes"] == appointment.minutes:
            messages.info(request, "Nothing changed: that is the time already booked.")
            return redirect("public:bookings")
        try:
            booking.appointment_reschedule(
                actor=actor,
                appointment=appointment,
                start=start,
                minutes=data["minutes"],
            )
        except Refused as refused:
            _on_slot_form(form, refused)
        else:
            messages.success(
                request, f"{appointment.title} moved; {booking.told(appointment, 'moved')}"
            )
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


@require_http_methods(["GET", "HEAD", "POST"])
def booking_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Cancelling asks first, saying what the patient will be sent; only the confirmation's
    own button cancels."""
    actor = staff_actor(request, sees=SEES)
    appointment = get_object_or_404(
        Appointment.objects.select_related("patient", "room", "clinician", "request"),
        pk=appointment_id,
    )
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        if appointment.status == Appointment.CANCELLED:
            messages.info(request, f"This {appointment.title.lower()} was already cancelled.")
            return redirect("public:bookings")
        try:
            booking.appointment_cancel(actor=actor, appointment=appointment)
        except Refused as refused:
            messages.error(request, " ".join(refused.reasons))
        else:
            messages.success(
                request, f"{appointment.title} cancelled; {booking.told(appointment, 'cancelled')}"
            )
        return redirect("public:bookings")
    if appointment.patient_id is not None:
        viewing(request, appointment.patient)
    else:
        showing(request, [], unregistered=[f"appointment #{appointment.pk}"])
    return render(
        request,
        "public/booking_cancel.html",
        {
            "appointment": appointment,
            "address": booking.recipient(appointment),
            "past": appointment.start < timezone.now(),
            "nav": "bookings",
        },
    )


@require_POST
def visit_held(request: HttpRequest, appointment_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    try:
        booking.visit_held(actor=actor, appointment_id=appointment.pk)
    except Refused as refused:
        messages.error(request, " ".join(refused.reasons))
    else:
        messages.success(request, f"{appointment.session_label or appointment.title} held.")
    day = timezone.localtime(appointment.start).date()
    return redirect(f"{reverse('public:day')}?date={day.isoformat()}")


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
        book = partial(booking.session_book, actor=actor, plan_id=plan.pk, session_key=session_key)
        if _book_from_form(request, form, "Injection session", book) is not None:
            return redirect("plans:plan", plan.pk)
    viewing(request, plan.patient)
    return render(
        request,
        "public/session_book.html",
        {
            "form": form,
            "plan": plan,
            "state": state,
            "visits_open": [v for v in plan_visits(plan) if not v.done],
            "nav": "bookings",
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def visit_book(request: HttpRequest, plan_id: int, visit_key: str) -> HttpResponse:
    """Book a visit of an accepted plan's prepare phase (the pre-procedure visit)."""
    actor = staff_actor(request, sees=SEES)
    plan = get_object_or_404(CarePlan.objects.select_related("patient"), pk=plan_id)
    visit = next((v for v in plan_visits(plan) if v.key == visit_key), None)
    if visit is None:
        raise Http404("This plan has no such visit.")
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        book = partial(booking.visit_book, actor=actor, plan_id=plan.pk, visit_key=visit_key)
        if _book_from_form(request, form, "Visit", book) is not None:
            return redirect("plans:plan", plan.pk)
    viewing(request, plan.patient)
    return render(
        request,
        "public/visit_book.html",
        {"form": form, "plan": plan, "visit": visit, "nav": "bookings"},
        status=400 if form.errors else 200,
    )


def _day_param(request: HttpRequest) -> date:
    """``?date=``; a day that cannot be read shows today, and says so."""
    raw = request.GET.get("date", "")
    if not raw:
        return timezone.localdate()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not date(2000, 1, 1) <= day <= date(2100, 1, 1):
        messages.warning(request, f"'{raw[:20]}' is not a day to show (YYYY-MM-DD): showing today.")
        return timezone.localdate()
    return day


def _whose(request: HttpRequest) -> int | None:
    """The clinician whose calendar is shown: ``?clinician=`` (``all`` for everyone); by
    default a clinician sees their own, everyone else the whole clinic. A chosen id that is
    not a clinician who sees patients shows everyone, and says so."""
    chosen = request.GET.get("clinician", "")
    if chosen == "all":
        return None
    whose = parse_id(chosen) if chosen else request.user.pk
    if whose is None or not bookable_clinicians().filter(pk=whose).exists():
        if chosen:
            messages.warning(
                request, "That is not a clinician who sees patients: showing everyone."
            )
        return None
    return whose


def _showing_entries(request: HttpRequest, entries: list[calendar.Entry]) -> None:
    """The calendar's patients for the audit log: by record number, else by appointment."""
    showing(
        request,
        [e.appointment.patient for e in entries if e.appointment.patient is not None],
        unregistered=[
            f"appointment #{e.appointment.pk}" for e in entries if e.appointment.patient is None
        ],
    )


@require_safe
def day(request: HttpRequest) -> HttpResponse:
    """A day of the clinic: per clinician (or per room), each appointment with its patient,
    its step and what is still missing, and the free time to book into."""
    staff_actor(request, sees=SEES)
    shown = _day_param(request)
    by = "room" if request.GET.get("by") == "room" else "clinician"
    whose = _whose(request) if by == "clinician" else None
    columns = calendar.day_columns(shown, by=by, clinician_id=whose)
    _showing_entries(request, [e for c in columns for e in c.entries])
    # Patients' worrying safety answers stay on every clinician's day until one reviews them.
    safety_reviews = reviews_to_show()
    showing(request, [report.patient for report, _ in safety_reviews])
    return render(
        request,
        "public/day.html",
        {
            "day": shown,
            "today": timezone.localdate(),
            "previous": shown - timedelta(days=1),
            "next": shown + timedelta(days=1),
            "columns": columns,
            "by": by,
            "whose": whose,
            "clinicians": bookable_clinicians(),
            "safety_reviews": safety_reviews,
            "nav": "day",
        },
    )


@require_safe
def week(request: HttpRequest) -> HttpResponse:
    staff_actor(request, sees=SEES)
    shown = _day_param(request)
    monday = shown - timedelta(days=shown.weekday())
    whose = _whose(request)
    days = calendar.week_days(monday, clinician_id=whose)
    _showing_entries(request, [e for _, rows in days for e in rows])
    return render(
        request,
        "public/week.html",
        {
            "monday": monday,
            "days": days,
            "today": timezone.localdate(),
            "previous": monday - timedelta(days=7),
            "next": monday + timedelta(days=7),
            "whose": whose,
            "clinicians": bookable_clinicians(),
            "nav": "day",
        },
    )


@require_POST
def change_request_done(request: HttpRequest, request_id: int) -> HttpResponse:
    actor = staff_actor(request, sees=SEES)
    booking.change_request_handle(actor=actor, request_id=request_id)
    messages.success(request, "Marked as handled.")
    return redirect("public:bookings")
