"""Back up the clinic's database to one file, and restore it from one.

SQLite: SQLite's online backup API (``sqlite3.Connection.backup``), safe while the server
runs; restore copies the backup into the live file the same way, page by page, so even open
connections see the restored data. PostgreSQL: ``pg_dump --format=custom`` and
``pg_restore --clean --single-transaction`` (all or nothing). Both act on
``settings.DATABASES["default"]``.

A backup is checked before anything is touched: a file that is not a spinepath backup is
refused with the database left as it was. Database triggers (the audit log's refuse-update
trigger) do not fire: SQLite's pages are replaced wholesale, and PostgreSQL's tables are
dropped and re-created with their triggers from the dump.

Why one module of this length: backup, verify and restore share one file format, one check of
a backup and the audit chain's head on both engines; split apart, each half would have to
repeat what the other half writes.

Both are recorded in the live audit log. A backup is an ``export`` event, written once the copy
is complete and before the file takes its name (no backup file without its event; the event
is not in the backup itself). A restore reads the live log's head first and, once the data is
replaced, applies any migrations the backup predates, puts the audit log's append-only
triggers back exactly as migration 0004 makes them (a backup file could have lost them), checks
the restored chain, and appends an ``update`` event naming the log's head before the restore
and the events the restore dropped from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spinepath.actors import Actor

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """Refused before anything was done: a bad file name, a missing tool (exit status 2)."""

    status = 2


class BackupFailed(BackupError):
    """The backup or restore tool itself failed (exit status 1)."""

    status = 1


@dataclass(frozen=True)
class AuditHead:
    """The audit log's last event (``seq``, ``hash``) and how many events it holds."""

    seq: int
    hash: str
    events: int

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash}"


@dataclass(frozen=True)
class BackupSummary:
    engine: str
    database: str
    path: Path
    tables: int
    rows: int
    size_bytes: int
    # The audit log in the backup file, and the live log's export event recording the backup.
    backup_head: AuditHead | None = None
    event_seq: int = 0
    event_hash: str = ""


@dataclass(frozen=True)
class RestoreSummary:
    engine: str
    database: str
    path: Path
    tables: int
    rows: int
    size_bytes: int
    before: AuditHead | None = None  # the live audit log before the restore
    restored: AuditHead | None = None  # the backup's audit log, as restored
    migrations: tuple[str, ...] = ()  # migrations the backup predated, applied
    triggers: Any = None  # spinepath.audit.chain.TriggerRepair
    verdict: Any = None  # spinepath.audit.chain.Verdict of the restored log
    event_seq: int = 0  # the update event recording the restore (the new head)
    event_hash: str = ""
    facts: str = ""  # the event's sentence: what the restore did to the log

    @property
    def events_lost(self) -> int:
        """Events of the log before the restore that the restored log does not hold (when the
        backup was made from it; 0 if the restored log is as long or longer)."""
        if self.before is None:
            return 0
        return max(0, self.before.seq - (self.restored.seq if self.restored else 0))


def _settings() -> dict[str, Any]:
    from django.conf import settings

    database: dict[str, Any] = settings.DATABASES["default"]
    return database


def _is_sqlite(database: dict[str, Any]) -> bool:
    engine: str = database["ENGINE"]
    if engine.endswith("sqlite3"):
        return True
    if "postgresql" in engine:
        return False
    raise BackupError(f"backups support SQLite and PostgreSQL, not {engine}")


def describe_database() -> str:
    """The live database in words: 'SQLite file ...' or 'PostgreSQL database ... on ...'."""
    database = _settings()
    if _is_sqlite(database):
        return f"SQLite file {database['NAME']}"
    return f"PostgreSQL database {database['NAME']} on {database.get('HOST') or 'localhost'}"


def audit_head() -> AuditHead | None:
    """The live audit log's head, or None when it has no events (or no table yet)."""
    from django.db import DatabaseError, connection

    from spinepath.audit.models import AuditEvent
    from spinepath.audit.services import chain_head

    try:
        with connection.cursor() as cursor:
            if AuditEvent._meta.db_table not in connection.introspection.table_names(cursor):
                return None
        last = chain_head()
        return AuditHead(last[0], last[1], AuditEvent.objects.count()) if last else None
    except DatabaseError:
        return None


