"""The HTTP methods the application answers: GET, HEAD and POST, nothing else.

No page handles PUT, PATCH, DELETE, OPTIONS, TRACE or CONNECT; left to the views, such a request
would be answered like a GET (the whole page, with the patient's name) and, being neither a GET
nor a POST, would be easy to miss in the audit log. So every other method is answered here, first,
with 405 and no body, saying which methods are allowed; the FHIR API's answer is its own
OperationOutcome. Each view then says which of the three it handles (Django's
``require_http_methods``), and the audit middleware records a page with patient data whatever
the method and status.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

ALLOWED = ("GET", "HEAD", "POST")


class MethodGate:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ALLOWED:
            return self.get_response(request)
        if request.path.startswith("/fhir"):
            from spinepath.web.refusals import operation_outcome as outcome

            response = outcome(405, "not-supported", f"{request.method} is not supported.")
            response["Allow"] = ", ".join(ALLOWED)
            return response
        return HttpResponseNotAllowed(ALLOWED)
