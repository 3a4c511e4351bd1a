"""Database triggers that refuse to change rows the clinic promises never to edit.

The models refuse it too (save/delete guards, services); the trigger also stops a bulk
``QuerySet.update()`` / ``.delete()`` or a hand-written SQL statement. Used by migrations.

On SQLite, Django alters a table by re-creating it, which drops its triggers: a later
migration that alters one of these tables must add the trigger again (call this once more;
adding it is idempotent on both engines).
"""

from __future__ import annotations

from typing import Any


def _triggers(table: str, message: str, statements: tuple[str, ...]) -> tuple[Any, Any]:
    def names(statement: str) -> tuple[str, str]:
        if statement == "UPDATE":  # the names used since the first of these triggers
            return f"{table}_never_updated", f"{table}_refuse_update"
        return f"{table}_never_deleted", f"{table}_refuse_delete"

    def forward(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for statement in statements:
            trigger, function = names(statement)
            if vendor == "sqlite":
                schema_editor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE {statement} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            elif vendor == "postgresql":
                schema_editor.execute(
                    f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
                    f"AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
                )
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
                schema_editor.execute(
                    f"CREATE TRIGGER {trigger} BEFORE {statement} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {function}()"
                )

    def backward(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for statement in statements:
            trigger, function = names(statement)
            if vendor == "sqlite":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            elif vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
                schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")

    return forward, backward


def refuse_updates(table: str, message: str) -> tuple[Any, Any]:
    """RunPython forward and backward functions adding (removing) a refuse-UPDATE trigger."""
    return _triggers(table, message, ("UPDATE",))


def refuse_deletes(table: str, message: str) -> tuple[Any, Any]:
    """The same for DELETE alone (added beside an existing refuse-UPDATE trigger)."""
    return _triggers(table, message, ("DELETE",))


def refuse_changes(table: str, message: str) -> tuple[Any, Any]:
    """The same for UPDATE and DELETE: rows are only ever added."""
    return _triggers(table, message, ("UPDATE", "DELETE"))


# The signed decisions' table: consultations migrations 0002 and 0003 add the refuse-UPDATE
# trigger, 0007 the refuse-DELETE one.
SIGNED_DECISIONS = ("consultations_candidacydecision", "a signed decision is never edited")
SIGNED_DECISIONS_KEPT = ("consultations_candidacydecision", "a signed decision is never deleted")
SIGNED_DECISION_TRIGGERS = (
    "consultations_candidacydecision_never_updated",
    "consultations_candidacydecision_never_deleted",
)


def reinstall_signed_decision_trigger(connection: Any) -> None:
    """Put the signed decisions' refuse-UPDATE and refuse-DELETE triggers back exactly as the
    migrations make them (dropped first, so that a disabled or rewritten one is replaced):
    after a restore from a backup file that had lost or altered them."""
    for forward, backward in (
        refuse_updates(*SIGNED_DECISIONS),
        refuse_deletes(*SIGNED_DECISIONS_KEPT),
    ):
        with connection.schema_editor() as editor:
            backward(None, editor)
            forward(None, editor)


def signed_decision_trigger_present(connection: Any) -> bool:
    with connection.cursor() as cursor:
        for name in SIGNED_DECISION_TRIGGERS:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name]
                )
            else:
                cursor.execute(
                    "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgenabled <> 'D'", [name]
                )
            if cursor.fetchone() is None:
                return False
    return True


class _TriedAndRolledBack(Exception):
    pass


def refuses(connection: Any, table: str, statement: str) -> bool | None:
    """Whether the database refuses ``statement`` (UPDATE or DELETE) on a row of ``table``,
    found by trying it on one row inside a transaction that is always rolled back: True when it
    was refused, False when it went through (and was undone), None when the table has no row to
    try it on. A trigger that exists by name but never fires is found this way."""
    from django.db import DatabaseError, transaction

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} ORDER BY id LIMIT 1")
        row = cursor.fetchone()
    if row is None:
        return None
    sql = (
        f"UPDATE {table} SET id = id WHERE id = %s"
        if statement == "UPDATE"
        else f"DELETE FROM {table} WHERE id = %s"
    )
    try:
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(sql, [row[0]])
            raise _TriedAndRolledBack
    except _TriedAndRolledBack:
        return False
    except DatabaseError:
        return True