def _record_backup(summary: BackupSummary, actor: Actor) -> BackupSummary:
    """The export event in the live log, before the backup file takes its name."""
    from django.db import transaction

    from spinepath.audit.models import AuditEvent
    from spinepath.audit.sealer import chained
    from spinepath.audit.services import audit_now

    # In a transaction of its own, which holds the chain's lock: the event is chained at once,
    # and its number and hash are the head printed with the backup.
    with transaction.atomic():
        event = audit_now(
            actor=actor,
            action=AuditEvent.EXPORT,
            what=f"backup of the whole database to {summary.path} "
            f"({summary.tables} tables, {summary.rows} rows)",
            detail={
                "file": str(summary.path.resolve()),
                "database": f"{summary.engine} {summary.database}",
                "tables": summary.tables,
                "rows": summary.rows,
                "audit log in the backup": str(summary.backup_head or "no events"),
            },
        )
    event = chained(event)
    return dataclasses.replace(summary, event_seq=event.seq, event_hash=event.hash)


def backup_database(*, actor: Actor, path: Path, force: bool = False) -> BackupSummary:
    """Write a backup of the live database to ``path`` (mode 0600). An existing file is
    replaced only with ``force``; the file appears whole or not at all, and only once the
    live audit log records it (an ``export`` event by ``actor``: who runs the command)."""
    from spinepath.audit.sealer import seal_now

    path = Path(path)
    _check_destination(path, force=force)
    database = _settings()
    seal_now()  # the backup's events chained, but for those written in the next moments
    if _is_sqlite(database):
        summary = _sqlite_backup(database, path, actor)
    else:
        summary = _postgresql_backup(database, path, actor)
    return dataclasses.replace(summary, size_bytes=path.stat().st_size)


def verify_backup(*, path: Path) -> None:
    """Raise :class:`BackupError` unless ``path`` is a backup this database can restore."""
    path = Path(path)
    _check_readable(path)
    if _is_sqlite(_settings()):
        _sqlite_verify(path)
    else:
        _postgresql_verify(path)


def restore_database(*, actor: Actor, path: Path) -> RestoreSummary:
    """Replace every row of the live database with the backup at ``path``. The backup is
    checked first; a file that is not one leaves the database untouched. Then: migrations the
    backup predates are applied, the audit log's append-only triggers are put back as the
    migration makes them, the restored chain is checked, and the restore is recorded (by
    ``actor``: who runs the command)."""
    path = Path(path)
    verify_backup(path=path)
    database = _settings()
    from django.db import DatabaseError, connections

    # The live log's head, before it is replaced (a SQLite file not there yet has none; opening
    # it would create it).
    sqlite = _is_sqlite(database)
    live = not sqlite or _sqlite_live_path(database).is_file()
    if live and not sqlite:
        from spinepath.audit.sealer import seal_now

        with contextlib.suppress(DatabaseError):  # a database with no audit table yet
            seal_now()  # every event of the live log in the head it is compared with
    before = audit_head() if live else None
    connections.close_all()
    restore = _sqlite_restore if sqlite else _postgresql_restore
    summary = restore(database, path)
    try:
        _forget_what_was_computed_from_the_old_data()
        return _after_restore(dataclasses.replace(summary, before=before), actor)
    except Exception as exc:
        raise BackupFailed(
            f"the database WAS restored from {path}, but checking and recording it failed: "
            f"{exc}. Run `spinepath manage migrate` and `spinepath audit verify`."
        ) from exc


def _forget_what_was_computed_from_the_old_data() -> None:
    """The shared cache holds figures and pages computed from the rows just replaced, under
    data versions the restored rows know nothing of, and the sessions of the old database:
    all of it goes, so that nothing shown after a restore comes from before it."""
    from django.core.cache import caches

    for alias in caches:
        caches[alias].clear()


def _apply_missing_migrations() -> tuple[str, ...]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=0)
    return tuple(f"{m.app_label}.{m.name}" for m, _ in plan)


def _restore_facts(summary: RestoreSummary) -> str:
    before, restored = summary.before, summary.restored
    said = f"database restored from {summary.path}"
    if before is None:
        return f"{said}; the database had no audit events before the restore"
    said += f"; the log before the restore ended at event {before}"
    restored_seq = restored.seq if restored else 0
    if before.seq > restored_seq:
        return f"{said}; events after #{restored_seq} of that log are not in the restored database"
    return f"{said}; the restored log ends at event #{restored_seq}, not before it"


