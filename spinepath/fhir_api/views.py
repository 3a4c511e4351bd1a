"""The FHIR R4 REST API under /fhir/ (JSON, application/fhir+json).

Every request but the CapabilityStatement carries ``Authorization: Bearer <token>`` (issued by
the clinic admin; read-only unless granted write). Every answer that shows patient data is an
audited disclosure naming the patients it showed. Every error is an OperationOutcome with its
HTTP status.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from spinepath.accounts.actors import acting_as, actor_of, admin_actor
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Refused
from spinepath.fhir_api import resources
from spinepath.fhir_api.forms import TokenForm
from spinepath.fhir_api.models import ApiToken
from spinepath.fhir_api.responses import response_resource, response_store
from spinepath.fhir_api.services import token_for
from spinepath.fhir_api.smart.access import smart_access
from spinepath.fhir_api.smart.discovery import smart_security
from spinepath.patients.models import Patient
from spinepath.versions.triggers import patient_version
from spinepath.web.clients import client_address
from spinepath.web.kept import kept, kept_key
from spinepath.web.refusals import fhir_json, operation_outcome
from spinepath.web.text import json_problems

MAX_BODY = 256 * 1024
# The FHIR answers and errors are made where every refusal becomes HTTP (spinepath.web.refusals).
fhir_response = fhir_json
outcome = operation_outcome


REFUSAL_CODES = {400: "invalid", 403: "forbidden", 404: "not-found", 409: "conflict"}


def api(
    *, write: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_not_required
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # The clinic admin's API token, else a SMART app's OAuth access token (its scopes
            # and launch patient checked here: spinepath/fhir_api/smart/access.py).
            token: Any = token_for(request.headers.get("Authorization", ""))
            smart = smart_access(request) if token is None else None
            if token is None and smart is None:
                response = outcome(401, "login", "A valid bearer token is required.")
                response["WWW-Authenticate"] = 'Bearer realm="spinepath"'
                return response
            if smart is not None:
                refused = smart.refusal(request, view.__name__, kwargs)
                if refused:
                    return outcome(403, "forbidden", refused)
                token = smart
            if write and not token.can_write:
                return outcome(403, "forbidden", "This token may read, not write.")
            request._spinepath_api_token = token  # type: ignore[attr-defined]
            acting_as(
                request,
                smart.actor(request)
                if smart is not None
                else Actor.for_api(
                    token.name, address=client_address(request), path=request.get_full_path()
                ),
            )
            try:
                return view(request, token, *args, **kwargs)
            except resources.SearchProblem as problem:
                return outcome(400, "invalid", str(problem))
            except Refused as refused:
                status = (
                    422
                    if refused.status in (400, 409) and request.method == "POST"
                    else refused.status
                )
                code = REFUSAL_CODES.get(refused.status, "processing")
                return outcome(status, code, " ".join(refused.reasons))

        return wrapped

    return decorate


def _disclosed(request: HttpRequest, what: str, patients: list[Patient]) -> None:
    """The accounting of disclosures: what the token's client was shown, and whose."""
    numbers = sorted({p.mrn for p in patients if p.mrn})
    audit_record(
        actor=actor_of(request),
        action=AuditEvent.EXPORT,
        what=f"FHIR API: {what}",
        patient=patients[0] if len(patients) == 1 else None,
        detail={"records": numbers} if numbers else None,
    )


def _site(request: HttpRequest) -> str:
    """The address the request came to (one of ALLOWED_HOSTS): absolute links in answers
    point back to it, so a client that reached the server by another of its names can follow
    them."""
    return request.build_absolute_uri("/").rstrip("/")


def _base(request: HttpRequest) -> str:
    return f"{_site(request)}/fhir"


# --- CapabilityStatement --------------------------------------------------------------------


@login_not_required
@csrf_exempt
def metadata(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", "Only GET.")
    rest_resources = []
    for kind in resources.TYPES:
        if kind in [r["type"] for r in rest_resources]:
            continue
        entry: dict[str, Any] = {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": _param_type(name)}
                for name in resources.SEARCH_PARAMS.get(kind, ())
            ],
        }
        if kind == "QuestionnaireResponse":
            entry["interaction"].append({"code": "create"})
        if kind == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        rest_resources.append(entry)
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": timezone.localdate().isoformat(),
            "kind": "instance",
            "software": {"name": "spinepath"},
            "implementation": {
                "description": settings.SPINEPATH_CLINIC_NAME,
                "url": _base(request),
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": smart_security(_base(request)),
                    "resource": rest_resources,
                }
            ],
        }
    )


def _param_type(name: str) -> str:
    return {
        "identifier": "token",
        "code": "token",
        "name": "string",
        "birthdate": "date",
        "date": "date",
        "patient": "reference",
        "subject": "reference",
        "url": "uri",
    }.get(name, "string")


