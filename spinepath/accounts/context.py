from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from spinepath.accounts.roles import CLINIC_ADMIN, CLINICIAN, COORDINATOR, role_names


def roles(request: HttpRequest) -> dict[str, Any]:
    names = role_names(request.user)
    return {
        "is_clinician": CLINICIAN in names,
        "is_coordinator": COORDINATOR in names,
        "is_clinic_admin": CLINIC_ADMIN in names,
        "user_roles": sorted(names),
    }


def mode(request: HttpRequest) -> dict[str, Any]:
    """Demo mode's banner, and production's warning when no mail server is configured."""
    from django.conf import settings

    from spinepath.accounts.middleware import past_second_factor

    return {
        "signed_in": past_second_factor(request.user),
        "demo_mode": settings.SPINEPATH_DEMO,
        "mail_not_sent": not settings.SPINEPATH_DEMO and not settings.SPINEPATH_SMTP_HOST,
    }
