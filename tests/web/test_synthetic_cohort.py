"""The synthetic cohort (spinepath demo-data): dashboard records with a coherent history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.timezone import localdate
from shared_world import on_the_suite_day, shared_world

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.outcomes.synthetic import FIRST, generate_cohort
from spinepath.patients.models import SYNTHETIC_ID_PREFIX, Patient
from spinepath.plans.models import CarePlan, Procedure

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def cohort_for_the_module(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    """The cohort, made once for the module's tests (tests/shared_world.py)."""
    with shared_world(django_db_blocker):
        with on_the_suite_day():
            count = generate_cohort(80, seed=11, today=TODAY)
        yield count


@pytest.fixture
def cohort(db: Any, cohort_for_the_module: int) -> int:
    """80 treated patients; each test's changes are rolled back after it."""
    return cohort_for_the_module


def test_the_cohorts_clinicians_cannot_sign_in(cohort: int) -> None:
    clinicians = User.objects.filter(username__startswith="synthetic.clinician")
    assert clinicians.count() == 3
    for user in clinicians:
        assert not user.has_usable_password()
        for password in ("synthetic-" + "x" * 12, "", user.username):
            page = Client().post(
                "/accounts/login/", {"username": user.username, "password": password}, follow=True
            )
            assert not page.wsgi_request.user.is_authenticated
            assert b"Sign in" in page.content


def test_a_cohort_made_before_loses_its_clinicians_passwords(db: Any) -> None:
    staff_user_create(
        actor=Actor.system(),
        username="synthetic.clinician0",
        password="synthetic-" + "x" * 12,
        role="clinician",
    )
    generate_cohort(5, today=TODAY)
    assert not User.objects.get(username="synthetic.clinician0").has_usable_password()


def test_single_target_patients_keep_their_generator_at_every_visit(cohort: int) -> None:
    single = ReassessmentVisit.objects.filter(target_count=1)
    assert single.exists()
    assert not single.filter(generator="multiple").exists()
    for plan_id in single.values_list("plan_id", flat=True).distinct():
        labels = set(single.filter(plan_id=plan_id).values_list("generator", flat=True))
        assert len(labels) == 1 and labels <= {"discogenic", "facet", "myoligamentous"}
    assert set(
        ReassessmentVisit.objects.filter(target_count__gt=1).values_list("generator", flat=True)
    ) == {"multiple"}


def test_every_synthetic_history_reads_in_order(cohort: int) -> None:
    plans = CarePlan.objects.select_related("decision__encounter")
    assert plans.count() == cohort
    for plan in plans:
        consulted = plan.decision.encounter.assessed_on
        injected = Procedure.objects.filter(plan=plan).values_list("performed_on", flat=True)
        assert localdate(plan.decision.signed_at) == consulted
        assert plan.accepted_at is not None
        assert consulted <= localdate(plan.created_at) <= localdate(plan.accepted_at)
        assert all(localdate(plan.accepted_at) < day for day in injected)
        measured = OutcomeMeasurement.objects.filter(visit__plan=plan)
        assert all(min(injected) < m.measured_on <= TODAY for m in measured)


def test_names_agree_with_the_recorded_sex(cohort: int) -> None:
    for patient in Patient.objects.filter(external_id__startswith="synthetic-"):
        assert patient.given_name in FIRST[patient.sex], patient


VISIT_FIELDS = (
    *("key", "label", "position", "due", "opens", "closes", "optional", "anchor_id"),
    *("injected_on", "generator", "prognosis_tier", "target_count", "material", "clinician_id"),
)


def test_the_cohorts_visits_are_laid_out_as_the_clinics_own_writes_lay_them_out(
    cohort: int,
) -> None:
    """Rescheduling a synthetic course through the clinic's own code (what recording an
    injection runs) finds nothing to move: one way of laying out visits, not two."""
    from spinepath.followup.schedule import schedule_for_plan

    plans = CarePlan.objects.filter(patient__external_id__startswith=SYNTHETIC_ID_PREFIX)[:15]
    assert plans
    for plan in plans:
        before = list(
            ReassessmentVisit.objects.filter(plan=plan).order_by("key").values(*VISIT_FIELDS)
        )
        with on_the_suite_day():
            schedule_for_plan(plan)
        after = list(
            ReassessmentVisit.objects.filter(plan=plan).order_by("key").values(*VISIT_FIELDS)
        )
        assert before and before == after, plan.pk
