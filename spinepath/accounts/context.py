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
