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
