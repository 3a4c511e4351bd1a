"""Pages with patient data are never stored by the browser or a proxy.

Every response from a view is ``Cache-Control: no-store`` unless the view chose its own caching
(static files are served before this, by WhiteNoise, with their long cache lifetimes). After
signing out, the Back button cannot bring a chart or a search back from the browser's cache.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PrivateByDefaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
