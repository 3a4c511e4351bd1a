"""The audit log is a hash chain: `spinepath audit verify` finds an edited, a deleted and an
inserted row, tampered with directly in the database (triggers lifted, as an insider would)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from spinepath.audit.models import AuditEvent
from spinepath.cli import main
from spinepath.web.immutable import refuse_changes

MESSAGE = "audit events are never changed or deleted"


class _Shim:
    """What the trigger functions need of a schema editor: run a statement."""

    connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def _without_triggers(sql: str, params: list[Any]) -> None:
    forward, backward = refuse_changes("audit_auditevent", MESSAGE)
    backward(None, _Shim())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    forward(None, _Shim())


@pytest.fixture
def log(clinician_client: Client, candidate_encounter: Any) -> list[AuditEvent]:
    for _ in range(3):
        clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) >= 6
    return events


def test_an_intact_log_verifies(log: list[AuditEvent], capsys: Any) -> None:
    assert main(["audit", "verify"]) == 0
    assert f"audit log intact: {len(log)} events" in capsys.readouterr().out


def test_the_database_refuses_update_and_delete(log: list[AuditEvent]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=log[2].pk).update(what="nothing to see")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=log[2].pk).delete()
    assert AuditEvent.objects.count() == len(log)


def test_an_edited_row_is_named(log: list[AuditEvent], capsys: Any) -> None:
    _without_triggers("UPDATE audit_auditevent SET username = %s WHERE id = %s", ["x", log[3].pk])
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at event #{log[3].seq}" in out
    assert "was changed" in out


def test_a_deleted_row_is_found(log: list[AuditEvent], capsys: Any) -> None:
    _without_triggers("DELETE FROM audit_auditevent WHERE id = %s", [log[2].pk])
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at event #{log[3].seq}" in out
    assert "rows are missing" in out


def test_an_inserted_row_is_found(log: list[AuditEvent], capsys: Any) -> None:
    # A row slipped in after #2, copying #3's link: #3's number taken, so the forger shifts.
    last = log[-1]
    _without_triggers(
        "INSERT INTO audit_auditevent (seq, at, username, action, what, path, detail, "
        "prev_hash, hash) VALUES (%s, %s, 'ghost', 'view', 'chart', '', '{}', %s, %s)",
        [last.seq + 1, last.at, "f" * 64, "e" * 64],
    )
    assert main(["audit", "verify"]) == 1
    assert f"BROKEN at event #{last.seq + 1}" in capsys.readouterr().out


def test_a_rolled_back_change_leaves_no_audit_row(clinician: Any) -> None:
    from spinepath.patients.services import patient_create

    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        patient_create(given_name="A", family_name="B", birth_date="1970-01-01", sex="female")
        raise RuntimeError
    assert AuditEvent.objects.count() == before
