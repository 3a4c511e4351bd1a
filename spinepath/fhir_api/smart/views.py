"""SMART App Launch's pages and endpoints: the configuration document, the authorization
(consent and patient picker, staff only, after the second factor), the token and revocation
endpoints (django-oauth-toolkit's), the EHR launch from a chart, and the clinic admin's page
of registered apps."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.views import RevokeTokenView, TokenView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import add_params_to_uri

from spinepath.accounts.actors import admin_actor, staff_actor
from spinepath.audit.middleware import showing, viewing
from spinepath.consultations.models import Encounter
from spinepath.errors import Refused
from spinepath.fhir_api import resources
from spinepath.fhir_api.models import SmartApp
from spinepath.fhir_api.smart.authorizations import (
    Pending,
    authorization_approve,
    authorization_deny,
)
from spinepath.fhir_api.smart.discovery import smart_configuration
from spinepath.fhir_api.smart.forms import AUTHORIZE_PARAMS, AuthorizeForm, SmartAppForm
from spinepath.fhir_api.smart.launch import launch_create, launch_problem
from spinepath.fhir_api.smart.registry import Registration, smart_app_create, smart_app_revoke
from spinepath.fhir_api.smart.scopes import NOT_GRANTED, ResourceScope, in_words, parse_scope
from spinepath.patients.models import Patient
from spinepath.patients.selectors import patient_search
from spinepath.records.fhir import fhir_base
from spinepath.web.refusals import show_on_form

SEES = "authorize apps for patients"


# --- Discovery ------------------------------------------------------------------------------


@login_not_required
@csrf_exempt
@require_safe
def configuration(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(json.dumps(smart_configuration()), content_type="application/json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- Token and revocation endpoints (django-oauth-toolkit's) ---------------------------------


class Token(TokenView):
    """POST only (the method gate answers the others)."""


class Revoke(RevokeTokenView):
    """RFC 7009: POST ``token`` (and ``token_type_hint``) with the app's client authentication."""


token = Token.as_view()
revoke = Revoke.as_view()


# --- Authorization: consent, patient picker -------------------------------------------------


def consent_digest(request: HttpRequest, pending: Pending, params: Any) -> str:
    """What an Allow binds: the staff member, the app, the patient, the launch and the
    authorization request's parameters as the consent page showed them. A post whose request
    differs from the page's (a wider scope, another redirect) is refused."""
    shown = "\n".join(f"{k}={params.get(k, '')}" for k in AUTHORIZE_PARAMS)
    who = f"{request.user.pk}|{pending.app.pk}|{pending.patient.pk if pending.patient else ''}"
    return salted_hmac("spinepath.smart.consent", f"{who}\n{shown}").hexdigest()


def _pick_key(client_id: str, state: str) -> str:
    return "smart_pick:" + hashlib.sha256(f"{client_id}\n{state}".encode()).hexdigest()[:32]


