"""The OAuth 2.0 server SMART needs, from oauthlib's endpoints (django-oauth-toolkit's
OAUTH2_SERVER_CLASS): the authorization code grant (PKCE S256), refresh tokens and client
credentials - no implicit, password or device grant."""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2 import (
    AuthorizationCodeGrant,
    AuthorizationEndpoint,
    BearerToken,
    ClientCredentialsGrant,
    IntrospectEndpoint,
    RefreshTokenGrant,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749 import errors

# A backend service's token is short (SMART Backend Services recommends five minutes at most);
# an app a person opened keeps the clinic's setting (an hour).
BACKEND_TOKEN_SECONDS = 300


def _s256_and_audience(request: Any) -> dict[str, Any]:
    """Before anything else of an authorization request: PKCE by S256 only, and the ``aud``
    SMART requires - this server's FHIR base."""
    from spinepath.records.fhir import fhir_base

    if request.code_challenge is not None and request.code_challenge_method != "S256":
        raise errors.InvalidRequestError(
            description="code_challenge_method: S256 (no other method is accepted)",
            request=request,
        )
    audience = getattr(request, "aud", None)
    if (audience or "").rstrip("/") != fhir_base():
        raise errors.InvalidRequestError(
            description=f"aud: the FHIR server the app asks for, {fhir_base()}", request=request
        )
    return {"aud": audience}


class SmartServer(
    AuthorizationEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint, IntrospectEndpoint
):
    def __init__(
        self,
        request_validator: Any,
        token_expires_in: Any = None,
        token_generator: Any = None,
        refresh_token_generator: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.auth_grant = AuthorizationCodeGrant(request_validator, pre_auth=[_s256_and_audience])
        self.refresh_grant = RefreshTokenGrant(request_validator)
        self.credentials_grant = ClientCredentialsGrant(request_validator)
        default_seconds = token_expires_in

        def expires_in(request: Any) -> int:
            if request.grant_type == "client_credentials":
                return BACKEND_TOKEN_SECONDS
            return int(default_seconds(request) if callable(default_seconds) else default_seconds)

        self.bearer = BearerToken(
            request_validator, token_generator, expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant},
            default_token_type=self.bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": self.auth_grant,
                "refresh_token": self.refresh_grant,
                "client_credentials": self.credentials_grant,
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)
