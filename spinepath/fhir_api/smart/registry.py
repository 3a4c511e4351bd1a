"""The SMART apps the clinic admin registers (the SMART apps page, `spinepath smart-app`):
created with their OAuth client, revoked with every grant and token they hold. Audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.fhir_api import resources
from spinepath.fhir_api.models import SmartApp
from spinepath.fhir_api.smart.scopes import ResourceScope, UnreadableScope, parse_scopes

# The signatures a backend service's key may make (SMART Backend Services: RS384 or ES384).
KEY_TYPES = {"RSA": "RS384", "EC": "ES384"}
DEFAULT_SCOPES = {
    SmartApp.PUBLIC: "launch launch/patient patient/*.rs offline_access",
    SmartApp.CONFIDENTIAL: "launch launch/patient patient/*.rs user/*.rs offline_access",
    SmartApp.BACKEND: "system/*.rs",
}


@dataclass(frozen=True)
class Registration:
    """What the clinic admin says of a new app (the form's or the command line's words)."""

    name: str
    kind: str
    redirect_uris: str = ""  # one or more, separated by spaces or lines
    launch_url: str = ""
    scopes: str = ""
    jwks: str = ""  # a backend service's public keys, the JSON of a JWK Set


def _may_manage_apps(actor: Actor) -> None:
    """The clinic admin (the authority table's ``api_token``: what the EHR may read or write)
    on the SMART apps page; whoever runs ``spinepath smart-app`` on the server."""
    if actor.channel not in ("command_line", "system"):
        actor.require("api_token")


def _https(url: str, field: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.fragment:
        raise Invalid(
            f"{field}: {url[:80]} is not an https address (no #fragment)",
            fields={field: "An https address, e.g. https://app.example.org/launch."},
        )
    return url


def _scopes(text: str, kind: str) -> str:
    """The scopes an app may ask for, read; a backend service's are system/ scopes only, and an
    app staff open has none."""
    words = list(dict.fromkeys(text.split() or DEFAULT_SCOPES[kind].split()))
    try:
        parsed = parse_scopes(words, resources.TYPES)
    except UnreadableScope as problem:
        raise Invalid(f"scopes: {problem}", fields={"scopes": str(problem)}) from None
    system = [s.text for s in parsed if isinstance(s, ResourceScope) and s.context == "system"]
    if kind == SmartApp.BACKEND and len(system) != len(parsed):
        raise Invalid(
            "scopes: a backend service asks system/ scopes only (e.g. system/*.rs)",
            fields={"scopes": "system/ scopes only, e.g. system/*.rs."},
        )
    if kind != SmartApp.BACKEND and system:
        raise Invalid(
            f"scopes: {system[0]} is a backend service's; an app staff open asks patient/ or "
            "user/ scopes",
            fields={"scopes": "No system/ scope for an app staff open."},
        )
    return " ".join(words)


def key_set(text: str) -> dict[str, Any]:
    """A JWK Set of public RSA or EC (P-384) keys, as pasted; Invalid naming what is wrong."""
    import jwt

    def wrong(why: str) -> Invalid:
        return Invalid(f"jwks: {why}", fields={"jwks": why})

    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise wrong('not JSON: paste the key set, {"keys": [...]}') from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > 20:
        raise wrong('a key set is {"keys": [...]} with one to 20 keys')
    for number, key in enumerate(keys, start=1):
        if not isinstance(key, dict) or key.get("kty") not in KEY_TYPES:
            raise wrong(f"key {number}: an RSA or EC key (kty RSA or EC)")
        if "d" in key or "p" in key:
            raise wrong(f"key {number} holds a private part: paste the public key only")
        if key["kty"] == "EC" and key.get("crv") != "P-384":
            raise wrong(f"key {number}: an EC key for ES384 is on the curve P-384")
        if key.get("alg") not in (None, KEY_TYPES[key["kty"]]):
            raise wrong(f"key {number}: its alg is {KEY_TYPES[key['kty']]} (or none)")
        try:
            jwt.PyJWK(key, KEY_TYPES[key["kty"]])
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise wrong(f"key {number} cannot be read as a public key") from None
    return {"keys": keys}


@action(None)
def smart_app_create(*, actor: Actor, registration: Registration) -> tuple[SmartApp, str]:
    """Register an app and its OAuth client; returns it and its client secret (a confidential
    app's, shown once and kept hashed; "" for the others)."""
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import Application

    _may_manage_apps(actor)
    r = registration
    name = " ".join(r.name.split())
    if not name or len(name) > 100 or not name.isprintable():
        raise Invalid("name: at most 100 printable characters", fields={"name": "Name the app."})
    if r.kind not in dict(SmartApp.KINDS):
        raise Invalid("kind: public, confidential or backend", fields={"kind": "Choose one."})
    backend = r.kind == SmartApp.BACKEND
    uris = [_https(u, "redirect_uris") for u in r.redirect_uris.split()]
    if backend and uris:
        raise Invalid(
            "redirect_uris: a backend service is sent no one back",
            fields={"redirect_uris": "None for a backend service."},
        )
    if not backend and not uris:
        raise Invalid(
            "redirect_uris: where the app receives the authorization (one or more)",
            fields={"redirect_uris": "At least one https address."},
        )
    launch_url = _https(r.launch_url.strip(), "launch_url") if r.launch_url.strip() else ""
    if backend and launch_url:
        raise Invalid("launch_url: a backend service is not opened from the chart")
    jwks = key_set(r.jwks) if backend or r.jwks.strip() else None
    if r.kind == SmartApp.PUBLIC and jwks is not None:
        raise Invalid(
            "jwks: a public app keeps no key; register it as confidential to sign with one",
            fields={"jwks": "None for a public app."},
        )
    # A confidential app registered with its keys signs (private_key_jwt) instead of a secret.
    secret = generate_client_secret() if r.kind == SmartApp.CONFIDENTIAL and not jwks else ""
    application = Application(
        name=name,
        client_type=Application.CLIENT_PUBLIC
        if r.kind == SmartApp.PUBLIC
        else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS
        if backend
        else Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(uris),
        client_secret=secret,
        hash_client_secret=True,
        skip_authorization=False,
    )
    try:
        application.full_clean(exclude=["client_id", "client_secret"])
    except ValidationError as invalid:
        field, messages = next(iter(invalid.message_dict.items()))
        raise Invalid(
            f"{field}: {' '.join(messages)}", fields={field: " ".join(messages)}
        ) from None
    try:
        with transaction.atomic():
            application.save()
            app = SmartApp.objects.create(
                name=name,
                kind=r.kind,
                application=application,
                launch_url=launch_url,
                scopes=_scopes(r.scopes, r.kind),
                jwks=jwks,
                created_by=actor.user,
            )
    except IntegrityError:
        raise Conflict(f"An app named {name} exists already.", fields={"name": "Taken."}) from None
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"SMART app {name} registered ({r.kind}; scopes {app.scopes})",
        detail={"client_id": application.client_id},
    )
    return app, secret


@action(None)
def smart_app_revoke(*, actor: Actor, app_id: int) -> SmartApp:
    """Revoke an app at once: its client opens nothing more and every code, access token and
    refresh token it holds is revoked."""
    from oauth2_provider.models import AccessToken, Grant, RefreshToken, revoke_access_token

    _may_manage_apps(actor)
    app = SmartApp.objects.select_for_update().filter(pk=app_id).first()
    if app is None:
        raise NotAvailable("There is no such SMART app.")
    if app.revoked_at is not None:
        return app
    app.revoked_at = timezone.now()
    app.save(update_fields=["revoked_at"])
    tokens = list(AccessToken.objects.filter(application_id=app.application_id))
    for token in tokens:
        revoke_access_token(token)
    for refresh in RefreshToken.objects.filter(application_id=app.application_id, revoked=None):
        refresh.revoke()
    Grant.objects.filter(application_id=app.application_id).delete()
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"SMART app {app.name} revoked ({len(tokens)} access tokens revoked with it)",
        detail={"client_id": app.application.client_id},
    )
    return app
