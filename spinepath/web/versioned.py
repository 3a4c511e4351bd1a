"""Figures kept in the shared cache per *version* of the data they are computed from.

The version is that of the tables the figures are read from (spinepath.versions: the
database's own triggers replace a table's version in the transaction of every insert, update
or delete, by any route: a form, an import, a bulk update, SQL typed by hand). It is read
before the rows, so nothing kept is older than its key. An entry also lives at most
``max_age``: figures that depend on the time of day as well as on the data are computed again
that often.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.core.cache import cache

from spinepath.versions.triggers import code_version

T = TypeVar("T")

# A claim to compute a value lasts a few times as long as that value last took to compute
# (at least MIN_CLAIM_SECONDS, at most MAX_CLAIM_SECONDS); a request waiting for it waits no
# longer than the claim, then computes the value itself. A worker that dies mid-way (killed,
# restarted) holds the others up for that long only, and its claim expires with it.
MIN_CLAIM_SECONDS = 2.0
MAX_CLAIM_SECONDS = 20.0
_CLAIMS = threading.Lock()


class Versioned:
    def __init__(self, prefix: str, tables: Sequence[str], max_age: int = 15 * 60) -> None:
        """``tables``: what the figures are read from (each covered by the versions' triggers:
        :func:`spinepath.versions.triggers.table_versions` refuses any other)."""
        self.prefix = prefix
        self.tables = tuple(tables)
        self.max_age = max_age

    def version(self) -> str:
        """The versions of the tables, as one short token: read it before the rows."""
        from spinepath.versions.triggers import table_versions

        return hashlib.sha256(table_versions(*self.tables).encode()).hexdigest()[:16]

    def cached(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, or its value for the same version of the data (``name`` says what it
        is, and anything else the value depends on, such as the day).

        One request computes a missing value while the others that want it wait for it,
        rather than every open page computing the same figures at once after a change: at
        100,000 patients the dashboard's take a second of a core each, and sixteen of them at
        once kept pages waiting for seconds. Who computes is settled by the shared cache's
        ``add`` (atomic on Redis and the database cache; on the file cache two processes may
        both compute, which costs time, never correctness). The claim names when it lapses: a
        few times what the value last took to compute; then a waiting request computes it."""
        # The build too: figures laid out by an earlier release's templates are not shown.
        key = f"{self.prefix}:{name}:{self.version()}:{code_version()}"
        value = cache.get(key)
        if value is not None:
            return value  # type: ignore[no-any-return]
        computing, took = f"{key}:computing", f"{self.prefix}:{name}:took"
        budget = min(MAX_CLAIM_SECONDS, max(MIN_CLAIM_SECONDS, 3 * float(cache.get(took) or 0)))
        # The threads of one process claim one at a time (the file cache's add is not atomic).
        with _CLAIMS:
            claimed = cache.add(computing, time.time() + budget, int(budget) + 1)
        if claimed:
            # Another request may have computed it, and ended its claim, since this one looked.
            value = cache.get(key)
            if value is not None:
                cache.delete(computing)
                return value  # type: ignore[no-any-return]
        else:
            while True:
                time.sleep(0.02)
                value = cache.get(key)
                if value is not None:
                    return value  # type: ignore[no-any-return]
                lapses = cache.get(computing)
                if lapses is None or time.time() > float(lapses):
                    break  # the claim ended without a value (its request failed or died)
        started = time.monotonic()
        try:
            value = compute()
            cache.set(key, value, self.max_age)
            cache.set(took, time.monotonic() - started, None)
        finally:
            if claimed:
                cache.delete(computing)
        return value
