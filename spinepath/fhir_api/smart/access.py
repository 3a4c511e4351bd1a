"""What a SMART access token opens on the FHIR API (the `api` decorator asks here for any
bearer token that is not one of the clinic admin's API tokens).

- ``system/`` scopes read every patient's records; ``user/`` scopes what the staff member who
  authorized the app may see (every patient, while their account is active with a role);
  ``patient/`` scopes the launch patient's records only: a read of another patient's resource,
  a search naming another patient and ``$everything`` of another are refused (403), and a
  search that names no patient is made for the launch patient (a Patient search finds only
  them).
- A resource type is served only under a scope naming it (or ``*``): ``r`` to read, ``s`` to
  search; ``.rs``/``.read`` never write: storing a QuestionnaireResponse needs ``c`` on it
  (``.c``, ``.cruds``, ``.write``), for the launch patient under a ``patient/`` scope.
- CDS Hooks take the clinic's API tokens only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.fhir_api import resources
from spinepath.fhir_api.models import LaunchContext, SmartApp
from spinepath.fhir_api.smart.grants import app_actor
from spinepath.fhir_api.smart.scopes import (
    LETTER_WORDS,
    ResourceScope,
    UnreadableScope,
    contexts_allowing,
    parse_scope,
)
from spinepath.fhir_api.smart.validator import may_act_for
from spinepath.web.clients import client_address

COMPARTMENT_PARAMS = ("patient", "subject")


@dataclass(frozen=True)
class SmartAccess:
    """A live SMART access token: the app, the staff member behind it (None for a backend
    service), the launch patient (None without one) and its scopes."""

    app: SmartApp
    user: Any
    patient_id: int | None
    scopes: tuple[ResourceScope, ...]

    @property
    def name(self) -> str:
        return self.app.name

    @property
    def can_write(self) -> bool:
        """Whether it may store a QuestionnaireResponse at all (the only write served)."""
        return bool(contexts_allowing(self.scopes, "QuestionnaireResponse", "c"))

    def actor(self, request: HttpRequest) -> Actor:
        return app_actor(
            self.app, self.user, address=client_address(request), path=request.get_full_path()
        )

    def refusal(self, request: HttpRequest, view: str, kwargs: dict[str, Any]) -> str:
        """Why this token may not make this request ("" when it may; a refusal is an audit
        event). May narrow a search to the launch patient (``request.GET``)."""
        refused = self._refusal(request, view, kwargs)
        if refused:
            audit_record(
                actor=self.actor(request),
                action=AuditEvent.REFUSED,
                what=f"FHIR API refused: {refused}",
                patient=self.patient_id,
            )
        return refused

    def _refusal(self, request: HttpRequest, view: str, kwargs: dict[str, Any]) -> str:
        if view == "cds_service":
            return "CDS Hooks services take the clinic's API tokens, not a SMART app's token."
        if view == "everything":
            return self._everything(kwargs.get("ident", ""))
        kind = kwargs.get("kind", "")
        if kind not in resources.TYPES:
            return ""  # the view says that nothing is served there (404)
        if view == "search" and request.method == "POST":
            return self._create(request, kind)
        letter = "r" if view == "read" else "s"
        contexts = contexts_allowing(self.scopes, kind, letter)
        if not contexts:
            return self._not_granted(kind, letter)
        if contexts & {"user", "system"}:
            return ""
        if self.patient_id is None:
            return "This token's patient/ scopes came with no launch patient."
        if view == "read":
            return self._read_patient_only(kind, kwargs.get("ident", ""))
        return self._search_patient_only(request, kind)

    # --- patient/ scopes: the launch patient only ---------------------------------------

    def _only(self) -> str:
        return f"This token's patient/ scopes open Patient/{self.patient_id}'s records only."

    def _read_patient_only(self, kind: str, ident: str) -> str:
        if kind == "Patient":
            return "" if ident == str(self.patient_id) else self._only()
        owner = resources.owner(kind, ident) if kind in resources.OWNERS else None
        if owner is not None and owner.pk != self.patient_id:
            return self._only()
        return ""

    def _search_patient_only(self, request: HttpRequest, kind: str) -> str:
        query = request.GET.copy()
        if kind == "Patient":
            from spinepath.patients.models import Patient

            if query.get("identifier", "").strip():
                # Whatever the identifier names (the record number, or an identifier in another
                # system, matched with its system) must be the launch patient alone.
                try:
                    named = resources.search(
                        "Patient",
                        {"identifier": query["identifier"]},
                        resources.MAX_PATIENT_MATCHES,
                        0,
                    )[2]
                except resources.SearchProblem:
                    return ""  # the view names what is wrong with it
                if {p.pk for p in named} - {self.patient_id}:
                    return self._only()
            else:
                mrn = (
                    Patient.objects.filter(pk=self.patient_id).values_list("mrn", flat=True).first()
                )
                query["identifier"] = mrn or "-"
        elif kind in resources.PATIENT_TYPES:
            named = {query.get(p, "").removeprefix("Patient/") for p in COMPARTMENT_PARAMS} - {""}
            if named - {str(self.patient_id)}:
                return self._only()
            if not named:
                query["patient"] = str(self.patient_id)
        request.GET = query
        return ""

    def _everything(self, ident: str) -> str:
        for kind in resources.TYPES:
            if not contexts_allowing(self.scopes, kind, "r"):
                return self._not_granted(kind, "r") + " ($everything reads every type)"
        contexts = set().union(*(contexts_allowing(self.scopes, k, "r") for k in resources.TYPES))
        if contexts & {"user", "system"} or ident == str(self.patient_id):
            return ""
        return self._only()

    def _create(self, request: HttpRequest, kind: str) -> str:
        contexts = contexts_allowing(self.scopes, kind, "c")
        if not contexts:
            return self._not_granted(kind, "c")
        if contexts & {"user", "system"}:
            return ""
        try:
            document = json.loads(request.body)
            reference = document["subject"]["reference"]
        except (ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError):
            return ""  # the view names what is wrong with the body
        return "" if reference == f"Patient/{self.patient_id}" else self._only()

    def _not_granted(self, kind: str, letter: str) -> str:
        return (
            f"This token's scopes do not allow {LETTER_WORDS[letter]} on {kind} "
            f"(it holds {' '.join(s.text for s in self.scopes) or 'no resource scope'})."
        )


def smart_access(request: HttpRequest) -> SmartAccess | None:
    """The SMART access token the request carries, checked by django-oauth-toolkit (known,
    not expired, not revoked), whose app is not revoked and whose staff member may still act;
    None otherwise."""
    from oauth2_provider.oauth2_backends import get_oauthlib_core

    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return None
    valid, checked = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid or checked is None:
        return None
    token = checked.access_token
    app = SmartApp.objects.filter(application_id=token.application_id).first()
    if app is None or app.revoked_at is not None:
        return None
    if app.kind != SmartApp.BACKEND and not may_act_for(token.user):
        return None
    scopes = []
    for text in token.scope.split():
        try:
            scope = parse_scope(text, resources.TYPES)
        except UnreadableScope:
            continue
        if isinstance(scope, ResourceScope):
            scopes.append(scope)
    context = LaunchContext.objects.filter(access_token=token).first()
    return SmartAccess(
        app=app,
        user=token.user,
        patient_id=context.patient_id if context is not None else None,
        scopes=tuple(scopes),
    )
