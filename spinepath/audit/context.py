"""The request being served, so that a record saved anywhere below it is audited with its
author, address and page (set by AuditMiddleware; empty in commands, which are "(system)")."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_request: ContextVar[Any] = ContextVar("spinepath_audit_request", default=None)


def current_request() -> Any:
    return _request.get()


def serving(request: Any) -> Any:
    return _request.set(request)


def done(token: Any) -> None:
    _request.reset(token)
