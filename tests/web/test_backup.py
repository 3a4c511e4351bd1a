"""spinepath backup / restore: backup, change, restore gives back every table's rows."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from web_helpers import PASSWORD, acting, import_encounter

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.audit.chain import reinstall_append_only_triggers, verify_database
from spinepath.audit.models import AuditEvent
from spinepath.audit.sealer import seal_now
from spinepath.audit.services import audit_record
from spinepath.cli import main
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create, patient_update

pytestmark = pytest.mark.django_db(transaction=True)


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def table_states(audit_up_to: int | None = None) -> dict[str, tuple[int, str]]:
    """Every table: its row count and a hash of all its rows in primary-key order (the audit
    log's only up to event ``audit_up_to``, when given), once every event is chained: a page
    view's event on PostgreSQL is written unsealed, and a backup chains it first."""
    seal_now()
    states = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            key = connection.introspection.get_primary_key_column(cursor, table)
            order = connection.ops.quote_name(key) if key else "1"
            where = ""
            if table == "audit_auditevent" and audit_up_to is not None:
                where = f" WHERE seq <= {int(audit_up_to)}"
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}{where} ORDER BY {order}")
            rows = [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
            states[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return states


@pytest.fixture
def clinic() -> dict[str, Any]:
    clinician = staff_user_create(
        actor=Actor.system(), username="clin", password=PASSWORD, role="clinician"
    )
    coordinator = staff_user_create(
        actor=Actor.system(), username="coord", password=PASSWORD, role="coordinator"
    )
    encounter = import_encounter(clinician)
    audit_record(
        actor=acting(clinician),
        action=AuditEvent.VIEW,
        what="chart",
        patient=encounter.patient,
    )
    return {"clinician": clinician, "coordinator": coordinator, "patient": encounter.patient}


def head() -> AuditEvent:
    """The log's head, as `spinepath audit verify` finds it: every event chained first."""
    seal_now()
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    return event


def operator() -> str:
    import pwd

    return f"(command line: {pwd.getpwuid(os.geteuid()).pw_name})"


def test_backup_change_restore_gives_back_every_table(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "clinic.backup"
    at_backup = table_states()
    head_at_backup = head().seq
    assert at_backup["audit_auditevent"][0] >= 2
    assert at_backup["patients_patient"][0] == 1

    assert main(["backup", str(path)]) == 0
    line = capsys.readouterr().out
    assert f"to {path}: {len(at_backup)} tables" in line
    assert f"{sum(count for count, _ in at_backup.values()):,} rows" in line

    # Add a row, change a row, delete a row (and the audit log grows with each).
    patient_create(
        actor=acting(clinic["clinician"]), details={"given_name": "Ada", "family_name": "Added"}
    )
    patient_update(
        actor=acting(clinic["clinician"]),
        patient=clinic["patient"],
        details={"family_name": "Changed"},
    )
    User.objects.filter(pk=clinic["coordinator"].pk).delete()
    changed = table_states()
    assert changed != at_backup
    assert {"patients_patient", "audit_auditevent", "auth_user"} <= {
        table for table in at_backup if changed[table] != at_backup[table]
    }

    # Figures computed from the changed data are in the shared cache under its data version.
    from spinepath.followup.cache import data_version, versioned

    changed_version = data_version()
    assert versioned("count", timezone.localdate(), lambda: "from the changed data")

    assert main(["restore", "--yes", str(path)]) == 0
    assert f"Restored {path}" in capsys.readouterr().out
    # Nothing computed from the replaced rows is shown after the restore.
    assert data_version() != changed_version
    assert versioned("count", timezone.localdate(), lambda: "restored") == "restored"
    # Every table as it was, and the audit log too, with one event more: the restore's.
    assert table_states(audit_up_to=head_at_backup) == at_backup
    assert AuditEvent.objects.count() == at_backup["audit_auditevent"][0] + 1
    assert head().seq == head_at_backup + 1
    assert Patient.objects.get().family_name == "Lopez"

    # The audit log's trigger came back with it, and new rows still get fresh ids.
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(username="someone-else")
    assert patient_create(
        actor=acting(clinic["clinician"]), details={"given_name": "After", "family_name": "Restore"}
    )


def test_backup_refuses_to_overwrite_a_file_unless_forced(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "clinic.backup"
    path.write_text("keep me")
    assert main(["backup", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_text() == "keep me"

    assert main(["backup", "--force", str(path)]) == 0
    assert path.read_bytes() != b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["clinic.backup"]  # no temporary left over


def test_the_backup_file_is_readable_by_its_owner_only(
    clinic: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    assert main(["backup", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_backup_refuses_a_folder_that_does_not_exist(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    assert main(["backup", str(tmp_path / "missing" / "clinic.backup")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_restore_refuses_a_file_that_is_not_a_backup(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("These are not the backups you are looking for.\n" * 50)
    before = table_states()
    assert main(["restore", "--yes", str(path)]) == 2
    assert "is not a spinepath backup" in capsys.readouterr().err
    assert table_states() == before


def test_restore_refuses_a_missing_file(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    before = table_states()
    assert main(["restore", "--yes", str(tmp_path / "nothing.backup")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert table_states() == before


def test_restore_without_yes_and_nobody_to_ask_refuses(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    path = tmp_path / "clinic.backup"
    assert main(["backup", str(path)]) == 0
    patient_create(
        actor=acting(clinic["clinician"]), details={"given_name": "Ada", "family_name": "Added"}
    )
    before = table_states()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["restore", str(path)]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert table_states() == before


def test_restore_asks_first_and_a_no_changes_nothing(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    path = tmp_path / "clinic.backup"
    assert main(["backup", str(path)]) == 0
    patient_create(
        actor=acting(clinic["clinician"]), details={"given_name": "Ada", "family_name": "Added"}
    )
    before = table_states()
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "no")
    assert main(["restore", str(path)]) == 2
    assert "Replace ALL data" in asked[0]
    assert "nothing was changed" in capsys.readouterr().err
    assert table_states() == before

    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert main(["restore", str(path)]) == 0
    assert not Patient.objects.filter(family_name="Added").exists()


@pytest.fixture
def audit_log_refuses_deletes() -> Any:
    """The refuse-DELETE trigger migration 0006 puts on the audit log is in place."""
    from django.db import DatabaseError, transaction

    from spinepath.audit.models import AuditEvent

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.exists()


def test_restore_works_when_the_audit_log_refuses_updates_and_deletes(
    clinic: dict[str, Any], audit_log_refuses_deletes: None, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    at_backup = table_states()
    head_at_backup = head().seq
    assert main(["backup", str(path)]) == 0
    for _ in range(3):
        audit_record(actor=acting(clinic["clinician"]), action=AuditEvent.VIEW, what="list")
    assert AuditEvent.objects.count() == at_backup["audit_auditevent"][0] + 4  # export too

    assert main(["restore", "--yes", str(path)]) == 0
    assert table_states(audit_up_to=head_at_backup) == at_backup
    at_restore = table_states()
    # Both triggers came back with the backup.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET username = 'someone-else'")
    assert table_states() == at_restore
    # ... and the restored audit log is an intact chain, which new events extend.
    assert verify_database().intact
    audit_record(actor=acting(clinic["clinician"]), action=AuditEvent.VIEW, what="after")
    assert verify_database().intact


# --- The audit log records backups and restores ------------------------------------------------


def test_a_backup_is_recorded_in_the_live_audit_log_as_an_export(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    # The name in the log is the account's, not whatever the environment claims.
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    path = tmp_path / "clinic.backup"
    states = table_states()
    before = head()

    assert main(["backup", str(path)]) == 0
    out = capsys.readouterr().out
    event = head()
    assert event.seq == before.seq + 1
    assert event.action == AuditEvent.EXPORT
    assert event.username == operator() != "(command line: mallory)"
    tables, rows = len(states), sum(count for count, _ in states.values())
    assert event.what == f"backup of the whole database to {path} ({tables} tables, {rows} rows)"
    assert event.detail["file"] == str(path.resolve())
    assert event.detail["audit log in the backup"] == f"#{before.seq} {before.hash}"
    assert event.user_id is None and event.patient_id is None
    # The head line to keep is the live log's, which holds the export event.
    assert f"The backup holds {before.seq} audit events, up to #{before.seq}" in out
    assert f"recorded in the audit log as event #{event.seq}" in out
    assert f"audit log head #{event.seq} {event.hash} " in out
    assert f"--expect {event.seq}:{event.hash}" in out
    assert verify_database().intact
    assert main(["audit", "verify", "--expect", f"{event.seq}:{event.hash}"]) == 0

    # A backup refused before anything was copied records nothing.
    assert main(["backup", str(path)]) == 2
    assert head().seq == event.seq

    # The event is in the live log, not in the backup: a restore does not bring it back.
    assert main(["restore", "--yes", str(path)]) == 0
    assert not AuditEvent.objects.filter(action=AuditEvent.EXPORT).exists()


def test_no_backup_file_is_kept_when_the_audit_log_cannot_record_it(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise DatabaseError("database or disk is full")

    monkeypatch.setattr("spinepath.audit.services.audit_now", refuse)
    before = head()
    path = tmp_path / "clinic.backup"
    assert main(["backup", str(path)]) == 1
    err = capsys.readouterr().err
    assert "no backup written: recording it in the audit log failed" in err
    assert "disk is full" in err
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary
    assert head() == before


def test_a_restore_is_recorded_with_the_log_head_before_it(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "clinic.backup"
    in_backup = head()
    assert main(["backup", str(path)]) == 0
    for _ in range(3):
        audit_record(actor=acting(clinic["clinician"]), action=AuditEvent.VIEW, what="list")
    before = head()
    events_before = AuditEvent.objects.count()
    assert before.seq == in_backup.seq + 4  # the export event and three views
    capsys.readouterr()

    assert main(["restore", "--yes", str(path)]) == 0
    out = capsys.readouterr().out
    event = head()
    assert event.seq == in_backup.seq + 1
    assert event.action == AuditEvent.UPDATE
    assert event.username == operator()
    facts = (
        f"database restored from {path}; the log before the restore ended at event "
        f"#{before.seq} {before.hash}; events after #{in_backup.seq} of that log are not in "
        "the restored database"
    )
    assert event.detail["facts"] == facts
    assert event.what.startswith(
        f"database restored; the log before the restore ended at event #{before.seq}; "
        f"events after #{in_backup.seq} of that log are not in the restored database; from "
    )
    assert event.detail["before"] == {
        "audit log head": f"#{before.seq} {before.hash}",
        "audit events": str(events_before),
    }
    assert event.detail["after"]["audit log head"] == f"#{in_backup.seq} {in_backup.hash}"
    assert event.detail["after"]["restored chain"] == f"intact ({in_backup.seq} events)"
    lost = f"events #{in_backup.seq + 1} to #{before.seq}"
    assert event.detail["not in the restored database"] == lost
    # The same facts, told to the person restoring.
    assert (
        f"The audit log before the restore: {events_before} events, head #{before.seq} "
        f"{before.hash}"
    ) in out
    assert f"The restored audit log: {in_backup.seq} events, head #{in_backup.seq}" in out
    assert (
        f"Events #{in_backup.seq + 1} to #{before.seq} of the log before the restore (4) are "
        "not in the restored database."
    ) in out
    assert "append-only triggers are in place" in out, out
    assert f"The restored audit log is intact: {in_backup.seq} events." in out
    assert f"Recorded in the audit log as event #{event.seq}: {facts}." in out
    assert f"audit log head #{event.seq} {event.hash} " in out

    # A head kept before the restore no longer matches; the one printed now does.
    capsys.readouterr()
    assert main(["audit", "verify", "--expect", f"{before.seq}:{before.hash}"]) == 1
    assert f"event #{before.seq} (expected hash {before.hash}) is not in the log" in (
        capsys.readouterr().out
    )
    assert main(["audit", "verify", "--expect", f"{event.seq}:{event.hash}"]) == 0


def test_restoring_a_backup_with_a_longer_log_names_no_dropped_events(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    # An older backup over the database, then a newer one over that.
    old, new = tmp_path / "old.backup", tmp_path / "new.backup"
    assert main(["backup", str(old)]) == 0
    audit_record(actor=acting(clinic["clinician"]), action=AuditEvent.VIEW, what="list")
    assert main(["backup", str(new)]) == 0
    assert main(["restore", "--yes", str(old)]) == 0
    capsys.readouterr()
    assert main(["restore", "--yes", str(new)]) == 0
    out = capsys.readouterr().out
    assert "the restored log ends at event" in out
    assert "are not in the restored database" not in out


def _tamper_with_triggers(how: str) -> list[str]:
    """Statements that take the audit log's append-only triggers away (``dropped``), or leave
    them in name only and add one of the tamperer's own (``neutered``)."""
    if connection.vendor == "sqlite":
        drop = [
            "DROP TRIGGER audit_auditevent_never_updated",
            "DROP TRIGGER audit_auditevent_never_deleted",
        ]
        if how == "dropped":
            return drop
        return [
            *drop,
            "CREATE TRIGGER audit_auditevent_never_updated BEFORE UPDATE ON audit_auditevent "
            "WHEN 0 BEGIN SELECT RAISE(ABORT, 'audit events are never changed or deleted'); END",
            "CREATE TRIGGER audit_auditevent_never_deleted BEFORE DELETE ON audit_auditevent "
            "WHEN 0 BEGIN SELECT RAISE(ABORT, 'audit events are never changed or deleted'); END",
            "CREATE TRIGGER audit_quietly AFTER INSERT ON audit_auditevent BEGIN SELECT 1; END",
        ]
    if how == "dropped":
        return [
            "DROP TRIGGER audit_auditevent_never_updated ON audit_auditevent",
            "DROP TRIGGER audit_auditevent_never_deleted ON audit_auditevent",
        ]
    return [
        "CREATE OR REPLACE FUNCTION audit_auditevent_refuse_update() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_never_deleted",
        "CREATE FUNCTION audit_quietly() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "CREATE TRIGGER audit_quietly AFTER INSERT ON audit_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION audit_quietly()",
    ]


@pytest.mark.parametrize("how", ["dropped", "neutered"])
def test_a_backup_without_the_append_only_triggers_does_not_take_them_away(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any, how: str
) -> None:
    path = tmp_path / "clinic.backup"
    statements = _tamper_with_triggers(how)
    if connection.vendor == "sqlite":
        # Edit the backup file itself.
        assert main(["backup", str(path)]) == 0
        backup = sqlite3.connect(path)
        for statement in statements:
            backup.execute(statement)
        backup.commit()
        backup.execute("UPDATE audit_auditevent SET username = 'edited' WHERE seq = 1")
        backup.rollback()  # (the tampered file lets an update through)
        backup.close()
    else:
        # pg_dump copies the triggers as they are: take them away while the backup runs.
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        assert main(["backup", str(path)]) == 0
        reinstall_append_only_triggers()
    audit_record(actor=acting(clinic["clinician"]), action=AuditEvent.VIEW, what="list")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    capsys.readouterr()

    assert main(["restore", "--yes", str(path)]) == 0
    out = capsys.readouterr().out
    assert "The audit log's append-only triggers were not as migration 0006 makes them" in out
    if how == "dropped":
        assert "missing: audit_auditevent_never_updated, audit_auditevent_never_deleted" in out
    else:
        assert (
            "changed or disabled: audit_auditevent_never_updated, audit_auditevent_never_deleted"
            in out
        )
        assert "not spinepath's, removed: audit_quietly" in out
    assert "recreated them, so UPDATE and DELETE are refused again" in out
    assert "The restored audit log is intact" in out
    assert "recreated them" in head().detail["after"]["triggers"]

    # The live database refuses to change or delete audit rows, as before the restore.
    restored = table_states()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET username = 'someone-else'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [head().seq])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert table_states() == restored
    assert verify_database().intact


def test_a_backup_that_predates_a_migration_is_migrated_before_the_restore_is_recorded(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    # A backup made before the audit log's latest migration (0007: an event's time and number
    # must be ones the application reads back): the database is taken back to 0006 for the
    # backup, then forward again.
    from django.core.management import call_command

    path = tmp_path / "clinic.backup"
    migration = ("audit", "0007_readable_time_and_number")
    call_command("migrate", "audit", "0006", verbosity=0)
    assert main(["backup", str(path)]) == 0
    call_command("migrate", "audit", verbosity=0)
    capsys.readouterr()
    assert main(["restore", "--yes", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Applied 1 migrations the backup predates: audit.{migration[1]}" in out
    assert head().detail["migrations applied"] == [f"audit.{migration[1]}"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM django_migrations WHERE app = %s AND name = %s", migration
        )
        assert cursor.fetchone()[0] == 1
    # The restored database has the migration's constraint, and its triggers.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (seq, at, username, action, what, path, detail, "
            "prev_hash, hash) VALUES (NULL, %s, 'x', 'view', 'x', '/', '{}', '', '')",
            ["1900-01-01 00:00:00+00"],
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert verify_database().intact


def test_a_backup_without_the_signed_decisions_trigger_does_not_take_it_away(
    clinic: dict[str, Any], tmp_path: Path
) -> None:
    from spinepath.consultations.actions import decision_sign
    from spinepath.web.immutable import reinstall_signed_decision_trigger

    encounter = clinic["patient"].encounters.get()
    decision_sign(encounter=encounter, actor=acting(clinic["clinician"]), token="t" * 24)
    path = tmp_path / "clinic.backup"
    trigger = "consultations_candidacydecision_never_updated"
    if connection.vendor == "sqlite":
        assert main(["backup", str(path)]) == 0
        backup = sqlite3.connect(path)
        backup.execute(f"DROP TRIGGER {trigger}")
        backup.commit()
        backup.close()
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER {trigger} ON consultations_candidacydecision")
        assert main(["backup", str(path)]) == 0
        reinstall_signed_decision_trigger(connection)
    assert main(["restore", "--yes", str(path)]) == 0
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE consultations_candidacydecision SET signature_token = 'edited'")
