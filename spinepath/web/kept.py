"""Parts of pages kept in the shared cache under the versions of the facts they show
(spinepath/versions/triggers.py): computed once per version, then served as they are.

A kept part holds nothing of the request: its forms carry a placeholder that each response
replaces with the request's own CSRF token, and one-time keys stay outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

T = TypeVar("T")

# What a kept part's forms hold in place of the CSRF token.
CSRF_PLACEHOLDER = "kept-part-csrf-token-0c5e7d1a"
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
    return render_to_string(template, {**context, "csrf_token": CSRF_PLACEHOLDER})


def shown(request: HttpRequest, html: str, more: Mapping[str, str] | None = None) -> SafeString:
    """A kept part as this request shows it: with its own CSRF token, and ``more``
    placeholders filled in (each with HTML already escaped)."""
    html = html.replace(CSRF_PLACEHOLDER, str(get_token(request)))
    for placeholder, text in (more or {}).items():
        html = html.replace(placeholder, text)
    return mark_safe(html)  # rendered by us, from escaped parts
