"""One door for every write.

A write is a service function that takes ``actor=`` (an :class:`~spinepath.actors.Actor`) and is
wrapped by :func:`action`, which

- refuses anything but an ``Actor`` (no request, no bare user);
- asks the authority table (:mod:`spinepath.pathway.authority`) whether the actor's role may
  state the fact or take the action, before anything is read or written;
- runs the write in one transaction, so the audit event it records (through
  :func:`spinepath.audit.services.audit_record`) is written if and only if the change is;
- writes **one** audit event for the whole write: what the write says it did, with the before
  and after values of every record it saved (which the audit app's receivers hear) folded in.
  A write that calls another runs inside the outer one's event.

Side effects that must not run for a rolled-back write (an email, a text, a cache bump) leave
through :func:`after_commit`.

A write reads today's date and the clinic's policy once: :func:`today_of_write` (and
``spinepath.web.policy.clinic_policy``) answer the same for every part of one write, so a
write running over midnight or across a policy adoption never mixes two days or two policies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ParamSpec, TypeVar

from django.db import transaction
from django.utils import timezone

from spinepath.actors import Actor
from spinepath.pathway.authority import Fact

P = ParamSpec("P")
R = TypeVar("R")

# Every write behind the door, by name, with the fact or action it needs (None: the write
# decides itself, e.g. a patient acting on their own record). Read by tests and the docs.
WRITES: dict[str, Fact | None] = {}


@dataclass
class Scope:
    """One write in progress: what the audit log will say of it."""

    actor: Actor
    name: str
    said: list[dict[str, Any]] = field(default_factory=list)  # the write's own words
    depth: int = 0  # how deep in writes called by the write the code now runs
    changes: list[dict[str, Any]] = field(default_factory=list)  # records saved or deleted
    today: date = field(default_factory=timezone.localdate)  # the write's day, read once
    # Read once per write on first use (spinepath.web.policy.clinic_policy): the policy, and
    # whether it was read fresh from the database.
    memo: dict[str, Any] = field(default_factory=dict)


_scope: ContextVar[Scope | None] = ContextVar("spinepath_action", default=None)
# Called with the scope at the end of a write, inside its transaction (the audit app writes
# the write's one event); registered by the apps at start-up.
_FINISHERS: list[Callable[[Scope], None]] = []


def current_scope() -> Scope | None:
    return _scope.get()


def today_of_write() -> date:
    """Today in the clinic's time zone: the write's own day inside a write (read when it
    began), else the clock's."""
    scope = _scope.get()
    return scope.today if scope is not None else timezone.localdate()


def on_finish(finisher: Callable[[Scope], None]) -> None:
    if finisher not in _FINISHERS:
        _FINISHERS.append(finisher)


def action(fact: Fact | None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make ``function`` a write: see the module's docstring. ``fact`` is what the actor's
    role must be allowed to state (``None`` when the write checks who is acting itself)."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        name = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            actor = kwargs.get("actor")
            if not isinstance(actor, Actor):
                raise TypeError(f"{name} takes actor=Actor, not {type(actor).__name__}")
            if fact is not None:
                actor.require(fact)
            outer = _scope.get()
            if outer is not None:  # a write inside another: one event for both
                outer.depth += 1
                try:
                    with transaction.atomic():
                        return function(*args, **kwargs)
                finally:
                    outer.depth -= 1
            scope = Scope(actor, function.__name__)
            token = _scope.set(scope)
            try:
                with transaction.atomic():
                    result = function(*args, **kwargs)
                    for finish in _FINISHERS:
                        finish(scope)
            finally:
                _scope.reset(token)
            return result

        WRITES[name] = fact
        run.fact = fact  # type: ignore[attr-defined]
        return run

    return wrap


def after_commit(send: Callable[[], object]) -> None:
    """Run ``send`` once the write is committed; never for a rolled-back one. A failure is
    logged and never undoes the write (e.g. a mail server that is down)."""
    transaction.on_commit(send, robust=True)
