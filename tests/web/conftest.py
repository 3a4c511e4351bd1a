"""Fixtures for the web application: a user per role and patients with recorded workups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from pacs_helpers import orthanc_running
from web_helpers import PASSWORD, import_encounter, signed_in

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.models import Encounter


@pytest.fixture
def clinician(db: Any) -> Any:
    return staff_user_create(
        actor=Actor.system(),
        username="clin",
        password=PASSWORD,
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )


@pytest.fixture
def coordinator(db: Any) -> Any:
    return staff_user_create(
        actor=Actor.system(), username="coord", password=PASSWORD, role="coordinator"
    )


@pytest.fixture
def admin_user(db: Any) -> Any:
    return staff_user_create(
        actor=Actor.system(), username="boss", password=PASSWORD, role="clinic_admin"
    )


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
