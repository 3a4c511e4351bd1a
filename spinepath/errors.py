"""spinepath's refusals: one family of exceptions, turned into HTTP in one place.

Services raise these (never ``Http404``, ``ValueError`` for a business rule, or ``assert``);
:class:`spinepath.web.refusals.RefusalMiddleware` maps them to a page with the right status.
A view that re-shows its form with the reasons catches them itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


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
