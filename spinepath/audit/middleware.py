"""Records each page opened (spinepath/audit/pages.py) and each refusal (403).

A page is recorded whenever its answer has a body, whatever the method (a POST re-showing its
form, a HEAD) and the status (an invalid form's 400, a refusal's 409): the answer may show the
patient either way. Only an answer without a body (a redirect, a 405) shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from spinepath.accounts.actors import actor_of
from spinepath.audit import context
from spinepath.audit.models import AuditEvent
from spinepath.audit.pages import RECORDED
from spinepath.audit.services import audit_record


def viewing(request: HttpRequest, patient: object) -> None:
    """A view names the patient its page shows; the middleware records it once."""
    request._spinepath_patient = patient  # type: ignore[attr-defined]


def showing(
    request: HttpRequest,
    patients: Iterable[object],
    *,
    unregistered: Iterable[str] = (),
    numbers: Iterable[str] = (),
) -> None:
    """A list page (search results, worklist, bookings) names the patients it shows: the event
    keeps their record numbers, and the audit log's record-number filter finds it. People
    shown who have no record yet (a consultation request, a booking by name) are named by
    what shows them (``unregistered``: "consultation request #12", "appointment #40");
    ``numbers``: record numbers shown without their patients (the audit log's own page)."""
    found = {getattr(p, "mrn", None) for p in patients} | set(numbers)
    shown = set(getattr(request, "_spinepath_shown", None) or ())
    request._spinepath_shown = sorted(shown | {n for n in found if n})  # type: ignore[attr-defined]
    others = set(getattr(request, "_spinepath_unregistered", None) or ()) | set(unregistered)
    request._spinepath_unregistered = sorted(others)  # type: ignore[attr-defined]


def noting(request: HttpRequest, **detail: object) -> None:
    """More for the page's event (e.g. the PACS studies a page listed)."""
    kept = getattr(request, "_spinepath_detail", None) or {}
    request._spinepath_detail = {**kept, **detail}  # type: ignore[attr-defined]


def _has_body(response: HttpResponse) -> bool:
    if 300 <= response.status_code < 400:
        return False  # a redirect shows nothing (its target is recorded when opened)
    if response.streaming:
        return True
    return bool(response.content)


def _patient_of_address(kwargs: dict[str, object]) -> tuple[int | None, list[str]]:
    """(The patient id the address's ids lead to, or None; what it shows of someone who has
    no record, e.g. ["appointment #40"] for a consultation booked by name)."""
    # How an address's ids lead to the patient its page shows (the site's settings name the
    # models, so the audit app imports none of the apps above it).
    for key, (label, path) in settings.SPINEPATH_AUDIT_PATIENT_OF_ADDRESS.items():
        value = kwargs.get(key)
        if not isinstance(value, int):
            continue
        model = apps.get_model(label)
        found = model._default_manager.filter(pk=value).values_list(path, flat=True).first()
        if found is not None:
            return int(found), []
        if key == "appointment_id" and model._default_manager.filter(pk=value).exists():
            return None, [f"appointment #{value}"]
    return None, []


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
        # The handler's own match (resolved once per request), else the address resolved here
        # (a middleware before the handler answered: a redirect to the second factor).
        match = getattr(request, "resolver_match", None)
        if match is None:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return response
        name = match.view_name
        patient = getattr(request, "_spinepath_patient", None)
        signed_in = request.user.is_authenticated
        refused = response.status_code == 403 and signed_in
        shows = (
            name in RECORDED
            and (signed_in or patient is not None)
            and _has_body(response)
            and response.status_code != 405
        )
        if not (refused or shows):
            return response
        unregistered = list(getattr(request, "_spinepath_unregistered", None) or [])
        if patient is None and name in RECORDED:
            patient, others = _patient_of_address(match.kwargs)
            unregistered += [o for o in others if o not in unregistered]
        if refused:
            audit_record(
                actor=actor_of(request),
                action=AuditEvent.REFUSED,
                what=f"refused: {RECORDED.get(name, name)}",
                patient=patient,
            )
            return response
        shown = getattr(request, "_spinepath_shown", None)
        detail: dict[str, object] = dict(getattr(request, "_spinepath_detail", None) or {})
        if shown is not None:
            detail["shown"] = shown
        if unregistered:
            detail["unregistered"] = unregistered
        if request.method != "GET" or response.status_code != 200:
            detail["method"] = request.method
            detail["status"] = response.status_code
        what = RECORDED[name]
        if shown is not None:
            what = f"{what}: {len(shown) + len(unregistered)} shown"
        actor = actor_of(request)
        if actor.channel == "public":  # a page shown by its link alone (a questionnaire link)
            actor = replace(actor, name="(patient's questionnaire link)")
        audit_record(
            actor=actor, action=AuditEvent.VIEW, what=what, patient=patient, detail=detail or None
        )
        return response
