"""API tokens: issued by the clinic admin (or `spinepath api-token create`), read-only unless
granted write, revocable, hashed at rest."""

from __future__ import annotations

import hashlib
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.fhir_api.models import ApiToken

TOKEN_PREFIX = "sp_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _may_manage_tokens(actor: Actor) -> None:
    """The clinic admin (the authority table's ``api_token``) on the tokens page; whoever runs
    ``spinepath api-token`` on the server, who holds the database anyway."""
    if actor.channel not in ("command_line", "system"):
        actor.require("api_token")


@action(None)
def token_create(*, actor: Actor, name: str, can_write: bool) -> tuple[ApiToken, str]:
    """A new token; returns it and its secret (shown once, never stored)."""
    _may_manage_tokens(actor)
    name = " ".join(name.split())
    if not name or len(name) > 100 or not name.isprintable():
        raise Invalid(
            "Name the token: at most 100 printable characters.", fields={"name": "Name the token."}
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                name=name,
                token_hash=_hash(secret),
                prefix=secret[:8],
                can_write=can_write,
                created_by=actor.user,
            )
    except IntegrityError:
        raise Conflict(f"A token named {name} exists already.", fields={"name": "Taken."}) from None
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"API token {name} issued ({'read and write' if can_write else 'read only'})",
    )
    return token, secret


@action(None)
def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    _may_manage_tokens(actor)
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotAvailable("There is no such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action=AuditEvent.UPDATE, what=f"API token {token.name} revoked")
    return token


def token_for(header: str) -> ApiToken | None:
    """The live token an ``Authorization: Bearer ...`` header carries, or None."""
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200:
        return None
    token = ApiToken.objects.filter(token_hash=_hash(secret), revoked_at__isnull=True).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
