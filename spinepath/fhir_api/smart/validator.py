"""What SMART adds to django-oauth-toolkit's request validator (its OAUTH2_VALIDATOR_CLASS).

- Clients are the registered SMART apps, while not revoked; a backend service authenticates
  only with its signed JWT (private_key_jwt), a confidential app only with its secret.
- PKCE (S256) is required of public apps.
- Scopes are SMART's, within those the app was registered for.
- The launch context (patient, consultation) travels from the approval to the grant, to the
  access token and to each refreshed one; the token response carries ``patient``.
- A refresh token only with ``offline_access`` or ``online_access``.
- Every token issued, refreshed or revoked is an audit event.
"""

from __future__ import annotations

import hashlib
from typing import Any

from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from spinepath.audit.models import AuditEvent
from spinepath.fhir_api import resources
from spinepath.fhir_api.models import LaunchContext, SmartApp
from spinepath.fhir_api.smart.assertions import ASSERTION_TYPE, AssertionRefused, assertion_app
from spinepath.fhir_api.smart.grants import grant_recorded
from spinepath.fhir_api.smart.scopes import (
    NOT_GRANTED,
    REFRESHING,
    ResourceScope,
    UnreadableScope,
    allowed_by,
    parse_scope,
    parse_scopes,
)

GRANT_WORDS = {
    "authorization_code": "access token issued",
    "refresh_token": "access token refreshed",
    "client_credentials": "backend service access token issued",
}


def token_url() -> str:
    from spinepath.records.fhir import fhir_base

    return fhir_base().removesuffix("/fhir") + "/smart/token"


def may_act_for(user: Any) -> bool:
    """Whether a staff member's grants still open anything: an active account with a role."""
    from spinepath.accounts.roles import role_names

    return user is not None and bool(user.is_active) and bool(role_names(user))


