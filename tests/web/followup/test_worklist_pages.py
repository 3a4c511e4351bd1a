"""The follow-up worklist a page at a time: the count, the pages, the filters kept, and a number
of queries that does not grow with the cohort."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from spinepath.followup.models import ReassessmentVisit
from spinepath.outcomes.synthetic import generate_cohort


def _queries(client: Client, path: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, len(queries)


def test_the_worklist_pages_through_every_visit_with_few_queries(
    coordinator_client: Client,
) -> None:
    generate_cohort(30)
    total = ReassessmentVisit.objects.count()
    assert total > 100
    coordinator_client.get("/worklist/")  # the session's first request renews it
    first, small = _queries(coordinator_client, "/worklist/?state=done&sort=due")
    done = ReassessmentVisit.objects.filter(measurement__isnull=False).count()
    assert f"Showing 1–50 of {done} visits." in first.content.decode()
    assert len(first.context["rows"]) == 50
    assert 'href="?state=done&amp;sort=due&amp;page=2"' in first.content.decode()
    second = coordinator_client.get("/worklist/?state=done&sort=due&page=2")
    assert f"Showing 51–{min(100, done)} of {done}" in second.content.decode()
    shown = {v.pk for v, _ in first.context["rows"]} | {v.pk for v, _ in second.context["rows"]}
    assert len(shown) == min(100, done)
    generate_cohort(30, seed=7)
    coordinator_client.get("/worklist/?state=open")  # the menu's count, anew for the new data
    _, more = _queries(coordinator_client, "/worklist/?state=done&sort=due")
    assert more <= small  # no more queries with twice the cohort


def test_a_page_past_the_end_shows_the_last_page(coordinator_client: Client) -> None:
    generate_cohort(5)
    response = coordinator_client.get("/worklist/?state=done&page=999")
    assert response.status_code == 200
    assert response.context["page"].number == response.context["page"].paginator.num_pages


def test_the_counts_follow_a_measurement_at_once(
    clinician: Any, coordinator_client: Client
) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from treatment_helpers import treated
    from web_helpers import acting

    from spinepath.followup.services import Answers, paper_form_enter

    patient = treated(clinician, 45)  # the 6-week visit is open
    page = coordinator_client.get("/worklist/")
    assert page.context["open_followups"] == 1
    assert "Showing 1–1 of 1 visit." in page.content.decode()
    paper_form_enter(
        actor=acting(clinician),
        visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
        measured_on=timezone.localdate() - timedelta(days=1),
        answers=Answers(40, "vas", [2] * 10),
    )
    page = coordinator_client.get("/worklist/")
    assert not page.context.get("open_followups")
    assert "Nothing here today." in page.content.decode()


def test_a_renamed_patient_moves_in_the_worklist_sorted_by_patient(
    coordinator_client: Client,
) -> None:
    from spinepath.patients.models import Patient

    generate_cohort(12)
    first = coordinator_client.get("/worklist/?state=done&sort=patient").context["rows"][0][0]
    patient = Patient.objects.get(pk=first.patient_id)
    patient.family_name = "Zzyzx"
    patient.save()
    rows = coordinator_client.get("/worklist/?state=done&sort=patient").context["rows"]
    assert rows[0][0].patient_id != patient.pk
