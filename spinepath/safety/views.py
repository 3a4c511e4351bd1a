"""Safety pages: the answers awaiting review, adverse events and their history, the reporting
clocks and the draft MedWatch report (PATHWAY.md section 10). Thin: the services decide."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from spinepath.accounts.actors import actor_of, admin_actor, staff_actor
from spinepath.audit.middleware import showing, viewing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, NotAvailable, Refused
from spinepath.pathway.authority import may_change
from spinepath.pathway.safety import QUESTION_BY_KEY, safety_advice
from spinepath.patients.models import Patient
from spinepath.plans.biologics import lookback as find_recipients
from spinepath.plans.forms import LookbackForm
from spinepath.plans.models import Procedure
from spinepath.plans.pdf import FONT_FAMILY, html_to_pdf
from spinepath.safety import lookback, selectors, services
from spinepath.safety.forms import (
    AmendForm,
    FilingForm,
    InErrorForm,
    NewEventForm,
    NoticeForm,
    ReinterventionForm,
    ReviewForm,
    StaffAnswersForm,
    safety_answers,
    safety_fields,
)
from spinepath.safety.medwatch import medwatch_pdf
from spinepath.safety.models import LookbackNotice, Reintervention, SafetyReport
from spinepath.web.policy import clinic_policy
from spinepath.web.refusals import show_on_form

SEES = "can see adverse events"


def _show(form: Any, refused: Refused) -> None:
    if refused.status in (403, 404):
        raise refused
    show_on_form(form, refused)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """What needs a clinician now (worrying answers), what must be reported (the clocks), and
    the events recorded lately."""
    staff_actor(request, sees=SEES)
    policy, today = clinic_policy(), timezone.localdate()
    reviews = list(selectors.open_reviews())
    clocks = selectors.clocks(policy, today)
    events = selectors.recent_events(policy)
    showing(
        request,
        [r.patient for r in reviews] + [row.event.patient for row in events],
    )
    return render(
        request,
        "safety/index.html",
        {
            "reviews": [(r, selectors.findings(r)) for r in reviews],
            "clocks": clocks,
            "events": events,
            "today": today,
            "nav": "safety",
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    """A patient's safety answers, what they were told, and the clinician's review."""
    staff_actor(request, sees=SEES)
    report = get_object_or_404(
        SafetyReport.objects.select_related("patient", "reviewed_by", "entered_by"), pk=report_id
    )
    viewing(request, report.patient)
    form = ReviewForm(request.POST or None)
    if request.method == "POST":
        actor_of(request).require("safety_review")
        if form.is_valid():
            try:
                services.answers_review(
                    actor=actor_of(request), report_id=report.pk, note=form.cleaned_data["note"]
                )
            except Refused as refused:
                _show(form, refused)
            else:
                messages.success(request, "Review recorded: the task is closed.")
                return redirect("safety:report", report.pk)
    advice = safety_advice(report.answers, settings.SPINEPATH_CLINIC_PHONE)
    return render(
        request,
        "safety/report.html",
        {
            "report": report,
            "patient": report.patient,
            "answers": [
                (QUESTION_BY_KEY[k], v) for k, v in report.answers.items() if k in QUESTION_BY_KEY
            ],
            "advice": advice,
            "form": form,
            "may_review": actor_of(request).may("safety_review"),
            "may_record": actor_of(request).may("adverse_event"),
            "nav": "safety",
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def answers_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Staff enter the answers a patient gave on paper or by telephone."""
    staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    form = StaffAnswersForm(request.POST or None, initial={"answered_on": timezone.localdate()})
    if request.method == "POST":
        actor_of(request).require("safety_answers")
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = services.answers_entered(
                    actor=actor_of(request),
                    patient=patient,
                    answers=safety_answers(data),
                    answered_on=data["answered_on"],
                    visit_label=data["visit_label"],
                    details=data["details"],
                    submission_key=data["submission"],
                )
            except Refused as refused:
                _show(form, refused)
            else:
                messages.success(request, "Safety answers saved.")
                return redirect("safety:report", report.pk)
    return render(
        request,
        "safety/answers_new.html",
        {"patient": patient, "form": form, "safety": safety_fields(form), "nav": "safety"},
        status=400 if form.errors else 200,
    )


def _procedure_choices(patient: Patient) -> list[tuple[int, str]]:
    found = Procedure.objects.not_voided().filter(patient=patient).select_related("lot__product")
    return [
        (
            p.pk,
            f"{p.performed_on:%Y-%m-%d}: {p.get_generator_display()}"
            + (f" {p.level}" if p.level else "")
            + (f" ({p.side})" if p.side else "")
            + f", {p.get_material_display()}"
            + (f", lot {p.lot.lot}" if p.lot else ""),
        )
        for p in found
    ]


