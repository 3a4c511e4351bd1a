"""Each patient's facts carry a version the database keeps: a page may be kept under it.

Every table that holds a fact about a patient has triggers (installed after every ``migrate``,
on SQLite and PostgreSQL) that replace the patient's version with a new random number whenever
one of its rows is added, changed or removed, in the same transaction as the change: by a
service, the admin, an import, a bulk update or SQL typed by hand. Tables whose rows are shown
on every patient's chart (a clinician's name, a product lot, the clinic's policy) replace the
version of patient 0, which every chart's key also holds.

A reader takes the versions *before* it reads the facts, so what it computes is never older than
the versions it is kept under, and a page kept under a version is never shown once a change has
committed. The numbers are random rather than counted, so a restored backup's versions are never
taken again by later changes (a restore also empties the cache).

The few tables left out are listed in ``NOT_ON_THE_CHART`` with the reason; every other table of
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
from django.db import models

GLOBAL = 0  # the "patient" of facts shown on every chart

# Tables of the clinic's apps that no chart shows, most of them written on reads, which would
# otherwise replace a version on every page.
NOT_ON_THE_CHART = {
    "records_chartversion": "the versions themselves",
    "audit_auditevent": "every page view writes one; the chart shows no audit event",
    "outcomes_dailyfigures": "the dashboard's daily figures",
    "public_publicsubmission": "keys of the public forms' submissions",
    "fhir_api_apitoken": "written on every FHIR request (when last used)",
    "fhir_api_clientassertion": "one-time keys of SMART backend clients",
    "fhir_api_launchcontext": "one per SMART launch",
}
# Of the tables of Django and the libraries, the chart shows only staff names.
OTHER_TABLES_ON_THE_CHART = ("auth_user",)


def _clinic_models() -> Iterable[type[models.Model]]:
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table in NOT_ON_THE_CHART:
            continue
        if model.__module__.startswith("spinepath.") or table in OTHER_TABLES_ON_THE_CHART:
            yield model


def _patient_model() -> type[models.Model]:
    return apps.get_model("patients", "Patient")


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
    # A row may lead to its patient along more than one path, some of them empty (a link that
    # is not set yet): the first that names one.
    found.sort()
    if not found[0][0]:
        return found[0][2]  # a link that is always set
    nearest = min(depth for _null, depth, _sql in found)
    paths = [sql for _null, depth, sql in found if depth <= nearest + 1]
    return paths[0] if len(paths) == 1 else f"COALESCE({', '.join(paths)})"


def covered_tables() -> dict[str, tuple[str, str]]:
    """Each covered table: the SQL for the patient of a NEW and of an OLD row (the constant 0
    for a table whose rows every chart may show)."""
    covered: dict[str, tuple[str, str]] = {}
    for model in _clinic_models():
        table = model._meta.db_table
        new, old = _patient_of(model, "NEW"), _patient_of(model, "OLD")
        covered[table] = (new, old) if new and old else (str(GLOBAL), str(GLOBAL))
    return covered


def _name(table: str) -> str:
    return f"chart_version_{table}"[:55]


def install_triggers(using: Any = None) -> None:
    """Add (or replace) the triggers of every covered table; idempotent on both engines. Run
    after every ``migrate``: on SQLite, Django alters a table by re-creating it, which drops its
    triggers."""
    connection = using or default_connection
    existing = set(connection.introspection.table_names())
    if "records_chartversion" not in existing:  # migrated back before the versions' table
        remove_triggers(connection)
        return
    statements: list[str] = []
    for table, (new, old) in sorted(covered_tables().items()):
        if table not in existing:
            continue
        name = _name(table)
        if connection.vendor == "sqlite":
            statements += _sqlite(table, name, new, old)
        elif connection.vendor == "postgresql":
            statements += _postgresql(table, name, new, old)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _sqlite(table: str, name: str, new: str, old: str) -> list[str]:
    def bump(patient: str) -> str:
        return (
            "INSERT INTO records_chartversion (patient_id, version) "
            f"SELECT who, random() FROM (SELECT {patient} AS who) WHERE who IS NOT NULL "
            "ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version;"
        )

    return [
        f"DROP TRIGGER IF EXISTS {name}_i",
        f"DROP TRIGGER IF EXISTS {name}_u",
        f"DROP TRIGGER IF EXISTS {name}_d",
        f"CREATE TRIGGER {name}_i AFTER INSERT ON {table} BEGIN {bump(new)} END",
        f"CREATE TRIGGER {name}_u AFTER UPDATE ON {table} BEGIN {bump(old)} {bump(new)} END",
        f"CREATE TRIGGER {name}_d AFTER DELETE ON {table} BEGIN {bump(old)} END",
    ]


_PG_BUMP = """
CREATE OR REPLACE FUNCTION chart_version_bump(who bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF who IS NOT NULL THEN
    INSERT INTO records_chartversion (patient_id, version)
    VALUES (who, floor(random() * 9007199254740991)::bigint)
    ON CONFLICT (patient_id) DO UPDATE SET version = excluded.version;
  END IF;
END $$
"""


def _postgresql(table: str, name: str, new: str, old: str) -> list[str]:
    function = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE before_id bigint; after_id bigint;
BEGIN
  IF TG_OP <> 'INSERT' THEN before_id := {old}; PERFORM chart_version_bump(before_id); END IF;
  IF TG_OP <> 'DELETE' THEN
    after_id := {new};
    IF after_id IS DISTINCT FROM before_id THEN PERFORM chart_version_bump(after_id); END IF;
  END IF;
  RETURN NULL;
END $$
"""
    return [
        _PG_BUMP,
        function,
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {name}()",
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


def tables_without_triggers(using: Any = None) -> list[str]:
    """The covered tables whose triggers are missing or disabled (a check for tests and the
    server's start)."""
    connection = using or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {row[0] for row in cursor.fetchall()}
            wanted = {t: {f"{_name(t)}_{op}" for op in "iud"} for t in covered_tables()}
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgenabled <> 'D'")
            present = {row[0] for row in cursor.fetchall()}
            wanted = {t: {_name(t)} for t in covered_tables()}
    return sorted(t for t, names in wanted.items() if not names <= present)


def after_migrate(using: str = "default", **_: Any) -> None:
    """post_migrate receiver: the triggers, on the database just migrated."""
    from django.db import connections

    install_triggers(connections[using])


_VERSIONS_SQL = "SELECT patient_id, version FROM records_chartversion WHERE patient_id IN (%s, %s)"


def chart_versions(patient_id: int) -> str:
    """The versions of the patient's facts and of the facts every chart shows, as one token.
    Read it before the facts. A patient never changed since the triggers were installed has
    the version "-" until the first change."""
    with default_connection.cursor() as cursor:
        cursor.execute(_VERSIONS_SQL, [patient_id, GLOBAL])
        found = dict(cursor.fetchall())
    return f"{found.get(patient_id, '-')}.{found.get(GLOBAL, '-')}"


@cache
def code_version() -> str:
    """What identifies this build's code and templates: a page kept by an earlier build (the
    cache outlives an upgrade) is not shown by this one."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".html"}:
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]
