"""The clinic admin's audit log: filter by record number, user, action and dates; CSV export.

Its pages name the patients of the events (record numbers, links to charts), so they sit here,
above the apps; the audit app below keeps the log itself."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from spinepath.accounts.actors import admin_actor
from spinepath.audit.middleware import showing
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.patients.models import Patient
from spinepath.web.spreadsheet import csv_lines

DOES = "reads the audit log"


def _day(text: str) -> date | None:
    """A date the log can hold (after the clinic opened, before the year 9000), or None."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if date(2000, 1, 1) <= day <= date(9000, 1, 1) else None


def _filtered(request: HttpRequest) -> tuple[QuerySet[AuditEvent], dict[str, Any], list[str]]:
    events = AuditEvent.objects.select_related("patient")
    params = {
        "record": request.GET.get("record", "").strip().upper()[:20],
        "user": request.GET.get("user", "").strip()[:150],
        "action": request.GET.get("action", "").strip()[:20],
        "from": request.GET.get("from", "").strip()[:10],
        "to": request.GET.get("to", "").strip()[:10],
    }
    errors = []
    if params["record"]:
        # The patient's own events, and the exports and lists that showed the patient among others.
        quoted = json.dumps(params["record"])
        events = events.filter(
            Q(patient__mrn=params["record"])
            | Q(action=AuditEvent.EXPORT, detail__records__icontains=quoted)
            | Q(action=AuditEvent.VIEW, detail__shown__icontains=quoted)
        )
    if params["user"]:
        events = events.filter(username=params["user"])
    if params["action"]:
        if params["action"] in dict(AuditEvent.ACTIONS):
            events = events.filter(action=params["action"])
        else:
            errors.append("Action: choose one from the list.")
    zone = timezone.get_current_timezone()
    for key, label, shift in (("from", "From", 0), ("to", "To", 1)):
        if params[key]:
            day = _day(params[key])
            if day is None:
                errors.append(
                    f"{label}: a date written YYYY-MM-DD, from 2000 on (got {params[key]!r})."
                )
                continue
            edge = datetime.combine(day + timedelta(days=shift), time.min, tzinfo=zone)
            events = events.filter(at__gte=edge) if shift == 0 else events.filter(at__lt=edge)
    return events, params, errors


@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    admin_actor(request, does=DOES)
    events, params, errors = _filtered(request)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    patient = Patient.objects.filter(mrn=params["record"]).first() if params["record"] else None
    # The log shows patients too (their events, values before and after): the page's own event
    # names each one, as any list does.
    numbers = {e.patient.mrn for e in page if e.patient is not None and e.patient.mrn}
    for event in page:
        for key in ("shown", "records"):
            listed = (event.detail or {}).get(key) if isinstance(event.detail, dict) else None
            if isinstance(listed, list):
                numbers |= {n for n in listed if isinstance(n, str)}
    showing(request, [], numbers=numbers)
    query = urlencode({k: v for k, v in params.items() if v})
    context = {
        "page": page,
        "params": params,
        "errors": errors,
        "patient": patient,
        "usernames": User.objects.order_by("username").values_list("username", flat=True),
        "actions": AuditEvent.ACTIONS,
        "query": query,
        "nav": "audit",
    }
    return render(request, "audit/log.html", context, status=400 if errors else 200)


@require_safe
def audit_csv(request: HttpRequest) -> HttpResponse:
    actor = admin_actor(request, does=DOES)
    events, params, errors = _filtered(request)
    if errors:
        return HttpResponse(" ".join(errors), status=400, content_type="text/plain")
    described = ", ".join(f"{k}={v}" for k, v in params.items() if v) or "all events"
    # The accounting of disclosures: the record number of every patient whose events it holds.
    records = sorted(
        n
        for n in events.exclude(patient=None)
        .order_by()
        .values_list("patient__mrn", flat=True)
        .distinct()
        if n
    )
    audit_record(
        actor=actor,
        action=AuditEvent.EXPORT,
        what=f"audit log CSV ({described})",
        detail={"records": records} if records else None,
    )
    header = ["seq", "at", "username", "action", "what", "record", "path", "address", "detail"]
    rows = (
        [
            "" if e.seq is None else e.seq,
            e.at.isoformat(),
            e.username,
            e.action,
            e.what,
            e.patient.mrn if e.patient else "",
            e.path,
            e.address or "",
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "",
        ]
        for e in events.order_by("id").iterator(chunk_size=2000)
    )

    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
