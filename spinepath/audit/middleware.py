"""Records each page opened (spinepath/audit/pages.py) and each refusal (403)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from spinepath.audit import context
from spinepath.audit.models import AuditEvent
from spinepath.audit.pages import RECORDED
from spinepath.audit.services import audit_record


def viewing(request: HttpRequest, patient: object) -> None:
    """A view names the patient its page shows; the middleware records it once."""
    request._spinepath_patient = patient  # type: ignore[attr-defined]


def showing(request: HttpRequest, patients: Iterable[object]) -> None:
    """A list page (search results, worklist) names the patients it shows: the event keeps
    their record numbers, and the audit log's record-number filter finds it."""
    numbers = {getattr(p, "mrn", None) for p in patients}
    request._spinepath_shown = sorted(n for n in numbers if n)  # type: ignore[attr-defined]


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = context.serving(request)
        try:
            response = self.get_response(request)
        finally:
            context.done(token)
        if getattr(request, "_spinepath_audited", False):
            return response  # the view recorded its own event (an export, a change)
        try:
            name = resolve(request.path_info).view_name
        except Resolver404:
            return response
        patient = getattr(request, "_spinepath_patient", None)
        signed_in = request.user.is_authenticated
        if response.status_code == 403 and signed_in:
            audit_record(
                request=request,
                action=AuditEvent.REFUSED,
                what=f"refused: {RECORDED.get(name, name)}",
                patient=patient,
            )
        elif (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and name in RECORDED
            and (signed_in or patient is not None)
        ):
            shown = getattr(request, "_spinepath_shown", None)
            audit_record(
                request=request,
                action=AuditEvent.VIEW,
                what=RECORDED[name] if shown is None else f"{RECORDED[name]}: {len(shown)} shown",
                patient=patient,
                username=None
                if signed_in
                else getattr(request, "_spinepath_actor", "(patient's questionnaire link)"),
                detail=None if shown is None else {"shown": shown},
            )
        return response