# --- Read, search, $everything ---------------------------------------------------------------


def _known(kind: str) -> bool:
    return kind in resources.TYPES or kind in resources.PATIENT_TYPES


@api()
def read(request: HttpRequest, token: ApiToken, kind: str, ident: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on {kind}.")
    if not _known(kind):
        return outcome(404, "not-supported", f"{kind} is not a resource type served here.")
    resource, patient = _patient_read(ident) if kind == "Patient" else resources.read(kind, ident)
    if resource is None:
        return outcome(404, "not-found", f"There is no {kind}/{ident}.")
    _disclosed(request, f"read {kind}", [patient] if patient else [])
    return fhir_response(resource)


def _patient_read(ident: str) -> tuple[dict[str, Any] | None, Patient | None]:
    """A Patient resource, kept under the version of the patient's facts (the most frequent
    read of the API; every read is still an audited disclosure): the resource, and the patient
    as the disclosure names them (id and record number)."""
    pk = resources.int_id(ident)
    if pk is None:
        return None, None
    # The versions first, then the facts: what is kept under a key is never older than it.
    key = kept_key("fhir:Patient", pk, patient_version(pk), timezone.localdate().isoformat())

    def compute() -> tuple[dict[str, Any] | None, int | None, str]:
        resource, patient = resources.read("Patient", str(pk))
        return (resource, patient.pk, patient.mrn) if patient else (None, None, "")

    resource, patient_id, mrn = kept(key, compute)
    return (resource, Patient(pk=patient_id, mrn=mrn)) if resource is not None else (None, None)


@api()
def search(request: HttpRequest, token: ApiToken, kind: str) -> HttpResponse:
    if request.method == "POST" and kind == "QuestionnaireResponse":
        return create_response(request)
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on {kind}.")
    if not _known(kind):
        return outcome(404, "not-supported", f"{kind} is not a resource type served here.")
    params = {k: v for k, v in request.GET.items()}
    if any(len(request.GET.getlist(k)) > 1 for k in request.GET):
        return outcome(400, "invalid", "Give each search parameter once.")
    count, offset = resources.page_of(params)
    total, page, patients = resources.search(kind, params, count, offset)
    # A search of one patient's records discloses that patient whenever it finds something,
    # even in resources that do not name them (the lots of their injections).
    shown = _patients_of(page, patients) if kind == "Patient" else (patients if page else [])
    _disclosed(request, f"search {kind}", shown)
    return fhir_response(_searchset(request, kind, params, total, page, count, offset))


def _patients_of(page: list[dict[str, Any]], candidates: list[Patient]) -> list[Patient]:
    ids = set()
    for resource in page:
        if resource["resourceType"] == "Patient":
            ids.add(resource["id"])
        reference = (resource.get("subject") or resource.get("beneficiary") or {}).get(
            "reference", ""
        )
        if reference.startswith("Patient/"):
            ids.add(reference.removeprefix("Patient/"))
    return [p for p in candidates if str(p.pk) in ids]


def _searchset(
    request: HttpRequest,
    kind: str,
    params: dict[str, str],
    total: int,
    page: list[dict[str, Any]],
    count: int,
    offset: int,
) -> dict[str, Any]:
    base = _base(request)
    plain = {k: v for k, v in params.items() if k not in ("_count", "_offset")}

    def url(at: int) -> str:
        return f"{base}/{kind}?{urlencode({**plain, '_count': count, '_offset': at})}"

    links = [{"relation": "self", "url": url(offset)}]
    if offset + count < total:
        links.append({"relation": "next", "url": url(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": url(max(0, offset - count))})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page
        ],
    }


@api()
def everything(request: HttpRequest, token: ApiToken, ident: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", "Only GET.")
    _, patient = resources.read("Patient", ident)
    if patient is None:
        return outcome(404, "not-found", f"There is no Patient/{ident}.")
    found = resources.everything(patient)
    organizations = [
        resources.read("Organization", ref["reference"].removeprefix("Organization/"))[0]
        for r in found
        for ref in r.get("payor", [])
        if ref.get("reference", "").startswith("Organization/")
    ]
    found = found + [o for o in organizations if o and o not in found]
    _disclosed(request, "Patient $everything", [patient])
    base = _base(request)
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in found
            ],
        }
    )


# --- QuestionnaireResponse from an outside app ----------------------------------------------


