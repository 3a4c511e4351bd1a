"""The actor of a request, built once at the edge (the first time a view or the audit log asks).

A signed-in staff member acts with the roles their account holds now. The patient's own pages
and the FHIR API set their own actor on the request (:func:`acting_as`) before anything reads
it; anyone else is the public (the clinic's public forms).
"""

from __future__ import annotations

from typing import Any

from spinepath.accounts.roles import CLINIC_ADMIN, role_names
from spinepath.actors import Actor, machine_user
from spinepath.errors import NotAllowed
from spinepath.web.clients import client_address

PUBLIC = "(public)"


def actor_of(request: Any) -> Actor:
    """Who is acting in ``request`` (cached on it)."""
    actor = getattr(request, "_spinepath_actor", None)
    if isinstance(actor, Actor):
        return actor
    user = getattr(request, "user", None)
    address, path = client_address(request), request.get_full_path()
    if user is not None and user.is_authenticated:
        actor = Actor.for_staff(user, role_names(user), address=address, path=path)
    else:
        actor = Actor("public", name=PUBLIC, address=address, path=path)
    request._spinepath_actor = actor
    return actor


def acting_as(request: Any, actor: Actor) -> Actor:
    """The actor of this request is ``actor`` (a patient on their own pages, an API client)."""
    request._spinepath_actor = actor
    return actor


def staff_actor(request: Any, *, sees: str) -> Actor:
    """The actor of a staff page: refused (403, recorded) for anyone who is not clinic staff,
    with what they tried to see ("can see patient records")."""
    actor = actor_of(request)
    if not actor.is_staff_member:
        raise NotAllowed(f"Only clinic staff {sees}.", code="staff_only")
    return actor


def admin_actor(request: Any, *, does: str) -> Actor:
    """The actor of a clinic admin's page ("reads the audit log")."""
    actor = actor_of(request)
    if not actor.has_role(CLINIC_ADMIN):
        raise NotAllowed(f"Only the clinic admin {does}.", code="admin_only")
    return actor


def staff_member(user: Any, *, path: str) -> Actor:
    """A staff member acting off the web, with the roles their account holds now (the demo
    clinic's loader acting as its clinician)."""
    return Actor.for_staff(user, role_names(user), address=None, path=path)


def at_command_line(command: str, user: Any = None) -> Actor:
    """Someone running ``spinepath COMMAND``, as the staff account they named (``--by``) if
    any; the machine's account that ran it is always recorded."""
    roles = role_names(user) if user is not None else set()
    return Actor.at_command_line(command, machine_user(), user=user, roles=roles)
