"""The request being served, so that a record saved anywhere below it is audited with its
author, address and page (set by AuditMiddleware); or the command being run, so that what a
command records says it came from the command line and which machine account ran it (set by
the `spinepath` command for every sub-command but the server)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from spinepath.actors import machine_user

_request: ContextVar[Any] = ContextVar("spinepath_audit_request", default=None)


@dataclass(frozen=True)
class CommandLine:
    command: str  # "import-dicom"
    machine_user: str  # the operating system's account that ran it ("" if it has no name)


_command: ContextVar[CommandLine | None] = ContextVar("spinepath_audit_command", default=None)


@contextlib.contextmanager
def command_line(command: str) -> Iterator[CommandLine]:
    """Everything recorded inside says it came from ``spinepath COMMAND`` on the command line."""
    run = CommandLine(command, machine_user())
    token = _command.set(run)
    try:
        yield run
    finally:
        _command.reset(token)


def current_command() -> CommandLine | None:
    return _command.get()


def current_request() -> Any:
    return _request.get()


def serving(request: Any) -> Any:
    return _request.set(request)


def done(token: Any) -> None:
    _request.reset(token)
