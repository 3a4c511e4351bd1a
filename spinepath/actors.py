"""Who is acting, built once at the edge and passed to every write.

An :class:`Actor` says who (a staff account, a patient, an API token's client, someone at the
command line, the clinic's own jobs), which roles they hold, and from where (the client's
address and the page, or the command). Services take one as ``actor=``; none takes an HTTP
request. The audit log reads everything it records about the author from it.

Built by: :func:`spinepath.web.actors.actor_of` (a staff session, once per request), the
patient's own pages (:meth:`Actor.for_patient`), the FHIR API (:meth:`Actor.for_api`), the
``spinepath`` command (:meth:`Actor.at_command_line`) and the clinic's jobs
(:meth:`Actor.system`).
"""

from __future__ import annotations

import contextlib
import getpass
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from spinepath.errors import NotAllowed
from spinepath.pathway.authority import Fact, may_state, refusal, stating_role

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Channel = Literal["staff", "patient", "api", "command_line", "system", "public"]
SYSTEM = "(system)"


@dataclass(frozen=True)
class Actor:
    channel: Channel
    user: User | None = None  # the staff account acting (None for patients and jobs)
    roles: frozenset[str] = frozenset()
    address: str | None = None  # the client's address (None off the network)
    path: str = ""  # the page, API address or command the action came from
    patient_id: int | None = None  # a patient acting on their own record
    name: str = ""  # how the log names an actor without a staff account
    machine_user: str = ""  # the operating system's account, at the command line
    detail: dict[str, str] = field(default_factory=dict, compare=False)

    # --- who ------------------------------------------------------------------------------

    @property
    def username(self) -> str:
        if self.user is not None:
            return str(self.user.get_username())
        return self.name or SYSTEM

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else int(self.user.pk)

    @property
    def is_staff_member(self) -> bool:
        return bool(self.roles)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def stating_role(self) -> str:
        """The role a statement is recorded under (a clinician's when the person is one)."""
        return stating_role(self.roles)

    # --- what they may do -----------------------------------------------------------------

    def may(self, fact: Fact) -> bool:
        return may_state(self.roles, fact)

    def require(self, fact: Fact) -> None:
        """Refuse (403) unless the actor's role may state ``fact`` (PATHWAY.md section 7)."""
        if not self.may(fact):
            raise NotAllowed(refusal(fact), code=f"not_allowed:{fact}")

    # --- built at the edge ----------------------------------------------------------------

    @classmethod
    def for_staff(
        cls, user: User, roles: frozenset[str] | set[str], *, address: str | None, path: str
    ) -> Actor:
        return cls("staff", user=user, roles=frozenset(roles), address=address, path=path)

    @classmethod
    def for_patient(cls, patient_id: int, name: str, *, address: str | None, path: str) -> Actor:
        """A patient on their own pages (signed in, or holding a questionnaire link)."""
        return cls("patient", patient_id=patient_id, name=name, address=address, path=path)

    @classmethod
    def for_api(
        cls,
        token_name: str,
        *,
        address: str | None,
        path: str,
        user: User | None = None,
        kind: str = "API token",
    ) -> Actor:
        """An API client: one of the clinic admin's bearer tokens, or a SMART app (``kind``)
        acting for the staff member who authorized it (``user``), whom the log then names as
        the author; every event still names the client (``detail.api_client``)."""
        name = f"({kind}: {token_name})"
        detail = {"api_client": name} if user is not None else {}
        return cls("api", user=user, name=name, address=address, path=path, detail=detail)

    @classmethod
    def at_command_line(
        cls,
        command: str,
        machine_user: str,
        *,
        user: User | None = None,
        roles: frozenset[str] | set[str] = frozenset(),
    ) -> Actor:
        """Someone running ``spinepath COMMAND``: the staff account they named (if any) and,
        always, the machine's account that ran it."""
        return cls(
            "command_line",
            user=user,
            roles=frozenset(roles),
            path=f"(command line) spinepath {command}",
            name=f"(command line: {machine_user})" if machine_user else SYSTEM,
            machine_user=machine_user,
            detail={
                "command_line": f"spinepath {command}",
                "machine_user": machine_user or "(no name)",
            },
        )

    @classmethod
    def system(cls, name: str = SYSTEM, *, path: str = "") -> Actor:
        """The clinic's own jobs (reminders, the demo, a schedule recomputed)."""
        return cls("system", name=name, path=path)


def machine_user() -> str:
    """The operating system's account running this process: the effective user id's name
    (which the environment cannot change), else getpass.getuser(); "" if it has no name."""
    with contextlib.suppress(ImportError, KeyError, OSError):
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return ""