def _after_restore(summary: RestoreSummary, actor: Actor) -> RestoreSummary:
    from django.db import connection, transaction

    from spinepath.audit.chain import reinstall_append_only_triggers, verify_database
    from spinepath.audit.models import AuditEvent
    from spinepath.audit.sealer import chained
    from spinepath.audit.services import audit_now
    from spinepath.web.immutable import reinstall_signed_decision_trigger

    migrations = _apply_missing_migrations()
    triggers = reinstall_append_only_triggers()
    # Signed decisions are refused edits in the database too: that trigger comes back as well.
    reinstall_signed_decision_trigger(connection)
    verdict = verify_database()
    restored = audit_head()
    summary = dataclasses.replace(
        summary, restored=restored, migrations=migrations, triggers=triggers, verdict=verdict
    )
    facts = _restore_facts(summary)
    before = summary.before
    chain = (
        f"intact ({verdict.rows} events)"
        if verdict.intact
        else f"BROKEN at event #{verdict.bad_seq}: {verdict.problem}"
        if verdict.bad_seq is not None
        else f"NOT CHECKED: {verdict.problem}"
    )
    detail: dict[str, Any] = {
        "file": str(summary.path.resolve()),
        "facts": facts,
        "before": {
            "audit log head": str(before) if before else "no events",
            "audit events": before.events if before else 0,
        },
        "after": {
            "audit log head": str(restored) if restored else "no events",
            "audit events": restored.events if restored else 0,
            "restored chain": chain,
            "triggers": triggers.describe(),
        },
    }
    if summary.events_lost and before is not None:
        first_lost = restored.seq + 1 if restored else 1
        detail["not in the restored database"] = f"events #{first_lost} to #{before.seq}"
    if migrations:
        detail["migrations applied"] = list(migrations)
    # The event's text holds 200 characters: the file's name comes last, and the facts with
    # the hashes in full are in its detail (and on the audit log page, as before and after).
    short = "database restored"
    if before is None:
        short += "; there were no audit events before the restore"
    else:
        short += f"; the log before the restore ended at event #{before.seq}"
        if summary.events_lost:
            short += (
                f"; events after #{restored.seq if restored else 0} of that log are not in "
                "the restored database"
            )
    with transaction.atomic():  # chained at once (the head printed)
        event = audit_now(
            actor=actor,
            action=AuditEvent.UPDATE,
            what=f"{short}; from {summary.path}",
            detail=detail,
        )
    event = chained(event)
    return dataclasses.replace(summary, event_seq=event.seq, event_hash=event.hash, facts=facts)


# --- Files ------------------------------------------------------------------------------------


def _check_destination(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise BackupError(f"{path}: is a folder; name the backup file to write")
    if path.exists() and not force:
        raise BackupError(
            f"{path}: already exists; choose another name, or pass --force to replace it"
        )
    folder = path.parent
    if not folder.is_dir():
        raise BackupError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"{path}: cannot write in the folder {folder}")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise BackupError(f"{path}: no such file")
    if not path.is_file():
        raise BackupError(f"{path}: is not a file")
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as exc:
        raise BackupError(f"{path}: cannot be read ({exc.strerror})") from exc