@require_http_methods(["GET", "HEAD", "POST"])
def event_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A clinician records an adverse event, from a patient's answers or not."""
    staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    report = None
    report_key = request.GET.get("report") or request.POST.get("report")
    if report_key:
        report = SafetyReport.objects.filter(
            pk=int(report_key) if report_key.isdigit() and len(report_key) < 10 else 0,
            patient=patient,
        ).first()
        if report is None:
            raise NotAvailable("There are no such safety answers for this patient.")
    choices = _procedure_choices(patient)
    today = timezone.localdate()
    form = NewEventForm(
        request.POST or None,
        procedures=choices,
        initial={
            "aware_on": report.answered_on if report else today,
            "procedure": choices[0][0] if choices else "",
            "description": (
                "Reported by the patient: "
                + "; ".join(selectors.findings(report))
                + "."
                + (f" {report.details}" if report.details else "")
            )
            if report
            else "",
        },
    )
    if request.method == "POST":
        actor_of(request).require("adverse_event")
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = services.event_record(
                    actor=actor_of(request),
                    patient=patient,
                    entry=form.entry(),
                    aware_on=data["aware_on"],
                    procedure_id=data["procedure"],
                    report_id=report.pk if report else None,
                    submission_key=data["submission"],
                )
            except Refused as refused:
                _show(form, refused)
            else:
                messages.success(request, "Adverse event recorded.")
                return redirect("safety:event", event.pk)
    return render(
        request,
        "safety/event_new.html",
        {
            "patient": patient,
            "report": report,
            "findings": selectors.findings(report) if report else [],
            "form": form,
            "may_record": actor_of(request).may("adverse_event"),
            "nav": "safety",
        },
        status=400 if form.errors else 200,
    )


def _amend_initial(row: selectors.EventRow) -> dict[str, Any]:
    v = row.current
    return {
        "term": v.term,
        "description": v.description,
        "onset_on": v.onset_on,
        "grade": v.grade,
        "serious_criteria": list(v.serious_criteria),
        "related_procedure": v.related_procedure,
        "related_product": v.related_product,
        "expected": "yes" if v.expected else "no",
        "action": v.action,
        "outcome": v.outcome,
        "resolved_on": v.resolved_on,
        "based_on": v.number,
    }


def _rebound_amend(request: HttpRequest, row: selectors.EventRow) -> AmendForm:
    """The change form as posted, based now on the latest version (shown on the page)."""
    data = request.POST.copy()
    data["based_on"] = str(row.current.number)
    return AmendForm(data, initial=_amend_initial(row))


@require_http_methods(["GET", "HEAD", "POST"])
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    """An event: its latest version and every earlier one, the reporting clock, and the forms
    to add a version, mark it entered in error, or record the filed report."""
    staff_actor(request, sees=SEES)
    policy = clinic_policy()
    row = selectors.event_row(event_id, policy)
    if row is None:
        raise NotAvailable("There is no such adverse event.")
    viewing(request, row.event.patient)
    do = request.POST.get("do") if request.method == "POST" else None
    amend = AmendForm(request.POST if do == "amend" else None, initial=_amend_initial(row))
    in_error = InErrorForm(request.POST if do == "in_error" else None)
    filing = FilingForm(
        request.POST if do == "filing" else None, initial={"filed_on": timezone.localdate()}
    )
    actor = actor_of(request)
    if request.method == "POST":
        try:
            if do == "amend":
                actor.require("adverse_event")
                if amend.is_valid():
                    try:
                        services.event_amend(
                            actor=actor,
                            event_id=row.event.pk,
                            entry=amend.entry(),
                            based_on=amend.cleaned_data["based_on"],
                            reason=amend.cleaned_data["reason"],
                        )
                    except Conflict as stale:
                        # A version was added since: the page now shows it; what was typed is
                        # kept, now based on it, so a second press (having read it) records.
                        amend = _rebound_amend(request, row)
                        amend.is_valid()
                        _show(amend, stale)
                    else:
                        messages.success(request, "New version recorded; the earlier one is kept.")
                        return redirect("safety:event", row.event.pk)
            elif do == "in_error":
                actor.require("adverse_event")
                if in_error.is_valid():
                    services.event_in_error(
                        actor=actor, event_id=row.event.pk, reason=in_error.cleaned_data["reason"]
                    )
                    messages.success(request, "Marked entered in error; it stays on the record.")
                    return redirect("safety:event", row.event.pk)
            elif do == "filing":
                actor.require("safety_filing")
                if filing.is_valid():
                    services.filing_record(
                        actor=actor, event_id=row.event.pk, **filing.cleaned_data
                    )
                    messages.success(request, "Filing recorded.")
                    return redirect("safety:event", row.event.pk)
            else:
                messages.error(request, "Nothing was done: use one of the forms below.")
        except Refused as refused:
            _show(
                {"amend": amend, "in_error": in_error, "filing": filing}.get(do or "", amend),
                refused,
            )
    bad = amend.errors or in_error.errors or filing.errors
    return render(
        request,
        "safety/event.html",
        {
            "row": row,
            "event": row.event,
            "patient": row.event.patient,
            "amend": amend,
            "in_error": in_error,
            "filing": filing,
            "today": timezone.localdate(),
            "may_record": actor.may("adverse_event"),
            "may_file": actor.may("safety_filing"),
            "nav": "safety",
        },
        status=400 if bad else 200,
    )


