"""Data that a test module's tests share, built once for the module instead of once per test.

A module-scoped fixture builds it inside ``shared_world``: a transaction that is rolled back when
the module's tests are done. Each test that asks for ``db`` runs in a savepoint of it, rolled
back after the test, so every test starts from the same data and none sees another's changes.
The module's tests that do not ask for the fixture run before it is built (tests/conftest.py
orders them), so no other test ever sees its data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import time_machine
from suite_clock import SUITE_TODAY


@contextmanager
def shared_world(django_db_blocker: Any) -> Iterator[None]:
    """The transaction the module's data lives in (rolled back at the end), with the starting
    price list in it, as each test has it (tests/conftest.py: default_prices); built, as a
    test's own fixtures are, with an empty cache and the clinic's policy file in force
    (tests/conftest.py: empty_cache), not with what the test before it left there."""
    from django.core.cache import cache
    from django.db import transaction

    from spinepath.plans.defaults import ensure_default_prices
    from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion
    from spinepath.web.policy import forget_policy

    cache.clear()
    forget_policy()
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            with on_the_suite_day():
                ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)
            yield
        finally:
            transaction.set_rollback(True)


@contextmanager
def on_the_suite_day() -> Iterator[None]:
    """Build the data at the suite's moment (tests/suite_clock.py), the day each test runs on."""
    with time_machine.travel(SUITE_TODAY, tick=False):
        yield
