"""Django's file cache (the default shared cache of one machine's workers), culled at most once
every CULL_SECONDS in each process. Django's lists the whole cache folder on every write to see
whether it is full: with the kept pages (spinepath/web/kept.py) it holds thousands of entries,
and every write paid milliseconds for the listing."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache.backends.filebased import FileBasedCache

CULL_SECONDS = 30.0


class FileCache(FileBasedCache):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._culled_at = float("-inf")

    def _cull(self) -> None:
        now = time.monotonic()
        if now - self._culled_at < CULL_SECONDS:
            return
        self._culled_at = now
        super()._cull()
