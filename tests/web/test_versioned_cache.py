"""Figures kept per data version (spinepath/web/versioned.py): computed once when many want
them at once, and never served after the data changed."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from spinepath.web.versioned import Versioned

# The figures of these tests are "read" from the patients' table: its version is their key.
TABLES = ("patients_patient",)


def change_the_patients() -> None:
    """A patient added, then renamed by SQL typed by hand (the table's trigger hears both)."""
    from datetime import date

    from django.db import connection
    from web_helpers import acting

    from spinepath.patients.services import patient_create

    patient = patient_create(
        actor=acting(None),
        details={
            "family_name": "Lopez",
            "given_name": "Maria",
            "birth_date": date(1970, 5, 1),
            "sex": "female",
        },
    )
    figures_key = Versioned("test-probe", TABLES).version()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET family_name = 'Lopes' WHERE id = %s", [patient.pk]
        )
    assert Versioned("test-probe", TABLES).version() != figures_key


@pytest.mark.django_db(transaction=True)
def test_many_requests_at_once_compute_the_figures_once_and_all_get_them() -> None:
    figures = Versioned("test-single-flight", TABLES)
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.3)  # as the dashboard's aggregates at 100,000 patients, shorter
        return {"patients": 42}

    results: list[Any] = []

    def request() -> None:
        from django.db import connection

        try:
            results.append(figures.cached("day", compute))
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"patients": 42}] * 8
    assert len(calls) == 1


@pytest.mark.django_db
def test_a_change_makes_the_next_read_compute_again() -> None:
    figures = Versioned("test-change", TABLES)
    values = iter([1, 2])
    assert figures.cached("n", lambda: next(values)) == 1
    assert figures.cached("n", lambda: 99) == 1
    change_the_patients()
    assert figures.cached("n", lambda: next(values)) == 2


@pytest.mark.django_db
def test_a_computation_that_fails_lets_the_next_request_compute() -> None:
    figures = Versioned("test-failure", TABLES)

    def broken() -> int:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        figures.cached("n", broken)
    started = time.monotonic()
    assert figures.cached("n", lambda: 7) == 7
    assert time.monotonic() - started < 1  # no wait for a claim that was given up


@pytest.mark.django_db
def test_a_claim_whose_request_died_holds_the_others_up_for_seconds_only() -> None:
    """A worker killed while computing leaves its claim behind (in the shared cache, which
    outlives it): the next request waits no longer than the claim, then computes itself."""
    from django.core.cache import cache

    figures = Versioned("test-dead-claim", TABLES)
    from spinepath.versions.triggers import code_version

    key = f"test-dead-claim:day:{figures.version()}:{code_version()}"
    # As a worker that claimed at once and was then killed (the claim lapses in 2 seconds).
    cache.add(f"{key}:computing", time.time() + 2, 3)
    started = time.monotonic()
    assert figures.cached("day", lambda: "computed here") == "computed here"
    assert 1.5 < time.monotonic() - started < 5


@pytest.mark.django_db
def test_the_claim_lasts_a_few_times_what_the_value_last_took() -> None:
    from django.core.cache import cache

    from spinepath.versions.triggers import code_version
    from spinepath.web import versioned

    figures = Versioned("test-claim-length", TABLES)
    claims: list[float] = []

    def compute() -> int:
        claims.append(
            cache.get(f"test-claim-length:n:{figures.version()}:{code_version()}:computing")
        )
        return 1

    cache.set("test-claim-length:n:took", 4.0, None)
    before = time.time()
    figures.cached("n", compute)
    assert 11 < claims[0] - before < 13  # three times 4 seconds
    change_the_patients()
    cache.set("test-claim-length:n:took", 60.0, None)
    before = time.time()
    figures.cached("n", compute)
    assert claims[1] - before <= versioned.MAX_CLAIM_SECONDS + 1
