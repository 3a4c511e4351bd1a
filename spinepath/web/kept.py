"""Parts of pages kept in the shared cache under the versions of the facts they show
(spinepath/versions/triggers.py): computed once per version, then served as they are.

A kept part holds nothing of the request: its forms carry a placeholder that each response
replaces with the request's own CSRF token, and one-time keys stay outside it. A placeholder
is derived from the secret key, so no text a user enters can name one (it would be filled in
for every reader: their name, their token).

Every key holds, besides what its page names (the versions of its facts, read before them; the
day; what the viewer may do), the build of the code and data files and the policy in force as
this process sees it: a page computed under one policy is never shown under another.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from spinepath.versions.triggers import code_version
from spinepath.web.policy import policy_digest

T = TypeVar("T")


def placeholder(name: str) -> str:
    """What a kept part holds in place of ``name`` (the same in every worker; secret)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"kept:{name}".encode(), hashlib.sha256)
    return f"kept-{digest.hexdigest()[:32]}"


def kept_key(*parts: object) -> str:
    """The key of a kept part: ``parts`` (the versions of its facts first), the build and the
    policy in force."""
    return ":".join([*(str(p) for p in parts), code_version(), policy_digest()])


# A kept part lives a day at most (keys that depend on the day hold it anyway).
KEPT_SECONDS = 24 * 3600


def kept(key: str, compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for the same key. The key must hold the versions of every
    fact the value shows, read before the facts."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, KEPT_SECONDS)
    return value  # type: ignore[no-any-return]


def render_part(template: str, context: Mapping[str, Any]) -> str:
    """A part of a page rendered without the request (no context processor runs)."""
    return render_to_string(template, {**context, "csrf_token": placeholder("csrf")})


def shown(request: HttpRequest, html: str, more: Mapping[str, str] | None = None) -> SafeString:
    """A kept part as this request shows it: with its own CSRF token, and ``more``
    placeholders filled in (each with HTML already escaped)."""
    html = html.replace(placeholder("csrf"), str(get_token(request)))
    for stands_for, text in (more or {}).items():
        html = html.replace(stands_for, text)
    return mark_safe(html)  # rendered by us, from escaped parts