@require_safe
def medwatch(request: HttpRequest, event_id: int) -> HttpResponse:
    """The draft MedWatch 3500A of a reportable reaction (initials, not the name)."""
    actor = staff_actor(request, sees=SEES)
    row = selectors.event_row(event_id, clinic_policy())
    if row is None or row.event.reportable_since is None:
        raise NotAvailable("There is no reportable adverse reaction with this number.")
    pdf = medwatch_pdf(row, timezone.localdate())
    audit_record(
        actor=actor,
        action=AuditEvent.EXPORT,
        what=f"draft MedWatch 3500A of adverse event #{row.event.pk}",
        patient=row.event.patient,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="medwatch-3500a-event-{row.event.pk}.pdf"'
    return response


def _lookback_query(request: HttpRequest) -> tuple[Any, lookback.Query | None]:
    form = LookbackForm(request.GET or None)
    if not form.is_bound or not form.is_valid():
        return form, None
    data = form.cleaned_data
    query = lookback.Query(
        lot=data["lot"].strip(),
        product_id=data["product"].pk if data["product"] else None,
        donor=data["donor"].strip(),
    )
    return form, query


@require_http_methods(["GET", "HEAD", "POST"])
def lookback_notify(request: HttpRequest) -> HttpResponse:
    """Write to each patient a look-back found: email where the record has an address, a
    printed letter otherwise; each one kept and audited as a disclosure."""
    actor = admin_actor(request, does="writes to the patients a look-back found")
    _search, query = _lookback_query(request)
    if query is None:
        messages.error(request, "Look back on a lot, a product or a donor first.")
        return redirect("plans:lookback")
    try:
        found = find_recipients(lot=query.lot, product_id=query.product_id, donor=query.donor)
    except Refused as refused:
        messages.error(request, " ".join(refused.reasons))
        return redirect("plans:lookback")
    subject, body = lookback.default_message(query)
    form = NoticeForm(request.POST or None, initial={"subject": subject, "body": body})
    if request.method == "POST":
        actor.require("lookback_notice")
        if form.is_valid():
            data = form.cleaned_data
            try:
                notices = lookback.lookback_notify(
                    actor=actor,
                    query=query,
                    subject=data["subject"],
                    body=data["body"],
                    submission_key=data["submission"],
                    again=data["again"],
                )
            except Refused as refused:
                _show(form, refused)
            else:
                emails = sum(1 for n in notices if n.channel == LookbackNotice.EMAIL)
                messages.success(
                    request,
                    f"Written to {len(notices)} patient{'s' if len(notices) != 1 else ''}: "
                    f"{emails} by email, {len(notices) - emails} by letter.",
                )
                return redirect("safety:lookback_sent", data["submission"])
    showing(request, [r.patient for r in found])
    return render(
        request,
        "safety/lookback_notify.html",
        {
            "form": form,
            "query": query,
            "about": query.words(),
            "found": found,
            "by_email": sum(1 for r in found if r.patient.email),
            "by_letter": sum(1 for r in found if not r.patient.email),
            "before": lookback.written_before(query, found),
            "params": request.GET.urlencode(),
            "nav": "products",
        },
        status=400 if form.errors else 200,
    )


@require_safe
def lookback_sent(request: HttpRequest, key: str) -> HttpResponse:
    """What one press of "Send" wrote, to whom and how, and the letters to print."""
    admin_actor(request, does="reads the look-back notices")
    notices = list(
        LookbackNotice.objects.filter(submission_key=key[:64])
        .select_related("patient", "sent_by")
        .order_by("patient__family_key", "patient_id")
    )
    if not notices:
        raise NotAvailable("No look-back notices were sent with this form.")
    showing(request, [n.patient for n in notices])
    return render(
        request,
        "safety/lookback_sent.html",
        {
            "notices": notices,
            "key": key,
            "letters": sum(1 for n in notices if n.channel == LookbackNotice.LETTER),
            "nav": "products",
        },
    )


@require_safe
def lookback_letters(request: HttpRequest, key: str) -> HttpResponse:
    """The printed letters of one send, one per page."""
    actor = admin_actor(request, does="prints the look-back letters")
    notices = list(
        LookbackNotice.objects.filter(submission_key=key[:64], channel=LookbackNotice.LETTER)
        .select_related("patient")
        .order_by("patient__family_key", "patient_id")
    )
    if not notices:
        raise NotAvailable("This send has no letters to print.")
    pdf = html_to_pdf(
        render_to_string(
            "safety/lookback_letters.html",
            {
                "notices": notices,
                "font_family": FONT_FAMILY,
                "clinic": settings.SPINEPATH_CLINIC_NAME,
                "clinic_address": settings.SPINEPATH_CLINIC_ADDRESS,
                "clinic_phone": settings.SPINEPATH_CLINIC_PHONE,
            },
        )
    )
    for notice in notices:
        audit_record(
            actor=actor,
            action=AuditEvent.EXPORT,
            what=f"look-back letter printed ({notice.about})",
            patient=notice.patient,
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="lookback-letters.pdf"'
    return response


# --- Re-interventions at a treated level ------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def reintervention_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Record a surgery or an injection elsewhere at a treated level (from the chart)."""
    staff_actor(request, sees=SEES)
    patient = get_object_or_404(Patient, pk=patient_id)
    viewing(request, patient)
    found = list(
        Procedure.objects.not_voided().filter(patient=patient).select_related("lot__product")
    )
    choices = _procedure_choices(patient)
    latest = found[0] if found else None
    form = ReinterventionForm(
        request.POST or None,
        procedures=choices,
        initial={
            "procedure": latest.pk if latest else "",
            "level": latest.level if latest else "",
        },
    )
    actor = actor_of(request)
    if request.method == "POST":
        actor.require("reintervention")
        if form.is_valid():
            data = form.cleaned_data
            try:
                record = services.reintervention_record(
                    actor=actor,
                    patient=patient,
                    procedure_id=data["procedure"],
                    kind=data["kind"],
                    performed_on=data["performed_on"],
                    level=data["level"],
                    side=data["side"],
                    description=data["description"],
                    source=data["source"],
                    submission_key=data["submission"],
                )
            except Refused as refused:
                _show(form, refused)
            else:
                messages.success(
                    request,
                    "Re-intervention recorded: it counts as a failure of the treatment at "
                    "the visits after it.",
                )
                return redirect("safety:reintervention", record.pk)
    return render(
        request,
        "safety/reintervention_new.html",
        {
            "patient": patient,
            "form": form,
            "has_injections": bool(choices),
            "may_record": actor.may("reintervention"),
            "nav": "safety",
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def reintervention_detail(request: HttpRequest, reintervention_id: int) -> HttpResponse:
    """A re-intervention as recorded, and the form to mark it entered in error."""
    staff_actor(request, sees=SEES)
    record = get_object_or_404(
        Reintervention.objects.select_related("patient", "procedure", "recorded_by", "in_error_by"),
        pk=reintervention_id,
    )
    viewing(request, record.patient)
    in_error = InErrorForm(request.POST or None)
    in_error.fields["reason"].label = "Why this re-intervention was entered in error"
    actor = actor_of(request)
    if request.method == "POST":
        actor.require("reintervention")
        if in_error.is_valid():
            try:
                services.reintervention_in_error(
                    actor=actor,
                    reintervention_id=record.pk,
                    reason=in_error.cleaned_data["reason"],
                )
            except Refused as refused:
                _show(in_error, refused)
            else:
                messages.success(request, "Marked entered in error; it stays on the record.")
                return redirect("safety:reintervention", record.pk)
    return render(
        request,
        "safety/reintervention.html",
        {
            "record": record,
            "patient": record.patient,
            "in_error": in_error,
            "may_mark": may_change(actor.roles, "reintervention", record.recorded_role),
            "nav": "safety",
        },
        status=400 if in_error.errors else 200,
    )
