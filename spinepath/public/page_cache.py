"""The public indication pages, whole, from the shared cache, for visitors without cookies.

The page is the same for every such visitor (no form, no session, nothing about anyone), so it
is rendered once per version of its protocol file and served from the cache before the rest of
the middleware runs. A request with a cookie (a signed-in person, a visitor who used a form) or
a query string always goes through the whole application, and only a 200 that sets no cookie
is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from spinepath.public.protocols import DEFAULT_PROTOCOL, protocol_version

NOT_PROTOCOLS = {"screen", "request"}
MAX_AGE = 3600


def _key(request: HttpRequest) -> str | None:
    if request.method not in ("GET", "HEAD") or request.COOKIES or request.META.get("QUERY_STRING"):
        return None
    path = request.path_info
    if path == "/":
        slug = DEFAULT_PROTOCOL
    elif path.startswith("/public/") and path.endswith("/") and path.count("/") == 3:
        slug = path[len("/public/") : -1]
        if slug in NOT_PROTOCOLS:
            return None
    else:
        return None
    try:
        version = protocol_version(slug)
    except KeyError:
        return None
    return f"public-page:{slug}:{version}:{int(settings.SPINEPATH_DEMO)}"


# Each process also keeps the pages it served for a minute (under the same key, which names
# the protocol file's version): reading and unpacking the shared cache's copy was most of
# such a request's time.
LOCAL_SECONDS = 60


class PublicPageCache:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.local: dict[str, tuple[float, Any]] = {}

    def _kept(self, key: str) -> Any:
        now = time.monotonic()
        local = self.local.get(key)
        if local is not None and now - local[0] < LOCAL_SECONDS:
            return local[1]
        kept = cache.get(key)
        if kept is not None:
            if len(self.local) > 64:
                self.local.clear()
            self.local[key] = (now, kept)
        return kept

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = _key(request)
        if key is not None:
            kept = self._kept(key)
            if kept is not None:
                headers, body = kept
                return HttpResponse(body, headers=dict(headers))
        response = self.get_response(request)
        if (
            key is not None
            and response.status_code == 200
            and not response.cookies
            and not response.streaming
        ):
            cache.set(key, (list(response.items()), response.content), MAX_AGE)
        return response
