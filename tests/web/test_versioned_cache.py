"""Figures kept per data version (spinepath/web/versioned.py): computed once when many want
them at once, and never served after the data changed."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from spinepath.web.versioned import Versioned


def test_many_requests_at_once_compute_the_figures_once_and_all_get_them() -> None:
    figures = Versioned("test-single-flight")
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.3)  # as the dashboard's aggregates at 100,000 patients, shorter
        return {"patients": 42}

    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(figures.cached("day", compute)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"patients": 42}] * 8
    assert len(calls) == 1


def test_a_change_makes_the_next_read_compute_again() -> None:
    figures = Versioned("test-change")
    values = iter([1, 2])
    assert figures.cached("n", lambda: next(values)) == 1
    assert figures.cached("n", lambda: 99) == 1
    figures.bump()
    assert figures.cached("n", lambda: next(values)) == 2


def test_a_computation_that_fails_lets_the_next_request_compute() -> None:
    figures = Versioned("test-failure")

    def broken() -> int:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        figures.cached("n", broken)
    started = time.monotonic()
    assert figures.cached("n", lambda: 7) == 7
    assert time.monotonic() - started < 1  # no wait for a claim that was given up


def test_a_claim_whose_request_died_holds_the_others_up_for_seconds_only() -> None:
    """A worker killed while computing leaves its claim behind (in the shared cache, which
    outlives it): the next request waits no longer than the claim, then computes itself."""
    from django.core.cache import cache

    figures = Versioned("test-dead-claim")
    key = f"test-dead-claim:day:{figures.version()}"
    # As a worker that claimed at once and was then killed (the claim lapses in 2 seconds).
    cache.add(f"{key}:computing", time.time() + 2, 3)
    started = time.monotonic()
    assert figures.cached("day", lambda: "computed here") == "computed here"
    assert 1.5 < time.monotonic() - started < 5


def test_the_claim_lasts_a_few_times_what_the_value_last_took() -> None:
    from django.core.cache import cache

    from spinepath.web import versioned

    figures = Versioned("test-claim-length")
    claims: list[float] = []

    def compute() -> int:
        claims.append(cache.get(f"test-claim-length:n:{figures.version()}:computing"))
        return 1

    cache.set("test-claim-length:n:took", 4.0, None)
    before = time.time()
    figures.cached("n", compute)
    assert 11 < claims[0] - before < 13  # three times 4 seconds
    figures.bump()
    cache.set("test-claim-length:n:took", 60.0, None)
    before = time.time()
    figures.cached("n", compute)
    assert claims[1] - before <= versioned.MAX_CLAIM_SECONDS + 1
