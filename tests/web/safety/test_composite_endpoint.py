"""Safety as an outcome (PATHWAY.md section 10, issue 26), the trials' composite endpoint at 12
and 24 months: pain at least 50% and ODI at least 15 points lower, failed by a re-intervention
before the visit, counted the same on the dashboard, in the export and in the report. (The
adverse event rates per material, product and lot: test_safety_as_an_outcome.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from shared_world import on_the_suite_day, shared_world
from treatment_helpers import treated
from web_helpers import acting, new_clinician

from spinepath.patients.models import Patient
from spinepath.plans.models import Procedure
from spinepath.safety import services

pytestmark = pytest.mark.django_db


def _surgery(clinician: Any, patient: Any, day: Any) -> None:
    services.reintervention_record(
        actor=acting(clinician),
        patient=patient,
        procedure_id=Procedure.objects.get(patient=patient).pk,
        kind="surgery",
        performed_on=day,
        level="L4-L5",
        side="",
        description="L4-L5 fusion",
        source="reported_at_follow_up",
    )


def _answers(clinician: Any, patient: Any, pain: float, after_due: int = 0) -> Any:
    from spinepath.followup.models import ReassessmentVisit
    from spinepath.followup.services import Answers, paper_form_enter

    visit = ReassessmentVisit.objects.get(patient=patient, key="12m")
    paper_form_enter(
        actor=acting(clinician),
        visit=visit,
        measured_on=visit.due + timedelta(days=after_due),
        answers=Answers(pain, "vas", [0] * 10),
    )
    return visit.due + timedelta(days=after_due)


def _twelve_months(clinician: Any) -> dict[str, Any]:
    """Five patients injected about 15 months ago (their 12-month windows have closed), from a
    baseline of pain 70 and ODI 49: answers of pain 20 and ODI 0 meet the composite."""
    patients = {
        name: treated(clinician, days_ago=days, email=f"{name}@example.org")
        for name, days in (
            ("met", 450),
            ("met_then_surgery", 451),
            ("surgery_then_met", 452),
            ("surgery_not_measured", 453),
            ("lost", 454),
        )
    }
    measured = _answers(clinician, patients["met"], 20)
    _answers(clinician, patients["met_then_surgery"], 20)
    _surgery(clinician, patients["met_then_surgery"], timezone.localdate() - timedelta(days=20))
    measured = _answers(clinician, patients["surgery_then_met"], 20, after_due=10)
    _surgery(clinician, patients["surgery_then_met"], measured - timedelta(days=5))
    _surgery(clinician, patients["surgery_not_measured"], measured - timedelta(days=30))
    return patients


@pytest.fixture(scope="module")
def twelve_months_for_the_module(
    django_db_setup: Any, django_db_blocker: Any
) -> Iterator[tuple[int, dict[str, int]]]:
    """The clinician and the five patients, made once for the module's tests
    (tests/shared_world.py): (the clinician's id, each patient's id)."""
    with shared_world(django_db_blocker), on_the_suite_day():
        clinician = new_clinician()
        patients = _twelve_months(clinician)
        yield clinician.pk, {name: patient.pk for name, patient in patients.items()}


@pytest.fixture
def clinician(db: Any, twelve_months_for_the_module: tuple[int, dict[str, int]]) -> Any:
    """The clinician who treated them (tests/web/conftest.py's), read afresh for each test."""
    return User.objects.get(pk=twelve_months_for_the_module[0])


@pytest.fixture
def twelve_months(
    db: Any, twelve_months_for_the_module: tuple[int, dict[str, int]]
) -> dict[str, Patient]:
    """The five patients, read afresh for each test; each test's changes are rolled back after
    it."""
    return {
        name: Patient.objects.get(pk=pk) for name, pk in twelve_months_for_the_module[1].items()
    }


def test_a_re_intervention_before_the_visit_fails_the_composite_and_is_never_lost(
    twelve_months: dict[str, Any], clinician_client: Client
) -> None:
    summaries = {s.key: s for s in clinician_client.get("/outcomes/").context["summaries"]}
    assert summaries["6m"].composite is None  # the trials score 12 and 24 months only
    twelve = summaries["12m"].composite
    assert twelve is not None
    # Met: "met" and "met_then_surgery" (the surgery came after the answers). Failed by a
    # re-intervention: "surgery_then_met" (measures passed) and "surgery_not_measured".
    assert (twelve.rate.successes, twelve.rate.n, twelve.reintervened) == (2, 4, 2)
    assert (twelve.loss.measured, twelve.loss.lost) == (4, 1)  # only "lost" is lost
    assert (twelve.loss.worst, twelve.loss.best) == (2 / 5, 3 / 5)
    assert twelve.rate.low is not None and twelve.rate.low < 0.5 < (twelve.rate.high or 0)
    page = clinician_client.get("/outcomes/").content.decode()
    assert "Composite endpoint at 12 and 24 months" in page
    assert "pain at least 50% lower and ODI at least 15 points lower" in page


def test_the_export_and_the_report_count_the_composite_as_the_dashboard_does(
    twelve_months: dict[str, Any], clinician_client: Client
) -> None:
    import csv
    import io

    from spinepath.outcomes.report import deidentified_rows, report_from_rows
    from spinepath.outcomes.selectors import Filters, visit_summaries
    from spinepath.web.policy import clinic_policy

    today = timezone.localdate()
    response = clinician_client.get("/outcomes/export/cohort.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_patient = {
        (row["patient"], row["visit"]): row for row in rows if row["visit"] in ("6m", "12m")
    }
    expected = {
        "met": ("yes", "no", ""),
        "met_then_surgery": ("yes", "no", "x"),
        "surgery_then_met": ("no", "yes", "x"),
        "surgery_not_measured": ("no", "yes", "x"),
        "lost": ("", "no", ""),
    }
    for name, (composite, reintervened, on) in expected.items():
        row = by_patient[(twelve_months[name].mrn, "12m")]
        assert (row["composite"], row["reintervened"]) == (composite, reintervened), name
        assert bool(row["reintervention_on"]) == bool(on), name
        assert by_patient[(twelve_months[name].mrn, "6m")]["composite"] == ""
    dashboard = visit_summaries(Filters(), today)
    report = report_from_rows(deidentified_rows(today), clinic_policy())
    for d, r in zip(dashboard, report.summaries, strict=True):
        assert d.composite == r.composite, d.key
    dictionary = b"".join(clinician_client.get("/outcomes/export/dictionary.csv").streaming_content)
    assert b"reintervention_on" in dictionary and b"composite endpoint" in dictionary


def test_the_composite_takes_a_fixed_number_of_queries(
    twelve_months: dict[str, Any], clinician: Any
) -> None:
    from spinepath.outcomes.selectors import Filters, visit_summaries
    from spinepath.web.policy import clinic_policy

    def queries() -> int:
        # The clinic's policy as every call finds it, read already: each process asks the
        # database again every two seconds of the real clock (spinepath/web/policy.py), which
        # is not a query of the composite's.
        clinic_policy()
        with CaptureQueriesContext(connection) as captured:
            visit_summaries(Filters(), timezone.localdate())
        return len(captured)

    before = queries()
    _surgery(clinician, twelve_months["lost"], timezone.localdate() - timedelta(days=3))
    _surgery(clinician, twelve_months["met"], timezone.localdate() - timedelta(days=2))
    assert queries() == before
