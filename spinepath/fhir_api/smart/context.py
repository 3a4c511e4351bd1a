"""The registered apps staff may open from a chart or a review page ("Open in ..."), on every
staff page's context; looked up only by a page that shows them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from spinepath.accounts.middleware import past_second_factor
from spinepath.accounts.roles import is_staff_member


def launchable_apps(request: HttpRequest) -> dict[str, Any]:
    if not is_staff_member(request.user) or not past_second_factor(request.user):
        return {}
    from spinepath.fhir_api.smart.launch import launchable_apps as apps

    return {"smart_launch_apps": apps}  # a callable: the template asks for it only where shown
