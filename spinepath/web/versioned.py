"""Figures kept in the shared cache per *version* of the data they are computed from.

A version is a token in the shared cache. Whatever changes the data calls :meth:`changed`,
which replaces the token at once and again after the commit: a request that read the old data
before the commit and stored its figures under the first new token is not believed after it.
An entry also lives at most ``max_age``, a safety net for a change made without a signal.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

# How long a request waits for the value another one is computing, and how long that claim
# lasts if its request dies mid-way.
WAIT_SECONDS = 30
COMPUTING_SECONDS = 60
_CLAIMS = threading.Lock()


class Versioned:
    def __init__(self, prefix: str, max_age: int = 15 * 60) -> None:
        self.prefix = prefix
        self.key = f"{prefix}:data-version"
        self.max_age = max_age

    def version(self) -> str:
        version = cache.get(self.key)
        if version is None:
            with _CLAIMS:
                cache.add(self.key, secrets.token_hex(8), None)
                version = cache.get(self.key) or "unknown"
        return str(version)

    def bump(self) -> None:
        cache.set(self.key, secrets.token_hex(8), None)

    def changed(self, **_: Any) -> None:
        """A signal receiver: the data changed, every figure computed from it is old."""
        self.bump()
        transaction.on_commit(self.bump)

    def cached(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, or its value for the same version of the data (``name`` says what it
        is, and anything else the value depends on, such as the day).

        One request computes a missing value while the others that want it wait for it (up
        to ``WAIT_SECONDS``), rather than every open page computing the same figures at once
        after a change: at 100,000 patients the dashboard's take a second of a core each, and
        sixteen of them at once kept pages waiting for seconds. Who computes is settled by the
        shared cache's ``add`` (atomic on Redis and the database cache; on the file cache two
        processes may both compute, which costs time, never correctness)."""
        key = f"{self.prefix}:{name}:{self.version()}"
        value = cache.get(key)
        if value is not None:
            return value  # type: ignore[no-any-return]
        computing = f"{key}:computing"
        with _CLAIMS:  # threads of one process claim one at a time (the file cache's add
            claimed = cache.add(computing, 1, COMPUTING_SECONDS)  # is not atomic)
        if not claimed:
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.02)
                value = cache.get(key)
                if value is not None:
                    return value  # type: ignore[no-any-return]
                if cache.get(computing) is None:
                    break  # the one computing stopped without a value: compute here
        try:
            value = compute()
            cache.set(key, value, self.max_age)
        finally:
            if claimed:
                cache.delete(computing)
        return value
