"""The one place where spinepath's refusals become HTTP responses."""

from __future__ import annotations

from collections.abc import Callable

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
