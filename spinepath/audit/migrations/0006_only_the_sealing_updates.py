# The database refuses every UPDATE and DELETE of an audit event, but for the sealing: ``seq``
# and both hashes filled in once, on an unsealed row, its content unchanged. These functions are
# the only definition of the audit table's triggers from here on (spinepath/audit/chain.py:
# reinstall_append_only_triggers); each is idempotent.

from typing import Any

from django.db import migrations

TABLE = "audit_auditevent"
MESSAGE = "audit events are never changed or deleted"
UPDATE_TRIGGER, UPDATE_FUNCTION = f"{TABLE}_never_updated", f"{TABLE}_refuse_update"
DELETE_TRIGGER, DELETE_FUNCTION = f"{TABLE}_never_deleted", f"{TABLE}_refuse_delete"
CONTENT = (
    '"at"', "user_id", "username", "patient_id", "action", "what", "path", "address", "detail"
)  # fmt: skip


def _sealing(same: str) -> str:
    """The one UPDATE allowed, as an SQL condition on OLD and NEW."""
    unchanged = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in ("id", *CONTENT))
    return (
        "OLD.seq IS NULL AND OLD.hash = '' AND OLD.prev_hash = '' AND NEW.seq IS NOT NULL "
        f"AND NEW.hash <> '' AND NEW.prev_hash <> '' AND {unchanged}"
    )


def forward(apps: Any, schema_editor: Any) -> None:
    """Both triggers, made afresh (idempotent: what was there is dropped first)."""
    backward(apps, schema_editor)
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {UPDATE_TRIGGER} BEFORE UPDATE ON {TABLE} "
            f"WHEN NOT ({_sealing('IS')}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {DELETE_TRIGGER} BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
        return
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {UPDATE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF {_sealing('IS NOT DISTINCT FROM')} THEN RETURN NEW; END IF; "
        f"RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {DELETE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    for trigger, statement, function in (
        (UPDATE_TRIGGER, "UPDATE", UPDATE_FUNCTION),
        (DELETE_TRIGGER, "DELETE", DELETE_FUNCTION),
    ):
        schema_editor.execute(
            f"CREATE TRIGGER {trigger} BEFORE {statement} ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def backward(apps: Any, schema_editor: Any) -> None:
    """No trigger left on the table."""
    for trigger, function in ((UPDATE_TRIGGER, UPDATE_FUNCTION), (DELETE_TRIGGER, DELETE_FUNCTION)):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {TABLE}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_sealed_later")]

    operations = [migrations.RunPython(forward, backward)]
