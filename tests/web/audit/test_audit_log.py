"""The audit log: who viewed or changed which patient's data, when and from where."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.test import Client

from spinepath.audit.models import AppendOnlyError, AuditEvent


def test_viewing_a_chart_is_audited(clinician_client: Client, candidate_encounter: Any) -> None:
    clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    event = AuditEvent.objects.filter(action="view", what="chart").get()
    assert event.username == "clin"
    assert event.patient_id == candidate_encounter.patient_id
    assert event.address == "127.0.0.1"


def test_audit_log_is_for_the_clinic_admin_only(
    admin_client: Client, coordinator_client: Client, candidate_encounter: Any
) -> None:
    assert coordinator_client.get("/audit/").status_code == 403
    response = admin_client.get(f"/audit/?patient={candidate_encounter.patient_id}")
    assert response.status_code == 200
    assert b"Imported" in response.content


def test_audit_log_filters_by_user(
    admin_client: Client,
    clinician_client: Client,
    coordinator_client: Client,
    candidate_encounter: Any,
) -> None:
    clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    coordinator_client.get(f"/patients/{candidate_encounter.patient_id}/")
    page = admin_client.get("/audit/?user=coord").context["page"]
    assert {e.username for e in page} == {"coord"}


def test_audit_events_are_append_only(candidate_encounter: Any) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    event.what = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_the_database_refuses_to_change_an_audit_event(candidate_encounter: Any) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(username="someone-else")
    assert AuditEvent.objects.get(pk=event.pk).username == event.username


@pytest.mark.parametrize("step", ["history", "exam", "imaging", "review"])
def test_opening_a_consultation_step_is_audited(
    clinician_client: Client, candidate_encounter: Any, step: str
) -> None:
    clinician_client.get(f"/consultations/{candidate_encounter.pk}/{step}/")
    event = AuditEvent.objects.filter(action="view").get()
    assert event.patient_id == candidate_encounter.patient_id
    assert event.path == f"/consultations/{candidate_encounter.pk}/{step}/"


def test_a_change_is_audited_with_who_and_where(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/exam/",
        {"motor_deficit": "none"},
        REMOTE_ADDR="10.1.2.3",
    )
    event = AuditEvent.objects.filter(action="update", what__endswith=": exam").get()
    assert (event.username, event.address) == ("clin", "10.1.2.3")
    # ... one event for the write, holding the record's change with its before and after values
    assert not AuditEvent.objects.filter(what__startswith="encounter").exists()
    [change] = [c for c in event.detail["changes"] if c["what"].startswith("encounter")]
    assert change["before"]["last_step"] == "review"
    assert change["after"]["last_step"] == "exam"


def test_the_log_page_lists_events_newest_first(
    admin_client: Client, clinician_client: Client, candidate_encounter: Any
) -> None:
    clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    page = admin_client.get(f"/audit/?patient={candidate_encounter.patient_id}").context["page"]
    actions = [e.action for e in page]
    # Newest first: the chart just opened, the MRI review after the import, the import.
    assert actions[:2] == ["view", "sign"]
    assert actions.index("import") > actions.index("sign")
