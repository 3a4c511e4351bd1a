"""The one place where spinepath's refusals become HTTP responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from spinepath.errors import RateLimited, Refused


class RefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Refused):
            return None
        return refusal_response(request, exception)


def refusal_response(request: HttpRequest, refused: Refused) -> HttpResponse:
    wants_json = "application/json" in request.headers.get("Accept", "") or request.path.endswith(
        ".json"
    )
    response: HttpResponse
    if wants_json:
        response = JsonResponse(
            {
                "error": refused.title,
                "reasons": refused.reasons,
                "fields": refused.fields,
                "codes": refused.codes,
            },
            status=refused.status,
        )
    else:
        response = render(request, "refused.html", {"refused": refused}, status=refused.status)
    return with_retry_after(response, refused)


def with_retry_after(response: HttpResponse, refused: Refused) -> HttpResponse:
    """A refusal for trying too often says when to try again (``Retry-After``, in seconds), on
    whichever page shows it."""
    if isinstance(refused, RateLimited):
        response["Retry-After"] = str(refused.retry_after)
    return response


def show_on_form(form: forms.BaseForm, refused: Refused) -> None:
    """A service's refusal on the bound form it came from: each named field at its field, the
    reasons not already said there on top of the form."""
    named = {field: message for field, message in refused.fields.items() if field in form.fields}
    for field, message in named.items():
        form.add_error(field, message)
    rest = [reason for reason in refused.reasons if reason not in named.values()]
    if rest or not named:
        form.add_error(None, " ".join(rest or refused.reasons))


# --- FHIR: the same refusals as OperationOutcome -----------------------------------------------

FHIR_JSON = "application/fhir+json"
# The OperationOutcome issue code of each refusal's status (FHIR R4 issue-type).
FHIR_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    429: "throttled",
}


def fhir_json(resource: dict[str, Any], status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(resource, ensure_ascii=False), status=status, content_type=FHIR_JSON
    )
    response["Cache-Control"] = "no-store, private"
    return response


def operation_outcome(status: int, code: str, text: str, severity: str = "error") -> HttpResponse:
    """An OperationOutcome (the FHIR error body) with its HTTP status."""
    return fhir_json(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": text}],
        },
        status,
    )


def refusal_outcome(refused: Refused) -> HttpResponse:
    """A refusal as the FHIR API answers it: one issue per reason, the refusal's codes kept."""
    issues = [
        {
            "severity": "error",
            "code": FHIR_ISSUE_CODES.get(refused.status, "processing"),
            "diagnostics": reason,
        }
        for reason in refused.reasons
    ]
    for issue, code in zip(issues, refused.codes, strict=False):
        issue["details"] = {"coding": [{"system": "urn:spinepath:refusal", "code": code}]}
    response = fhir_json({"resourceType": "OperationOutcome", "issue": issues}, refused.status)
    return with_retry_after(response, refused)
