"""Versions of the clinic's facts, kept by the database: a page may be kept under them.

Every table that holds the clinic's facts has triggers (installed after every ``migrate``, on
SQLite and PostgreSQL) that, whenever one of its rows is added, changed or removed, replace with
a new random number, in the same transaction as the change:

- the version of the patient whose fact the row is (found through the row's links, also two or
  three links away: a level finding of an imaging study). A table whose rows are shown with
  every patient's facts (a clinician's name, a product lot, the clinic's policy) replaces the
  version of patient 0, which every patient's key also holds;
- the version of the table itself, for pages that list many patients' facts.

So a change by a service, the admin, an import, a bulk update or SQL typed by hand changes the
versions. A reader takes the versions *before* it reads the facts, so what it computes is never
older than the versions it is kept under, and a page kept under a version is never shown once a
change has committed. The numbers are random rather than counted, so the versions of a restored
backup are never taken again by later changes (a restore also empties the cache).

The few tables left out are listed in ``NOT_VERSIONED`` with the reason; every other table of
the clinic's apps is covered, also one added later, and a test checks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection as default_connection
from django.db import models, transaction

GLOBAL = 0  # the "patient" of the facts shown with every patient's

# Tables of the clinic's apps that no kept page shows, most of them written on reads, which
# would otherwise replace a version on every page.
NOT_VERSIONED = {
    "versions_patientversion": "the versions themselves",
    "versions_tableversion": "the versions themselves",
    "audit_auditevent": "every page view writes one; no kept page shows audit events",
    "public_publicsubmission": "keys of the public forms' submissions",
    "fhir_api_apitoken": "written on every FHIR request (when last used)",
    "fhir_api_clientassertion": "one-time keys of SMART backend clients",
    "fhir_api_launchcontext": "one per SMART launch",
}
# Of the tables of Django and the libraries, kept pages show only staff names.
OTHER_TABLES_VERSIONED = ("auth_user",)
# Tables of which kept pages show only some columns: a change of another column (a staff
# member's time of last sign-in, their password) changes no version.
COLUMNS_SHOWN = {"auth_user": ("username", "first_name", "last_name")}


def _update_of(table: str) -> str:
    columns = COLUMNS_SHOWN.get(table)
    return f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"


def _clinic_models() -> Iterable[type[models.Model]]:
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in NOT_VERSIONED:
            continue
        if model.__module__.startswith("spinepath.") or table in OTHER_TABLES_VERSIONED:
            yield model


def _patient_model() -> type[models.Model]:
    from django.conf import settings

    return apps.get_model(settings.SPINEPATH_PATIENT_MODEL)  # the site names it


def _patient_of(model: type[models.Model], row: str, depth: int = 0) -> str | None:
    """SQL for the id of the patient whose fact ``row`` (NEW or OLD) of ``model`` is, or None
    when its rows are no one patient's."""
    patient = _patient_model()
    if model is patient or getattr(model, "instance_type", None) is patient:
        return f"{row}.{model._meta.get_field('id').column}"  # the patient, or its history
    if depth > 3:
        return None
    found: list[tuple[bool, int, str]] = []
    for field in model._meta.concrete_fields:
        target = field.related_model if field.is_relation else None
        if not isinstance(target, type) or not (field.many_to_one or field.one_to_one):
            continue
        if target is patient:
            found.append((field.null, 0, f"{row}.{field.column}"))
            continue
        alias = f"r{depth + 1}"
        inner = _patient_of(target, alias, depth + 1)
        if inner is not None:
            to_column = field.target_field.column  # type: ignore[attr-defined]
            sql = (
                f"(SELECT {inner} FROM {target._meta.db_table} AS {alias} "
                f"WHERE {alias}.{to_column} = {row}.{field.column})"
            )
            found.append((field.null, sql.count("SELECT"), sql))
    if not found:
        return None
    found.sort()
    if not found[0][0]:
        return found[0][2]  # a link that is always set
    # Links that may be empty (not set yet): the first of the nearest that names a patient.
    nearest = min(hops for _null, hops, _sql in found)
    paths = [sql for _null, hops, sql in found if hops <= nearest + 1]
    return paths[0] if len(paths) == 1 else f"COALESCE({', '.join(paths)})"


@cache
def covered_tables() -> dict[str, tuple[str, str]]:
    """Each covered table: the SQL for the patient of a NEW and of an OLD row (the constant 0
    for a table whose rows are shown with every patient's)."""
    covered: dict[str, tuple[str, str]] = {}
    for model in _clinic_models():
        table = model._meta.db_table
        new, old = _patient_of(model, "NEW"), _patient_of(model, "OLD")
        covered[table] = (new, old) if new and old else (str(GLOBAL), str(GLOBAL))
    return covered


def _name(table: str) -> str:
    return f"versions_{table}"[:55]


_VERSION_TABLES = {"versions_patientversion", "versions_tableversion"}


def install_triggers(using: Any = None) -> None:
    """Add (or replace) the triggers of every covered table; idempotent on both engines. Run
    after every ``migrate``: on SQLite, Django alters a table by re-creating it, which drops its
    triggers."""
    connection = using or default_connection
    existing = set(connection.introspection.table_names())
    if not existing >= _VERSION_TABLES:  # migrated back to before the versions
        remove_triggers(connection)
        return
    statements: list[str] = [_PG_FUNCTIONS] if connection.vendor == "postgresql" else []
    for table, (new, old) in sorted(covered_tables().items()):
        if table not in existing:
            continue
        name = _name(table)
        if connection.vendor == "sqlite":
            statements += _sqlite(table, name, new, old)
        elif connection.vendor == "postgresql":
            statements += _postgresql(table, name, new, old)
    # One transaction, one installer at a time: every command of the CLI migrates as it starts,
    # and two starting at once must not drop and create the same trigger in turn.
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INSTALLING])
        for statement in statements:
            cursor.execute(statement)