def create_response(request: HttpRequest) -> HttpResponse:
    token: ApiToken = request._spinepath_api_token  # type: ignore[attr-defined]
    if not token.can_write:
        return outcome(403, "forbidden", "This token may read, not write.")
    if len(request.body) > MAX_BODY:
        return outcome(413, "too-costly", "A QuestionnaireResponse is a few kilobytes.")
    try:
        document = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return outcome(400, "structure", "The body is not JSON (or is nested too deeply).")
    if not isinstance(document, dict) or document.get("resourceType") != "QuestionnaireResponse":
        return outcome(400, "structure", "resourceType: expected QuestionnaireResponse.")
    unstorable = json_problems(document)
    if unstorable:
        return outcome(400, "invalid", "; ".join(unstorable))
    from pydantic import ValidationError

    try:
        measurement = response_store(actor=actor_of(request), document=document)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return outcome(400, "structure", f"{where}: {first.get('msg', 'invalid')}")
    _disclosed(request, "QuestionnaireResponse stored", [measurement.patient])
    response = fhir_response(response_resource(measurement), 201)
    response["Location"] = f"{_base(request)}/QuestionnaireResponse/m{measurement.pk}"
    return response


@login_not_required
@csrf_exempt
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return outcome(404, "not-found", f"Nothing is served at /fhir/{rest}.")


# --- The clinic admin's token page --------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    from django.shortcuts import render

    from spinepath.fhir_api.services import token_create
    from spinepath.web.refusals import show_on_form

    actor = admin_actor(request, does="issues API tokens")
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = token_create(
                actor=actor,
                name=form.cleaned_data["name"],
                can_write=form.cleaned_data["can_write"],
            )
        except Refused as refused:
            show_on_form(form, refused)
        else:
            form = TokenForm()
    response = render(
        request,
        "fhir_api/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": ApiToken.objects.select_related("created_by"),
            "base": _base(request),
            "nav": "tokens",
        },
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store, private"
    return response


def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    from django.contrib import messages
    from django.shortcuts import get_object_or_404, redirect

    from spinepath.fhir_api.services import token_revoke

    actor = admin_actor(request, does="revokes API tokens")
    if request.method != "POST":
        return HttpResponse(status=405)
    token = get_object_or_404(ApiToken, pk=token_id)
    token_revoke(actor=actor, token_id=token.pk)
    messages.success(request, f"{token.name} is revoked: it opens nothing from now on.")
    return redirect("fhir:tokens")


# --- CDS Hooks ------------------------------------------------------------------------------


@login_not_required
@csrf_exempt
def cds_discovery(request: HttpRequest) -> HttpResponse:
    from spinepath.fhir_api.cds import SERVICES

    if request.method != "GET":
        return HttpResponse(status=405)
    return HttpResponse(json.dumps({"services": SERVICES}), content_type="application/json")


@api()
def cds_service(request: HttpRequest, token: ApiToken, service: str) -> HttpResponse:
    from spinepath.fhir_api.cds import HOOKS, HookProblem, match_patient

    hook = HOOKS.get(service)
    if hook is None:
        return _cds_error(404, f"There is no CDS service {service}.")
    if request.method != "POST":
        return _cds_error(405, "POST a hook request.")
    if len(request.body) > MAX_BODY * 8:
        return _cds_error(413, "The hook request is too large.")
    try:
        body = json.loads(request.body)
        if not isinstance(body, dict):
            raise ValueError
        unstorable = json_problems(body)
        if unstorable:
            return _cds_error(400, "; ".join(unstorable))
        own = {_base(request), f"{settings.SPINEPATH_BASE_URL}/fhir"}
        match = match_patient(
            body, own, lambda secret, ident: _token_reads_patient(request, secret, ident)
        )
        cards = hook(body, match, _site(request))
    except HookProblem as problem:
        return _cds_error(400, " ".join(problem.reasons))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _cds_error(400, "The body is not a JSON object.")
    patient = match.patient
    what = f"CDS Hooks {service}" + (
        "" if patient else f" (no single chart matched: {'; '.join(match.tried)})"[:400]
    )
    _disclosed(request, what, [patient] if patient else [])
    return HttpResponse(json.dumps({"cards": cards}), content_type="application/json")


def _token_reads_patient(request: HttpRequest, secret: str, ident: str) -> bool:
    """Whether ``secret``, a token of this server given as a hook's fhirAuthorization, may read
    Patient/``ident`` here: a live API token, or a SMART app's token whose scopes reach it."""
    if token_for(f"Bearer {secret}") is not None:
        return True
    probe = copy.copy(request)
    probe.__dict__.pop("headers", None)  # read again from the META below
    probe.META = {**request.META, "HTTP_AUTHORIZATION": f"Bearer {secret}"}
    probe.method = "GET"
    smart = smart_access(probe)
    return smart is not None and not smart.refusal(
        probe, "read", {"kind": "Patient", "ident": ident}
    )


def _cds_error(status: int, text: str) -> HttpResponse:
    return HttpResponse(json.dumps({"error": text}), status=status, content_type="application/json")
