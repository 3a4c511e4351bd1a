"""spinepath backup / restore: backup, change, restore gives back every table's rows."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from web_helpers import PASSWORD, import_encounter

from spinepath.accounts.services import staff_user_create
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.cli import main
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create, patient_update

pytestmark = pytest.mark.django_db(transaction=True)


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def table_states() -> dict[str, tuple[int, str]]:
    """Every table: its row count and a hash of all its rows in primary-key order."""
    states = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            key = connection.introspection.get_primary_key_column(cursor, table)
            order = connection.ops.quote_name(key) if key else "1"
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY {order}")
            rows = [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
            states[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return states


@pytest.fixture
def clinic() -> dict[str, Any]:
    clinician = staff_user_create(username="clin", password=PASSWORD, role="clinician")
    coordinator = staff_user_create(username="coord", password=PASSWORD, role="coordinator")
    encounter = import_encounter(clinician)
    audit_record(
        request=None,
        user=clinician,
        action=AuditEvent.VIEW,
        what="chart",
        patient=encounter.patient,
    )
    return {"clinician": clinician, "coordinator": coordinator, "patient": encounter.patient}


def test_backup_change_restore_gives_back_every_table(
    clinic: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "clinic.backup"
    at_backup = table_states()
    assert at_backup["audit_auditevent"][0] >= 2
    assert at_backup["patients_patient"][0] == 1

    assert main(["backup", str(path)]) == 0
    line = capsys.readouterr().out
    assert f"to {path}: {len(at_backup)} tables" in line
    assert f"{sum(count for count, _ in at_backup.values()):,} rows" in line

    # Add a row, change a row, delete a row (and the audit log grows with each).
    patient_create(user=clinic["clinician"], given_name="Ada", family_name="Added")
    patient_update(patient=clinic["patient"], family_name="Changed")
    User.objects.filter(pk=clinic["coordinator"].pk).delete()
    changed = table_states()
    assert changed != at_backup
    assert {"patients_patient", "audit_auditevent", "auth_user"} <= {
        table for table in at_backup if changed[table] != at_backup[table]
    }

    assert main(["restore", "--yes", str(path)]) == 0
    assert f"Restored {path}" in capsys.readouterr().out
    assert table_states() == at_backup
    assert Patient.objects.get().family_name == "Lopez"

    # The audit log's trigger came back with it, and new rows still get fresh ids.
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(username="someone-else")
    assert patient_create(user=clinic["clinician"], given_name="After", family_name="Restore")


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
    patient_create(user=clinic["clinician"], given_name="Ada", family_name="Added")
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
    patient_create(user=clinic["clinician"], given_name="Ada", family_name="Added")
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
    """The refuse-DELETE trigger migration 0004 puts on the audit log is in place."""
    from django.db import DatabaseError, transaction

    from spinepath.audit.models import AuditEvent

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.exists()


def test_restore_works_when_the_audit_log_refuses_updates_and_deletes(
    clinic: dict[str, Any], audit_log_refuses_deletes: None, tmp_path: Path
) -> None:
    path = tmp_path / "clinic.backup"
    assert main(["backup", str(path)]) == 0
    at_backup = table_states()
    for _ in range(3):
        audit_record(request=None, user=clinic["clinician"], action=AuditEvent.VIEW, what="list")
    assert AuditEvent.objects.count() == at_backup["audit_auditevent"][0] + 3

    assert main(["restore", "--yes", str(path)]) == 0
    assert table_states() == at_backup
    # Both triggers came back with the backup.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET username = 'someone-else'")
    assert table_states() == at_backup
    # ... and the restored audit log is an intact chain, which new events extend.
    from spinepath.audit.chain import verify_database

    assert verify_database().intact
    audit_record(request=None, user=clinic["clinician"], action=AuditEvent.VIEW, what="after")
    assert verify_database().intact
