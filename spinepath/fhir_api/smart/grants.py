"""Every grant in the audit log: an authorization approved or denied, a token issued,
refreshed or revoked, a backend service's token - each naming the app, the staff member behind
it and the patient."""

from __future__ import annotations

from typing import Any

from spinepath.actors import Actor
from spinepath.audit.context import current_request
from spinepath.audit.services import audit_record
from spinepath.fhir_api.models import SmartApp
from spinepath.web.clients import client_address


def app_actor(app: SmartApp, user: Any, *, address: str | None, path: str) -> Actor:
    """A SMART app acting (for the staff member who authorized it, if any)."""
    return Actor.for_api(app.name, user=user, kind="SMART app", address=address, path=path)


def grant_recorded(
    *,
    app: SmartApp,
    user: Any,
    action: str,
    what: str,
    patient: Any = None,
    scope: str = "",
    actor: Actor | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One grant event: by ``actor`` (the staff member on the consent page), else by the app
    for ``user``, from the request being served."""
    if actor is None:
        request = current_request()
        actor = app_actor(
            app,
            user,
            address=client_address(request) if request is not None else None,
            path=request.get_full_path() if request is not None else "",
        )
    said: dict[str, Any] = {"smart_app": app.name, "client_id": app.application.client_id}
    if scope:
        said["scope"] = scope
    audit_record(
        actor=actor,
        action=action,
        what=f"SMART app {app.name}: {what}",
        patient=patient,
        detail={**said, **(detail or {})},
    )
