"""Figures kept in the shared cache per *version* of the data they are computed from.

A version is a token in the shared cache. Whatever changes the data calls :meth:`changed`,
which replaces the token at once and again after the commit: a request that read the old data
before the commit and stored its figures under the first new token is not believed after it.
An entry also lives at most ``max_age``, a safety net for a change made without a signal.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


class Versioned:
    def __init__(self, prefix: str, max_age: int = 15 * 60) -> None:
        self.prefix = prefix
        self.key = f"{prefix}:data-version"
        self.max_age = max_age

    def version(self) -> str:
        version = cache.get(self.key)
        if version is None:
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
        is, and anything else the value depends on, such as the day)."""
        key = f"{self.prefix}:{name}:{self.version()}"
        value = cache.get(key)
        if value is None:
            value = compute()
            cache.set(key, value, self.max_age)
        return value  # type: ignore[no-any-return]