def _header(path: Path, size: int) -> bytes:
    with path.open("rb") as file:
        return file.read(size)


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """A new empty file (mode 0600) in ``path``'s folder, renamed over ``path`` when the block
    ends normally and removed when it raises."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o600)
        with temporary.open("rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        for leftover in (temporary, Path(f"{temporary}-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_live_path(database: dict[str, Any]) -> Path:
    name = str(database["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise BackupError(f"the SQLite database {name!r} is not a file; nothing to back up")
    return Path(name).resolve()


def _sqlite_open(path: Path, mode: str) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=20)


def _sqlite_count(connection: sqlite3.Connection) -> tuple[int, int]:
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    rows = 0
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        rows += connection.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0]
    return len(tables), rows


def _sqlite_backup(database: dict[str, Any], path: Path, actor: Actor) -> BackupSummary:
    live = _sqlite_live_path(database)
    if not live.is_file():
        raise BackupError(
            f"no database at {live}: nothing to back up (run `spinepath manage migrate` first)"
        )
    if path.exists() and path.resolve() == live:
        raise BackupError(f"{path}: is the live database itself; name another file")
    with _temporary_beside(path) as temporary:
        source = _sqlite_open(live, "rw")
        try:
            target = sqlite3.connect(temporary)
            try:
                source.backup(target)
                # The copy carries the live file's WAL mode; a backup is one self-contained file.
                target.execute("PRAGMA journal_mode=DELETE")
                tables, rows = _sqlite_count(target)
                head = _sqlite_audit_head(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            raise BackupFailed(f"the SQLite backup of {live} failed: {exc}") from exc
        finally:
            source.close()
        summary = BackupSummary("SQLite", str(live), path, tables, rows, 0, head)
        summary = _recorded(summary, actor)
    return summary


def _recorded(summary: BackupSummary, actor: Actor) -> BackupSummary:
    from django.db import DatabaseError

    try:
        return _record_backup(summary, actor)
    except DatabaseError as exc:
        raise BackupFailed(
            f"no backup written: recording it in the audit log failed ({exc})"
        ) from exc


def _sqlite_audit_head(connection: sqlite3.Connection) -> AuditHead | None:
    try:
        last = connection.execute(
            "SELECT seq, hash FROM audit_auditevent WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        count = connection.execute("SELECT COUNT(*) FROM audit_auditevent").fetchone()[0]
    except sqlite3.Error:  # no audit log yet (an unmigrated database)
        return None
    return AuditHead(last[0], last[1], count) if last else None


def _sqlite_verify(path: Path) -> None:
    not_one = f"{path}: is not a spinepath backup (not a SQLite database)"
    if _header(path, len(SQLITE_MAGIC)) != SQLITE_MAGIC:
        raise BackupError(not_one)
    try:
        backup = _sqlite_open(path, "ro")
        try:
            checked = backup.execute("PRAGMA integrity_check").fetchall()
            migrations = backup.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'"
            ).fetchone()
        finally:
            backup.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{not_one}: {exc}") from exc
    if checked != [("ok",)]:
        problems = "; ".join(str(row[0]) for row in checked[:3])
        raise BackupError(f"{path}: the SQLite database is damaged ({problems})")
    if migrations is None:
        raise BackupError(f"{path}: is a SQLite database, but not spinepath's (no migrations)")


def _sqlite_restore(database: dict[str, Any], path: Path) -> RestoreSummary:
    live = _sqlite_live_path(database)
    if live.exists() and path.resolve() == live:
        raise BackupError(f"{path}: is the live database itself")
    if not live.parent.is_dir():
        raise BackupError(f"the database's folder {live.parent} does not exist")
    try:
        source = _sqlite_open(path, "ro")
        try:
            target = sqlite3.connect(live, timeout=20)
            try:
                source.backup(target)
                tables, rows = _sqlite_count(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"restoring {path} into {live} failed: {exc}") from exc
    return RestoreSummary("SQLite", str(live), path, tables, rows, path.stat().st_size)


# --- PostgreSQL -------------------------------------------------------------------------------

# libpq's environment variables: the connection reaches pg_dump without the password ever
# appearing on a command line (where `ps` shows it to every user of the machine).
_PG_ENVIRONMENT = {
    "HOST": "PGHOST",
    "PORT": "PGPORT",
    "USER": "PGUSER",
    "PASSWORD": "PGPASSWORD",
    "NAME": "PGDATABASE",
}
_PG_OPTIONS_ENVIRONMENT = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslpassword": "PGSSLPASSWORD",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "options": "PGOPTIONS",
}


def _pg_environment(database: dict[str, Any]) -> dict[str, str]:
    environment = dict(os.environ)
    for key, variable in _PG_ENVIRONMENT.items():
        value = database.get(key)
        if value not in (None, ""):
            environment[variable] = str(value)
    for key, variable in _PG_OPTIONS_ENVIRONMENT.items():
        value = (database.get("OPTIONS") or {}).get(key)
        if value not in (None, ""):
            environment[variable] = str(value)
    return environment


def _server_major() -> int:
    from django.db import connections

    connection = connections["default"]
    connection.ensure_connection()
    version: int = connection.pg_version  # e.g. 150018
    return version // 10000


def _pg_tool(name: str, server_major: int) -> str:
    """The path of pg_dump or pg_restore, refusing one missing or older than the server."""
    package = f"postgresql-client-{server_major}"
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} is not installed (not on PATH): install Debian's {package} "
            f"(apt-get install {package}), the client of the server's PostgreSQL {server_major}"
        )
    try:
        printed = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{tool} --version failed: {exc}") from exc
    found = re.search(r"\)\s*(\d+)", printed) or re.search(r"(\d+)\.\d+", printed)
    if found and int(found.group(1)) < server_major:
        raise BackupError(
            f"{tool} is version {found.group(1)}, older than the server's PostgreSQL "
            f"{server_major}: install Debian's {package} (apt-get install {package})"
        )
    return tool


def _pg_count(cursor: Any, connection: Any) -> tuple[int, int]:
    tables = connection.introspection.table_names(cursor)
    rows = 0
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        rows += cursor.fetchone()[0]
    return len(tables), rows


def _last_lines(text: str, count: int = 5) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:]) or "(no message)"


def _postgresql_backup(database: dict[str, Any], path: Path, actor: Actor) -> BackupSummary:
    from django.db import connections

    from spinepath.audit.sealer import chain_held

    pg_dump = _pg_tool("pg_dump", _server_major())
    # One snapshot for pg_dump and the row counts in the summary: they describe the same data.
    snapshot_holder = connections.create_connection("default")
    try:
        # Read-only: it must not take the audit log's lock (spinepath/audit/backends), which
        # would hold up every writer while pg_dump runs.
        snapshot_holder.takes_audit_lock = False
        snapshot_holder.set_autocommit(False)
        with snapshot_holder.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # The snapshot is taken while this process holds the chain's lock exclusively,
            # with every event chained and committed: it holds no event written unsealed, so
            # the backup's events carry the numbers they have in the live log.
            with chain_held():
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            tables, rows = _pg_count(cursor, snapshot_holder)
            head = _pg_audit_head(cursor, snapshot_holder)
            with _temporary_beside(path) as temporary:
                command = [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    f"--file={temporary}",
                ]
                done = subprocess.run(
                    command, env=_pg_environment(database), capture_output=True, text=True
                )
                if done.returncode != 0:
                    raise BackupFailed(f"pg_dump failed:\n{_last_lines(done.stderr)}")
                summary = BackupSummary(
                    "PostgreSQL", str(database["NAME"]), path, tables, rows, 0, head
                )
                summary = _recorded(summary, actor)
        snapshot_holder.rollback()
    finally:
        snapshot_holder.close()
    return summary


def _pg_audit_head(cursor: Any, connection: Any) -> AuditHead | None:
    if "audit_auditevent" not in connection.introspection.table_names(cursor):
        return None
    cursor.execute(
        "SELECT seq, hash FROM audit_auditevent WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
    )
    last = cursor.fetchone()
    if last is None:
        return None
    cursor.execute("SELECT COUNT(*) FROM audit_auditevent")
    return AuditHead(last[0], last[1], cursor.fetchone()[0])


def _postgresql_verify(path: Path) -> None:
    if _header(path, len(PG_DUMP_MAGIC)) != PG_DUMP_MAGIC:
        raise BackupError(
            f"{path}: is not a spinepath backup (not a pg_dump custom-format archive)"
        )
    pg_restore = _pg_tool("pg_restore", _server_major())
    listed = subprocess.run(
        [pg_restore, "--list", str(path)], capture_output=True, text=True, env=dict(os.environ)
    )
    if listed.returncode != 0:
        raise BackupError(f"{path}: pg_restore cannot read it:\n{_last_lines(listed.stderr)}")
    if not re.search(r"\bTABLE \S+ django_migrations\b", listed.stdout):
        raise BackupError(f"{path}: is a pg_dump archive, but not spinepath's (no migrations)")


def _postgresql_restore(database: dict[str, Any], path: Path) -> RestoreSummary:
    from django.db import connections

    pg_restore = _pg_tool("pg_restore", _server_major())
    connections.close_all()
    command = [
        pg_restore,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        f"--dbname={database['NAME']}",
        str(path),
    ]
    done = subprocess.run(command, env=_pg_environment(database), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed(
            "pg_restore failed; it ran in one transaction, so the database is as it was:\n"
            f"{_last_lines(done.stderr)}"
        )
    connection = connections["default"]
    with connection.cursor() as cursor:
        tables, rows = _pg_count(cursor, connection)
    return RestoreSummary(
        "PostgreSQL", str(database["NAME"]), path, tables, rows, path.stat().st_size
    )