class Authorize(OAuthLibMixin, View):
    """The authorization endpoint. Not a public page: the site's middleware sends anyone not
    signed in to the staff sign-in and holds them at the second factor, then back here; a
    patient's session has no staff account and goes the same way. Only staff go further."""

    http_method_names = ["get", "head", "post"]

    def get(self, request: HttpRequest) -> HttpResponse:
        answer = self._get(request)
        if isinstance(answer, OAuth2ResponseRedirect):
            # Reached from a form (the sign-in page, the patient picker): a browser keeps that
            # form's CSP form-action for the whole chain of redirects, so the way back to the
            # app is a link the staff member follows, with the reason in words.
            return _back_to_the_app(request, answer["Location"])
        return answer

    def _get(self, request: HttpRequest) -> HttpResponse:
        staff_actor(request, sees=SEES)
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self._error(request, error)
        if request.GET.get("another") == "1":
            # "Choose another patient" on a standalone launch's consent page.
            request.session.pop(
                _pick_key(credentials["client_id"], credentials["state"] or ""), None
            )
        pending = self._pending(request, scopes, credentials, request.GET.get("launch", ""))
        if isinstance(pending, HttpResponse):
            return pending
        if pending is None:
            return self._picker(request, credentials)
        viewing(request, pending.patient)
        return self._consent(request, pending, request.GET)

    def post(self, request: HttpRequest) -> HttpResponse:
        actor = staff_actor(request, sees=SEES)
        form = AuthorizeForm(request.POST)
        if not form.is_valid():
            field, problems = next(iter(form.errors.items()))
            return _error_page(request, f"{field}: {' '.join(problems)}")
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self._error(request, error)
        if form.cleaned_data["pick"]:
            patient = Patient.objects.filter(pk=form.cleaned_data["pick"]).first()
            if patient is None:
                return _error_page(request, "pick: there is no such patient")
            key = _pick_key(credentials["client_id"], credentials.get("state") or "")
            request.session[key] = patient.pk
            return redirect(f"{request.path}?{urlencode(form.authorize_query())}")
        pending = self._pending(request, scopes, credentials, form.cleaned_data["launch"])
        if not isinstance(pending, Pending):
            return pending or _error_page(request, "launch/patient: choose the patient first")
        if not constant_time_compare(
            form.cleaned_data["shown"], consent_digest(request, pending, form.cleaned_data)
        ):
            return _error_page(
                request,
                "The request is not the one the consent page showed (its scopes, address or "
                "patient differ): open the app again.",
            )
        if form.cleaned_data["allow"] != "yes":
            request.session.pop(
                _pick_key(credentials["client_id"], credentials["state"] or ""), None
            )
            authorization_deny(actor=actor, pending=pending)
            return self._redirect_error(credentials, "access_denied", "Access was denied.")
        try:
            with transaction.atomic():
                context = authorization_approve(actor=actor, pending=pending)
                request.session.pop(
                    _pick_key(credentials["client_id"], credentials["state"] or ""), None
                )
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=request,
                    scopes=" ".join(pending.scopes),
                    credentials={
                        **{k: v for k, v in credentials.items() if k != "request"},
                        "smart_context_id": context.pk,
                    },
                    allow=True,
                )
        except OAuthToolkitError as error:
            return self._error(request, error)
        except Refused as refused:
            return self._redirect_error(credentials, "invalid_request", " ".join(refused.reasons))
        return OAuth2ResponseRedirect(uri, ["https"])

    # --- what the request is for --------------------------------------------------------

    def _pending(
        self, request: HttpRequest, scopes: list[str], credentials: dict[str, Any], launch: str
    ) -> Pending | HttpResponse | None:
        """The pending authorization; an error sent back to the app; or None when the staff
        member is still to choose the patient (a standalone launch)."""
        app = SmartApp.objects.get(application__client_id=credentials["client_id"])
        patient_scopes = any(s.startswith("patient/") for s in scopes)
        if launch:
            context, problem = launch_problem(launch, app, request.user)
            if context is None:
                return self._redirect_error(credentials, "invalid_request", problem)
            return Pending(app, tuple(scopes), context.patient, context.encounter, context)
        if "launch" in scopes:
            return self._redirect_error(
                credentials,
                "invalid_request",
                "launch: the launch scope comes with the launch value a chart sends; open the "
                "app from a chart, or ask launch/patient to choose the patient",
            )
        if "launch/patient" in scopes:
            key = _pick_key(credentials["client_id"], credentials.get("state") or "")
            patient = Patient.objects.filter(pk=request.session.get(key)).first()
            return Pending(app, tuple(scopes), patient) if patient is not None else None
        if patient_scopes:
            return self._redirect_error(
                credentials,
                "invalid_scope",
                "scope: patient/ scopes need a patient: ask launch/patient too, or open the app "
                "from a chart",
            )
        return Pending(app, tuple(scopes))

    # --- pages ----------------------------------------------------------------------------

    def _consent(self, request: HttpRequest, pending: Pending, query: Any) -> HttpResponse:
        name = pending.patient.display_name if pending.patient is not None else "this patient"
        asked = [parse_scope(s, resources.TYPES) for s in pending.scopes]
        words = [in_words(s, patient=name) for s in asked]
        if any(isinstance(s, ResourceScope) and s.context == "user" for s in asked):
            words.append("It acts as you: what it reads is recorded in your name and the app's.")
        left_out = [s for s in query.get("scope", "").split() if s in NOT_GRANTED]
        response = render(
            request,
            "fhir_api/smart_consent.html",
            {
                "app": pending.app,
                "patient": pending.patient,
                "encounter": pending.encounter,
                "words": words,
                "left_out": left_out,
                "params": [(k, query.get(k, "")) for k in AUTHORIZE_PARAMS if query.get(k)],
                "shown": consent_digest(request, pending, query),
                "another": (
                    f"{request.path}?{urlencode({**params_of(query), 'another': '1'})}"
                    if pending.launch is None and pending.patient is not None
                    else ""
                ),
            },
        )
        response["Cache-Control"] = "no-store, private"
        return _may_answer_to(response, query.get("redirect_uri", ""))

    def _picker(self, request: HttpRequest, credentials: dict[str, Any]) -> HttpResponse:
        query = request.GET.get("q", "")[:100]
        patients = list(patient_search(query)) if query.strip() else []
        showing(request, patients)
        app = SmartApp.objects.get(application__client_id=credentials["client_id"])
        params = {k: request.GET.get(k, "") for k in AUTHORIZE_PARAMS}
        response = render(
            request,
            "fhir_api/smart_pick.html",
            {
                "app": app,
                "patients": patients,
                "query": query,
                "params": [(k, v) for k, v in params.items() if v],
            },
        )
        return _may_answer_to(response, params["redirect_uri"])

    def _error(self, request: HttpRequest, error: OAuthToolkitError) -> HttpResponse:
        """A request the app cannot be sent back with (an unknown client, a redirect URI not
        registered) is a page here; any other problem goes back to the app's redirect URI."""
        oauth = error.oauthlib_error
        if isinstance(error, FatalClientError) or not oauth.redirect_uri:
            return _error_page(request, _fatal_words(oauth))
        url = add_params_to_uri(oauth.redirect_uri, oauth.twotuples)
        return OAuth2ResponseRedirect(url, ["https"])

    def _redirect_error(self, credentials: dict[str, Any], error: str, text: str) -> HttpResponse:
        answer = [("error", error), ("error_description", text)]
        if credentials.get("state"):
            answer.append(("state", credentials["state"]))
        return OAuth2ResponseRedirect(
            add_params_to_uri(credentials["redirect_uri"], answer), ["https"]
        )