# The PostgreSQL advisory lock the installers take (no other lock of the application uses it).
_INSTALLING = 7_265_021_873


def _sqlite(table: str, name: str, new: str, old: str) -> list[str]:
    def bump(patient: str) -> str:
        return (
            "INSERT INTO versions_patientversion (patient_id, version) "
            f"SELECT who, random() FROM (SELECT {patient} AS who) WHERE who IS NOT NULL "
            "ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version;"
        )

    whole = (
        'INSERT INTO versions_tableversion ("table", version) '
        f"VALUES ('{table}', random()) "
        'ON CONFLICT ("table") DO UPDATE SET version = excluded.version;'
    )
    return [
        f"DROP TRIGGER IF EXISTS {name}_i",
        f"DROP TRIGGER IF EXISTS {name}_u",
        f"DROP TRIGGER IF EXISTS {name}_d",
        f"CREATE TRIGGER {name}_i AFTER INSERT ON {table} BEGIN {bump(new)} {whole} END",
        f"CREATE TRIGGER {name}_u AFTER {_update_of(table)} ON {table} "
        f"BEGIN {bump(old)} {bump(new)} {whole} END",
        f"CREATE TRIGGER {name}_d AFTER DELETE ON {table} BEGIN {bump(old)} {whole} END",
    ]


_PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION versions_patient_bump(who bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF who IS NOT NULL THEN
    INSERT INTO versions_patientversion (patient_id, version)
    VALUES (who, floor(random() * 9007199254740991)::bigint)
    ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version;
  END IF;
END $$;
CREATE OR REPLACE FUNCTION versions_table_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO versions_tableversion ("table", version)
  VALUES (TG_TABLE_NAME, floor(random() * 9007199254740991)::bigint)
  ON CONFLICT ("table") DO UPDATE SET version = excluded.version;
  RETURN NULL;
END $$
"""


def _postgresql(table: str, name: str, new: str, old: str) -> list[str]:
    function = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE before_id bigint; after_id bigint;
BEGIN
  IF TG_OP <> 'INSERT' THEN before_id := {old}; PERFORM versions_patient_bump(before_id); END IF;
  IF TG_OP <> 'DELETE' THEN
    after_id := {new};
    IF after_id IS DISTINCT FROM before_id THEN PERFORM versions_patient_bump(after_id); END IF;
  END IF;
  RETURN NULL;
END $$
"""
    return [
        function,
        f"CREATE OR REPLACE TRIGGER {name} AFTER INSERT OR {_update_of(table)} OR DELETE "
        f"ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
        # The table's version: once per statement, however many rows it changed.
        f"CREATE OR REPLACE TRIGGER {name}_t AFTER INSERT OR {_update_of(table)} OR DELETE "
        f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION versions_table_bump()",
    ]


def remove_triggers(using: Any = None) -> None:
    connection = using or default_connection
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in sorted(covered_tables()):
            name = _name(table)
            if connection.vendor == "sqlite":
                for op in "iud":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}_{op}")
            elif connection.vendor == "postgresql" and table in existing:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}_t ON {table}")


def tables_without_triggers(using: Any = None) -> list[str]:
    """The covered tables whose triggers are missing or disabled."""
    connection = using or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {row[0] for row in cursor.fetchall()}
            wanted = {t: {f"{_name(t)}_{op}" for op in "iud"} for t in covered_tables()}
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgenabled <> 'D'")
            present = {row[0] for row in cursor.fetchall()}
            wanted = {t: {_name(t), f"{_name(t)}_t"} for t in covered_tables()}
    return sorted(t for t, names in wanted.items() if not names <= present)


def after_migrate(using: str = "default", **_: Any) -> None:
    """post_migrate receiver: the triggers, on the database just migrated."""
    from django.db import connections

    install_triggers(connections[using])


_PATIENT_SQL = (
    "SELECT patient_id, version FROM versions_patientversion WHERE patient_id IN (%s, %s)"
)


def patient_version(patient_id: int) -> str:
    """The versions of the patient's facts and of the facts shown with every patient's, as one
    token. Read it before the facts. A patient not changed since the triggers were installed
    has the version "-" until the first change."""
    if not 0 <= patient_id < 2**63:
        return "none"  # no such row can exist (and SQLite cannot take the number)
    with default_connection.cursor() as cursor:
        cursor.execute(_PATIENT_SQL, [patient_id, GLOBAL])
        found = dict(cursor.fetchall())
    return f"{found.get(patient_id, '-')}.{found.get(GLOBAL, '-')}"


def table_versions(*tables: str) -> str:
    """The versions of ``tables`` (covered tables), as one token. Read it before the rows."""
    unknown = [t for t in tables if t not in covered_tables()]
    if unknown:
        raise ValueError(f"not versioned: {', '.join(unknown)}")
    with default_connection.cursor() as cursor:
        cursor.execute(
            'SELECT "table", version FROM versions_tableversion WHERE "table" IN '
            f"({', '.join(['%s'] * len(tables))})",
            list(tables),
        )
        found = dict(cursor.fetchall())
    return ".".join(str(found.get(t, "-")) for t in tables)


@cache
def code_version() -> str:
    """What identifies this build's code, templates and data files (policies, protocols,
    evidence, contracts): a page kept by an earlier build (the cache outlives an upgrade) is not
    shown by this one."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".html", ".toml", ".json"}:
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]
