"""The one place where spinepath's refusals become HTTP responses."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from spinepath.errors import Refused


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
    if wants_json:
        return JsonResponse(
            {"error": refused.title, "reasons": refused.reasons, "fields": refused.fields},
            status=refused.status,
        )
    return render(request, "refused.html", {"refused": refused}, status=refused.status)


def show_on_form(form: forms.BaseForm, refused: Refused) -> None:
    """A service's refusal on the bound form it came from: each named field at its field, the
    reasons not already said there on top of the form."""
    named = {field: message for field, message in refused.fields.items() if field in form.fields}
    for field, message in named.items():
        form.add_error(field, message)
    rest = [reason for reason in refused.reasons if reason not in named.values()]
    if rest or not named:
        form.add_error(None, " ".join(rest or refused.reasons))