authorize = Authorize.as_view()


def params_of(query: Any) -> dict[str, str]:
    """The authorization request's own parameters, as its address carried them."""
    return {k: query.get(k, "") for k in AUTHORIZE_PARAMS if query.get(k)}


def _may_answer_to(response: HttpResponse, redirect_uri: str) -> HttpResponse:
    """The page's form may send the staff member on to the app's redirect URI (checked against
    the app's registration before the page is shown): its origin joins CSP form-action, which
    browsers apply to the redirect that answers the form."""
    parts = urlsplit(redirect_uri)
    if parts.scheme == "https" and parts.netloc:
        response._csp_update = {"form-action": [f"https://{parts.netloc}"]}  # type: ignore[attr-defined]
    return response


def _back_to_the_app(request: HttpRequest, url: str) -> HttpResponse:
    """The app's answer (an error) as a page with a link back to the app."""
    query = dict(parse_qsl(urlsplit(url).query))
    return render(
        request,
        "fhir_api/smart_back.html",
        {
            "url": url,
            "error": query.get("error", ""),
            "description": query.get("error_description", ""),
            "host": urlsplit(url).netloc,
        },
    )


def _fatal_words(oauth: Any) -> str:
    """An error the app cannot be sent back with, naming the parameter at fault."""
    return {
        "InvalidClientIdError": "client_id: no app registered here has this client id (or it "
        "was revoked)",
        "MissingClientIdError": "client_id: the app sent no client id",
        "MismatchingRedirectURIError": "redirect_uri: not one registered for this app",
        "MissingRedirectURIError": "redirect_uri: the app sent none",
        "InvalidRedirectURIError": "redirect_uri: not an absolute https address",
    }.get(type(oauth).__name__, f"{oauth.error}: {oauth.description}")


def _error_page(request: HttpRequest, text: str) -> HttpResponse:
    return render(request, "fhir_api/smart_error.html", {"problem": text}, status=400)


# --- EHR launch from a chart or a review page ----------------------------------------------


@require_http_methods(["GET"])
def launch(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Open a registered app for the patient (and the consultation ``encounter``): a
    single-use launch, and the app's launch URL with ``iss`` and ``launch``. A link, not a
    form: the browser leaves the site for the app, which a form's post may not do here."""
    actor = staff_actor(request, sees="can see patient records")
    patient = get_object_or_404(Patient, pk=patient_id)
    app_id, encounter_id = request.GET.get("app", ""), request.GET.get("encounter", "")
    app = (
        SmartApp.objects.filter(pk=int(app_id)).first()
        if app_id.isascii() and app_id.isdigit() and len(app_id) < 12
        else None
    )
    if app is None:
        return _error_page(request, "app: choose one of the registered apps")
    encounter = None
    if encounter_id:
        if not (encounter_id.isascii() and encounter_id.isdigit() and len(encounter_id) < 12):
            return _error_page(request, "encounter: a consultation's number")
        encounter = Encounter.objects.filter(pk=int(encounter_id)).first()
        if encounter is None:
            return _error_page(request, "encounter: there is no such consultation")
    try:
        value = launch_create(actor=actor, app=app, patient=patient, encounter=encounter)
    except Refused as refused:
        return _error_page(request, " ".join(refused.reasons))
    target = add_params_to_uri(app.launch_url, [("iss", fhir_base()), ("launch", value)])
    return OAuth2ResponseRedirect(target, ["https"])


# --- The clinic admin's page of registered apps ---------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def apps_page(request: HttpRequest) -> HttpResponse:
    actor = admin_actor(request, does="registers SMART apps")
    form = SmartAppForm(request.POST or None)
    created, secret = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = smart_app_create(
                actor=actor, registration=Registration(**form.cleaned_data)
            )
        except Refused as refused:
            show_on_form(form, refused)
        else:
            form = SmartAppForm()
    response = render(
        request,
        "fhir_api/smart_apps.html",
        {
            "form": form,
            "created": created,
            "secret": secret,
            "apps": SmartApp.objects.select_related("application", "created_by"),
            "base": fhir_base(),
            "nav": "smart_apps",
        },
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store, private"
    return response


@require_POST
def app_revoke(request: HttpRequest, app_id: int) -> HttpResponse:
    actor = admin_actor(request, does="revokes SMART apps")
    app = get_object_or_404(SmartApp, pk=app_id)
    smart_app_revoke(actor=actor, app_id=app.pk)
    messages.success(request, f"{app.name} is revoked: its tokens open nothing from now on.")
    return redirect("fhir:smart_apps")
