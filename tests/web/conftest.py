"""Fixtures for the web application: a user per role and patients with recorded workups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from pacs_helpers import orthanc_running
from web_helpers import import_encounter, new_admin, new_clinician, new_coordinator, signed_in

from spinepath.consultations.models import Encounter


@pytest.fixture
def clinician(db: Any) -> Any:
    return new_clinician()


@pytest.fixture
def coordinator(db: Any) -> Any:
    return new_coordinator()


@pytest.fixture
def admin_user(db: Any) -> Any:
    return new_admin()


def logged_in(user: Any) -> Client:
    return signed_in(user)


@pytest.fixture
def clinician_client(clinician: Any) -> Client:
    return logged_in(clinician)


@pytest.fixture
def coordinator_client(coordinator: Any) -> Client:
    return logged_in(coordinator)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    return logged_in(admin_user)


@pytest.fixture
def candidate_encounter(clinician: Any) -> Encounter:
    return import_encounter(clinician)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PACS (Orthanc with DICOMweb) for the module's tests; skipped where not installed."""
    with orthanc_running(tmp_path_factory) as base:
        yield base
