from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from spinepath.accounts.roles import CLINIC_ADMIN, CLINICIAN, COORDINATOR, role_names


def roles(request: HttpRequest) -> dict[str, Any]:
    names = role_names(request.user)
    user = request.user
    return {
        # The names as one unambiguous value for the kept header's key (templates/base.html):
        # the cache tag joins its values with ":", which a name may hold.
        "user_names_key": json.dumps(
            [
                getattr(user, "username", ""),
                getattr(user, "first_name", ""),
                getattr(user, "last_name", ""),
            ]
        ),
        "is_clinician": CLINICIAN in names,
        "is_coordinator": COORDINATOR in names,
        "is_clinic_admin": CLINIC_ADMIN in names,
        "user_roles": sorted(names),
    }


def mode(request: HttpRequest) -> dict[str, Any]:
    """Demo mode's banner, production's warning when no mail server is configured, and
    whether the user is past the second factor."""
    from django.conf import settings

    from spinepath.accounts.middleware import past_second_factor
    from spinepath.versions.triggers import code_version

    return {
        # The build of the code and templates: the page's kept header is laid out again after
        # an upgrade (templates/base.html).
        "code_version": code_version(),
        "signed_in": past_second_factor(request.user),
        "demo_mode": settings.SPINEPATH_DEMO,
        "mail_not_sent": not settings.SPINEPATH_DEMO and not settings.SPINEPATH_SMTP_HOST,
    }
