"""A client assertion (RFC 7523 private_key_jwt) of a backend service (SMART Backend Services)
or of a confidential app registered with its keys (SMART's client-confidential-asymmetric): a
JWT signed RS384 or ES384 with a key of the app's registered key set, whose ``iss`` and ``sub``
are its client id and ``aud`` the token endpoint, at most five minutes long, used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.fhir_api.models import ClientAssertion, SmartApp

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384")
MAX_LIFETIME = timedelta(minutes=5)
LEEWAY_SECONDS = 30  # clocks that differ by a few seconds


class AssertionRefused(Exception):
    """Why an assertion opens nothing, in words naming the claim or header; ``app``: the app it
    claimed to come from, when one was found (for the audit log)."""

    def __init__(self, why: str, app: SmartApp | None = None) -> None:
        super().__init__(why)
        self.app = app


def assertion_app(assertion: str, *, token_url: str) -> SmartApp:
    """The registered app ``assertion`` authenticates, its ``jti`` now spent; or
    AssertionRefused."""
    import jwt

    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AssertionRefused("client_assertion: not a signed JWT") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise AssertionRefused(f"client_assertion: alg is {algorithm}, not RS384 or ES384")
    client_id = claims.get("iss")
    app = (
        SmartApp.objects.select_related("application")
        .filter(application__client_id=client_id, jwks__isnull=False)
        .first()
        if isinstance(client_id, str) and len(client_id) < 256
        else None
    )
    if app is None:
        raise AssertionRefused("client_assertion: iss is no app registered here with its keys")
    if app.revoked_at is not None:
        raise AssertionRefused("client_assertion: this app was revoked", app)
    if claims.get("sub") != client_id:
        raise AssertionRefused("client_assertion: sub must be the client id, as iss", app)
    verified = _verified(assertion, app, header, algorithm, token_url)
    expires = datetime.fromtimestamp(verified["exp"], tz=UTC)
    if expires - timezone.now() > MAX_LIFETIME + timedelta(seconds=LEEWAY_SECONDS):
        raise AssertionRefused("client_assertion: exp is more than five minutes ahead", app)
    jti = verified.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise AssertionRefused("client_assertion: jti, a unique id of the assertion, is missing")
    _spend(app, jti, expires)
    return app


def _verified(
    assertion: str, app: SmartApp, header: dict[str, object], algorithm: str, token_url: str
) -> dict[str, object]:
    import jwt

    kid = header.get("kid")
    keys = [k for k in (app.jwks or {}).get("keys", []) if not kid or k.get("kid") in (kid, None)]
    if not keys:
        raise AssertionRefused(f"client_assertion: no registered key has kid {header.get('kid')}")
    why = "client_assertion: the signature is not made by a registered key"
    for key in keys:
        try:
            public = jwt.PyJWK(key, algorithm)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        try:
            return dict(
                jwt.decode(
                    assertion,
                    key=public,
                    algorithms=[algorithm],
                    audience=token_url,
                    issuer=app.application.client_id,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["iss", "sub", "aud", "exp", "jti"]},
                )
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise AssertionRefused("client_assertion: exp has passed", app) from None
        except jwt.InvalidAudienceError:
            raise AssertionRefused(f"client_assertion: aud must be {token_url}", app) from None
        except jwt.MissingRequiredClaimError as missing:
            raise AssertionRefused(f"client_assertion: {missing.claim} is missing", app) from None
        except jwt.PyJWTError as other:
            why = f"client_assertion: {other}"
    raise AssertionRefused(why, app)


def _spend(app: SmartApp, jti: str, expires: datetime) -> None:
    """Keep the jti until its assertion expires (and forget those that have)."""
    now = timezone.now()
    ClientAssertion.objects.filter(expires_at__lt=now - timedelta(seconds=LEEWAY_SECONDS)).delete()
    try:
        with transaction.atomic():
            ClientAssertion.objects.create(app=app, jti=jti, expires_at=expires)
    except IntegrityError:
        raise AssertionRefused("client_assertion: this jti was used already", app) from None
