"""One record per submission of a create form: a double click, a resent post or parallel posts
of the same form create once.

Each create form carries a key made when the form is shown (:class:`OncePerSubmission`); the
record it creates stores the key under a unique constraint, so a repeat finds the first record
(and a parallel repeat fails its insert and finds it) instead of making a second one.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django import forms

SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
EXPIRED = "This form has expired: reload the page and enter it again."


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


def valid_submission_key(key: str | None) -> bool:
    return key is not None and SUBMISSION_KEY.fullmatch(key) is not None


class OncePerSubmission(forms.Form):
    """A form mixin: a hidden ``submission`` key, new each time the form is shown unbound."""

    submission = forms.RegexField(
        regex=rf"^{SUBMISSION_KEY.pattern}$",
        widget=forms.HiddenInput,
        error_messages={"required": EXPIRED, "invalid": EXPIRED},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission", new_submission_key())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "submission" in self.errors:
            # A hidden field's error is shown at the top of the form, not beside the field.
            self.add_error(None, EXPIRED)
        return cleaned
