from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from spinepath.accounts.roles import CLINIC_ADMIN, has_role
from spinepath.audit.models import AuditEvent
from spinepath.patients.models import Patient
from spinepath.web.params import optional_id


def audit_log(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, CLINIC_ADMIN):
        raise PermissionDenied("Only the clinic admin reads the audit log.")
    events = AuditEvent.objects.select_related("patient")
    patient_id = optional_id(request.GET, "patient")
    username = request.GET.get("user", "").strip()[:150]
    patient = None
    if patient_id is not None:
        patient = Patient.objects.filter(pk=patient_id).first()
        events = events.filter(patient_id=patient_id)
    if username:
        events = events.filter(username=username)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    users = User.objects.order_by("username").values_list("username", flat=True)
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "patient": patient,
            "username": username,
            "usernames": users,
            "patient_id": patient_id or "",
        },
    )