class SmartValidator(OAuth2Validator):
    # --- The client ---------------------------------------------------------------------

    def _load_application(self, client_id: str, request: Any) -> Application | None:
        application = super()._load_application(client_id, request)
        if application is None:
            return None
        app = SmartApp.objects.filter(application=application).first()
        if app is None or app.revoked_at is not None:
            request.client = None
            return None
        request.smart_app = app
        return application

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if getattr(request, "client_assertion", None) or getattr(
            request, "client_assertion_type", None
        ):
            return True
        return bool(super().client_authentication_required(request, *args, **kwargs))

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        assertion = getattr(request, "client_assertion", None)
        kind = getattr(request, "client_assertion_type", None)
        if assertion or kind:
            return self._authenticate_assertion(request, str(assertion or ""), kind)
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        # An app with registered keys signs; only a confidential app without keys has a secret.
        app = getattr(request, "smart_app", None)
        return app is not None and app.kind == SmartApp.CONFIDENTIAL and app.jwks is None

    def _authenticate_assertion(self, request: Any, assertion: str, kind: Any) -> bool:
        if kind != ASSERTION_TYPE:
            raise errors.InvalidClientError(
                description=f"client_assertion_type: {ASSERTION_TYPE}", request=request
            )
        try:
            app = assertion_app(assertion, token_url=token_url())
        except AssertionRefused as refused:
            if refused.app is not None:
                grant_recorded(
                    app=refused.app,
                    user=None,
                    action=AuditEvent.REFUSED,
                    what=f"client assertion refused ({refused})",
                )
            raise errors.InvalidClientError(description=str(refused), request=request) from None
        request.client = app.application
        request.smart_app = app
        return True

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        application = self._load_application(client_id, request)
        return application is None or application.client_type == Application.CLIENT_PUBLIC

    # --- Scopes -------------------------------------------------------------------------

    def get_default_scopes(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> list[str]:
        return []

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kw: Any
    ) -> bool:
        app: SmartApp | None = getattr(request, "smart_app", None)
        if app is None:
            return False
        asked = [s for s in scopes if s and s not in NOT_GRANTED]
        if not asked:
            raise errors.InvalidScopeError(
                description="scope: ask for at least one scope, e.g. patient/*.rs", request=request
            )
        registered = parse_scopes(app.scopes.split(), resources.TYPES)
        backend = app.kind == SmartApp.BACKEND
        for text in asked:
            try:
                scope = parse_scope(text, resources.TYPES)
            except UnreadableScope as problem:
                raise errors.InvalidScopeError(
                    description=f"scope: {problem}", request=request
                ) from None
            system = isinstance(scope, ResourceScope) and scope.context == "system"
            if system != backend:
                raise errors.InvalidScopeError(
                    description=f"scope: {text} is "
                    + ("a backend service's only" if system else "not a backend service's"),
                    request=request,
                )
            if not allowed_by(scope, registered):
                raise errors.InvalidScopeError(
                    description=f"scope: {text} is not among the scopes {app.name} was "
                    "registered for",
                    request=request,
                )
        # What is granted is what was asked, less the OpenID Connect scopes (no id_token here).
        request.scopes = asked
        return True

    # --- The launch context, from the approval to every access token ----------------------

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        grant = self._create_authorization_code(request, code)
        context_id = getattr(request, "smart_context_id", None)
        if context_id is not None:
            LaunchContext.objects.filter(pk=context_id, grant=None).update(grant=grant)

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        if not may_act_for(request.user):
            return False
        request.smart_context = (
            LaunchContext.objects.filter(grant__code=code, grant__application=client)
            .select_related("app")
            .first()
        )
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        if not may_act_for(request.user):
            return False
        previous = request.refresh_token_instance.access_token_id
        request.smart_context = (
            LaunchContext.objects.filter(access_token_id=previous).first() if previous else None
        )
        return True

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> AccessToken:
        access_token = super()._create_access_token(
            expires, request, token, source_refresh_token=source_refresh_token
        )
        context = getattr(request, "smart_context", None)
        if context is not None:
            LaunchContext.objects.filter(pk=context.pk).update(access_token=access_token)
        return access_token

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kw: Any) -> Any:
        granted = set(str(token.get("scope", "")).split())
        if not granted & REFRESHING:
            token.pop("refresh_token", None)  # a refresh token only for offline or online access
        saved = super().save_bearer_token(token, request, *args, **kw)
        context: LaunchContext | None = getattr(request, "smart_context", None)
        if context is not None and context.patient_id is not None:
            token["patient"] = str(context.patient_id)
            token["need_patient_banner"] = True
        if context is not None and context.encounter_id is not None:
            token["encounter"] = str(context.encounter_id)
        app: SmartApp | None = getattr(request, "smart_app", None)
        if app is not None:
            grant_recorded(
                app=app,
                user=request.user,
                action=AuditEvent.CREATE
                if request.grant_type != "refresh_token"
                else AuditEvent.UPDATE,
                what=GRANT_WORDS.get(request.grant_type, "access token issued")
                + (" with a refresh token" if "refresh_token" in token else ""),
                patient=context.patient_id if context is not None else None,
                scope=str(token.get("scope", "")),
            )
        return saved

    # --- Revocation (RFC 7009) ----------------------------------------------------------

    def revoke_token(
        self, token: str, token_type_hint: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        checksum = hashlib.sha256(token.encode()).hexdigest()
        application_id = getattr(request.client, "pk", None)
        access = AccessToken.objects.filter(
            token_checksum=checksum, application_id=application_id
        ).first()
        refresh = (
            None
            if access is not None
            else RefreshToken.objects.filter(
                token_checksum=checksum, application_id=application_id, revoked=None
            )
            .select_related("access_token")
            .first()
        )
        found = access or (refresh.access_token if refresh is not None else None)
        context = LaunchContext.objects.filter(access_token=found).first() if found else None
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        app: SmartApp | None = getattr(request, "smart_app", None)
        if app is not None and (access is not None or refresh is not None):
            grant_recorded(
                app=app,
                user=(access or refresh).user,  # type: ignore[union-attr]
                action=AuditEvent.UPDATE,
                what=f"{'access' if access is not None else 'refresh'} token revoked",
                patient=context.patient_id if context is not None else None,
            )
