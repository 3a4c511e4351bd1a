"""SMART scopes, read and compared (SMART App Launch 2.0, section "Scopes and launch context").

A resource scope is ``context/Type.permissions``: the context is ``patient`` (the launch
patient's records only), ``user`` (what the signed-in staff member may see) or ``system`` (a
backend service, no user); the type is one the API serves or ``*``; the permissions are v2
letters in the order ``cruds`` (create, read, update, delete, search) or a v1 word (``read`` is
``rs``, ``write`` is ``cud``, ``*`` all five). The other scopes are words: ``launch``,
``launch/patient``, ``offline_access``... Plain Python: no Django, so the rules are tested fast
and read in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
LETTERS = "cruds"
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
# Scopes that name no resource, and what each asks for in words (the consent page's).
WORDS = {
    "launch": "know the patient (and consultation) it was opened for from the chart",
    "launch/patient": "know which patient you choose for it",
    "launch/encounter": "know the consultation it was opened from",
    "offline_access": "keep its access after you close it (a refresh token, until revoked)",
    "online_access": "renew its access while it is in use (a refresh token, until revoked)",
}
# Asked by OpenID Connect apps; spinepath is no OpenID provider, so these are left out of
# what is granted (the token response's `scope` says what was).
NOT_GRANTED = frozenset({"openid", "fhirUser", "profile"})
REFRESHING = frozenset({"offline_access", "online_access"})
LETTER_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


class UnreadableScope(Exception):
    """A scope that is not one of SMART's forms, or names what is not served here."""


@dataclass(frozen=True)
class ResourceScope:
    context: str  # patient, user or system
    resource: str  # a resource type, or "*"
    permissions: frozenset[str]  # letters of "cruds"
    text: str

    def covers(self, other: ResourceScope) -> bool:
        """Whether a token holding this scope may do all that ``other`` asks."""
        return (
            self.context == other.context
            and self.resource in ("*", other.resource)
            and other.permissions <= self.permissions
        )

    def allows(self, resource: str, letter: str) -> bool:
        return self.resource in ("*", resource) and letter in self.permissions


def parse_scope(text: str, resource_types: Iterable[str]) -> ResourceScope | str:
    """A resource scope, or one of the word scopes as it is; UnreadableScope otherwise, saying
    why in words naming the scope."""
    if text in WORDS or text in NOT_GRANTED:
        return text
    context, slash, rest = text.partition("/")
    if not slash or context not in CONTEXTS:
        raise UnreadableScope(
            f"{text}: not a SMART scope (e.g. patient/Observation.rs, user/*.rs, launch, "
            "offline_access)"
        )
    if "?" in rest:
        raise UnreadableScope(f"{text}: scopes narrowed by search parameters are not served")
    resource, dot, permissions = rest.rpartition(".")
    if not dot or not resource:
        raise UnreadableScope(f"{text}: write the resource type and its permissions, e.g. .rs")
    if resource != "*" and resource not in set(resource_types):
        raise UnreadableScope(f"{text}: {resource} is not a resource type served here")
    letters = V1_PERMISSIONS.get(permissions, permissions)
    if not letters or any(c not in LETTERS for c in letters) or not _in_order(letters):
        raise UnreadableScope(
            f"{text}: permissions are letters of cruds in that order (e.g. rs), or read, write or *"
        )
    return ResourceScope(context, resource, frozenset(letters), text)


def _in_order(letters: str) -> bool:
    positions = [LETTERS.index(c) for c in letters]
    return positions == sorted(set(positions))


def parse_scopes(texts: Iterable[str], resource_types: Iterable[str]) -> list[ResourceScope | str]:
    types = tuple(resource_types)
    return [parse_scope(text, types) for text in texts]


def allowed_by(wanted: ResourceScope | str, registered: Iterable[ResourceScope | str]) -> bool:
    """Whether a scope asked for is within those the app was registered for."""
    for scope in registered:
        if isinstance(wanted, str):
            if scope == wanted:
                return True
        elif isinstance(scope, ResourceScope) and scope.covers(wanted):
            return True
    return False


def contexts_allowing(
    scopes: Iterable[ResourceScope | str], resource: str, letter: str
) -> set[str]:
    """The contexts (patient, user, system) in which ``scopes`` allow ``letter`` on
    ``resource``: empty when they do not allow it at all."""
    return {
        s.context for s in scopes if isinstance(s, ResourceScope) and s.allows(resource, letter)
    }


def in_words(scope: ResourceScope | str, *, patient: str = "this patient") -> str:
    """What a scope lets the app do, as the consent page says it to the staff member."""
    if isinstance(scope, str):
        return WORDS.get(scope, scope)
    actions = [LETTER_WORDS[c] for c in LETTERS if c in scope.permissions]
    doing = ", ".join(actions[:-1]) + (" and " if len(actions) > 1 else "") + actions[-1]
    what = "every kind of record" if scope.resource == "*" else f"{scope.resource} records"
    whose = {
        "patient": f"of {patient} only",
        "user": "of any patient you may see, as you",
        "system": "of every patient, with no one signed in",
    }[scope.context]
    return f"{doing.capitalize()} {what} {whose}"
