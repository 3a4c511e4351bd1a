"""The public indication pages, whole, from the shared cache, for visitors without cookies.

The page is the same for every such visitor (no form, no session, nothing about anyone), so it
is rendered once per version of its protocol file and served from the cache before the rest of
the middleware runs. A request with a cookie (a signed-in person, a visitor who used a form) or
a query string always goes through the whole application, and only a 200 that sets no cookie
is kept.
"""

from __future__ import annotations

from collections.abc import Callable

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


class PublicPageCache:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = _key(request)
        if key is not None:
            kept = cache.get(key)
            if kept is not None:
                headers, body = kept
                response = HttpResponse(body)
                for name, value in headers:
                    response[name] = value
                return response
        response = self.get_response(request)
        if (
            key is not None
            and response.status_code == 200
            and not response.cookies
            and not response.streaming
        ):
            cache.set(key, (list(response.items()), response.content), MAX_AGE)
        return response
