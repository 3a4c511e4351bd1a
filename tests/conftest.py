"""Fixtures for every test that uses the database."""

from __future__ import annotations

from typing import Any

import pytest


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
