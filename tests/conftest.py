"""Fixtures for every test that uses the database."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

# The example workups are dated around this day; the suite runs as if it were today, so that
# "the MRI is still recent" and "the window is open" mean the same next year as now.
SUITE_TODAY = "2026-11-24 10:00:00-05:00"


@pytest.fixture(autouse=True)
def suite_clock() -> Any:
    with time_machine.travel(SUITE_TODAY, tick=True):
        yield


@pytest.fixture(autouse=True)
def default_prices(request: Any) -> None:
    """The starting price list, also after a transactional test has flushed the database."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        return
    transactional = "transactional_db" in names or bool(
        marker is not None and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from spinepath.plans.defaults import ensure_default_prices
    from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion

    ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)
