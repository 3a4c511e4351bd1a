"""spinepath's refusals: one family of exceptions, turned into HTTP in one place.

Services raise these (never ``Http404``, ``ValueError`` for a business rule, or ``assert``);
:class:`spinepath.web.refusals.RefusalMiddleware` maps them to a page with the right status.
A view that re-shows its form with the reasons catches them itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class Refused(Exception):
    """An action the clinic's rules refuse, with every reason in words a user can act on."""

    status = 409
    title = "Not done"

    def __init__(
        self,
        reasons: str | Iterable[str],
        *,
        fields: Mapping[str, str] | None = None,
        code: str | None = None,
        codes: Iterable[str] = (),
    ) -> None:
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        self.fields = dict(fields or {})
        # Stable, machine-readable codes of the reasons (a gate's refusal codes), when known.
        self.codes = [code] if code else list(codes)
        super().__init__("; ".join(self.reasons))


class NotAllowed(Refused):
    """The user's role may not do this (403)."""

    status = 403
    title = "Not allowed"


class NotAvailable(Refused):
    """Nothing to show here for anyone, e.g. prices before a candidate decision (404)."""

    status = 404
    title = "Not available"


class Conflict(Refused):
    """The record changed or is locked: reload and look again (409)."""

    status = 409
    title = "Changed since you opened it"


class Invalid(Refused):
    """Input that cannot be accepted, named by field (400)."""

    status = 400
    title = "Please check what you entered"


class RateLimited(Refused):
    """Too many tries in a short time from one client or for one account (429): the answer
    says when to try again (``retry_after`` seconds, also sent as ``Retry-After``)."""

    status = 429
    title = "Please try again later"

    def __init__(
        self,
        reasons: str | Iterable[str],
        *,
        retry_after: int,
        fields: Mapping[str, str] | None = None,
        code: str | None = "rate_limited",
    ) -> None:
        super().__init__(reasons, fields=fields, code=code)
        self.retry_after = max(1, int(retry_after))


def clean_or_refuse(record: Any, *, exclude: Iterable[str] = ()) -> None:
    """A model's own validation (``full_clean``) as an :class:`Invalid` naming each field."""
    from django.core.exceptions import ValidationError

    try:
        record.full_clean(exclude=list(exclude))
    except ValidationError as error:
        fields = {
            name: " ".join(str(m) for m in messages)
            for name, messages in error.message_dict.items()
        }
        raise Invalid(
            [f"{name}: {message}" for name, message in fields.items()],
            fields=fields,
            code="invalid",
        ) from error
