"""The audit log is a hash chain: `spinepath audit verify` finds an edited, a deleted and an
inserted row, tampered with directly in the database (triggers lifted, as an insider would)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from web_helpers import acting

from spinepath.actors import Actor
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
        patient_create(
            actor=acting(clinician),
            details={
                "given_name": "A",
                "family_name": "B",
                "birth_date": "1970-01-01",
                "sex": "female",
            },
        )
        raise RuntimeError
    assert AuditEvent.objects.count() == before


# --- A rewritten or shortened log passes the chain's own check, not a kept head ----------------


def _rewrite_from(seq: int) -> None:
    """Recompute every hash from event ``seq`` on, as an insider covering an edit would."""
    from spinepath.audit.chain import CONTENT_FIELDS, GENESIS, row_hash

    fields = ("id", *CONTENT_FIELDS, "prev_hash", "hash")
    rows = list(AuditEvent.objects.order_by("seq").values(*fields))
    prev = GENESIS
    for row in rows:
        if row["seq"] >= seq:
            digest = row_hash(prev, row)
            _without_triggers(
                "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                [prev, digest, row["id"]],
            )
            row["hash"] = digest
        prev = row["hash"]


def _head() -> str:
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None
    return f"{last.seq}:{last.hash}"


def test_the_kept_head_verifies(log: list[AuditEvent], capsys: Any) -> None:
    kept = _head()
    earlier = f"#{log[1].seq}:{log[1].hash.upper()}"  # as printed, or in capitals
    assert main(["audit", "verify", "--expect", kept, "--expect", earlier]) == 0
    out = capsys.readouterr().out
    assert f"head #{kept.replace(':', ' ')}" in out
    assert (
        f"the log holds every expected event, with its expected hash: #{log[-1].seq}, #{log[1].seq}"
    ) in out


def test_an_edit_with_the_hashes_recomputed_fails_against_the_kept_head(
    log: list[AuditEvent], capsys: Any
) -> None:
    kept = _head()
    _without_triggers("UPDATE audit_auditevent SET username = %s WHERE id = %s", ["x", log[3].pk])
    _rewrite_from(log[3].seq)
    # The chain's own check is fooled ...
    assert main(["audit", "verify"]) == 0
    assert "audit log intact" in capsys.readouterr().out
    # ... the kept head is not, even with later events added on top of the rewritten log.
    from spinepath.audit.services import audit_record

    for _ in range(3):
        audit_record(actor=Actor.system(), action=AuditEvent.VIEW, what="list")
    assert main(["audit", "verify", "--expect", kept]) == 1
    out = capsys.readouterr().out
    seq, digest = kept.split(":")
    assert f"audit log does NOT hold an expected event: event #{seq} has the hash " in out
    assert f"not the expected {digest}: the log was rewritten at or before event #{seq}" in out
    # An earlier head, from before the edited row, still holds; the rewritten one fails.
    early = f"{log[2].seq}:{log[2].hash}"
    assert main(["audit", "verify", "--expect", early]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--expect", early, "--expect", kept]) == 1
    out = capsys.readouterr().out
    assert f"event #{log[2].seq}" not in out.split("does NOT", 1)[1]
    assert out.count("does NOT hold an expected event") == 1


def test_deleting_the_last_events_fails_against_the_kept_head(
    log: list[AuditEvent], capsys: Any
) -> None:
    kept = _head()
    _without_triggers("DELETE FROM audit_auditevent WHERE seq >= %s", [log[-2].seq])
    assert main(["audit", "verify"]) == 0
    assert f"head #{log[-3].seq} {log[-3].hash}" in capsys.readouterr().out
    assert main(["audit", "verify", "--expect", kept]) == 1
    out = capsys.readouterr().out
    assert (
        f"event #{log[-1].seq} (expected hash {log[-1].hash}) is not in the log, which ends at "
        f"#{log[-3].seq}: events were removed from its end"
    ) in out


def test_deleting_the_last_events_and_writing_new_ones_fails_against_the_kept_head(
    log: list[AuditEvent], capsys: Any
) -> None:
    from spinepath.audit.services import audit_record

    kept = _head()
    _without_triggers("DELETE FROM audit_auditevent WHERE seq >= %s", [log[-2].seq])
    for _ in range(2):  # the log is as long as before, its head in the same place
        audit_record(actor=Actor.system(), action=AuditEvent.VIEW, what="list")
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--expect", kept]) == 1
    assert f"event #{log[-1].seq} has the hash" in capsys.readouterr().out


def test_a_broken_chain_fails_with_the_expectations_it_could_not_check(
    log: list[AuditEvent], capsys: Any
) -> None:
    kept = _head()
    _without_triggers("UPDATE audit_auditevent SET username = %s WHERE id = %s", ["x", log[3].pk])
    assert main(["audit", "verify", "--expect", kept]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at event #{log[3].seq}" in out
    assert f"event #{log[-1].seq} (expected hash {log[-1].hash}) was not checked" in out


@pytest.mark.parametrize(
    "given",
    ["12", "12:", ":" + "a" * 64, "x:" + "a" * 64, "0:" + "a" * 64, "12:" + "a" * 63,
     "12:" + "g" * 64, "١٢:" + "a" * 64],
)  # fmt: skip
def test_an_expected_head_must_be_seq_and_the_full_hash(
    log: list[AuditEvent], capsys: Any, given: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "verify", "--expect", given])
    assert exited.value.code == 2
    assert "expected SEQ:HASH" in capsys.readouterr().err
