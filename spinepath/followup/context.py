from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from spinepath.accounts.middleware import past_second_factor
from spinepath.accounts.roles import is_staff_member


def open_items(request: HttpRequest) -> dict[str, Any]:
    """The count of follow-up visits waiting for a measurement, and of patients' worrying
    safety answers waiting for a clinician, on every staff page."""
    if not is_staff_member(request.user) or not past_second_factor(request.user):
        return {}
    from spinepath.followup.services import open_item_count
    from spinepath.safety.selectors import open_review_count

    return {
        "open_followups": open_item_count(timezone.localdate()),
        "open_safety": open_review_count(),
    }
