"""Fixtures for every test that uses the database."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import time_machine
from suite_clock import SUITE_TODAY

import spinepath

# The suite's settings module (tests/suite_settings.py, named in pyproject.toml) lives beside
# this file: the processes a test starts (a server, the command line, the what-if run) inherit
# DJANGO_SETTINGS_MODULE from pytest-django, and find the module on PYTHONPATH.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_TESTS, os.environ.get("PYTHONPATH", "")) if p
    )


# Each test process (an xdist worker, or a run beside another) has its own cache folder: the
# clinic's shared cache holds figures per version of the data, and another process's entries
# would make query counts and cached pages depend on who ran first. Processes a test starts
# (the what-if run) inherit it.
def pytest_configure(config: Any) -> None:
    from django.conf import settings

    cache = settings.CACHES["default"]
    if not cache["BACKEND"].endswith(("FileBasedCache", "filecache.FileCache")):
        return
    # Every process its own folder: the xdist controller's environment reaches its workers, so
    # the folder is named by each process's own id, never inherited.
    location = Path(tempfile.gettempdir()) / f"spinepath-test-cache-{os.getpid()}"
    settings.CACHES = {"default": {**cache, "LOCATION": str(location)}}
    os.environ["SPINEPATH_CACHE_URL"] = f"filecache://{location}"
    config._spinepath_cache = location


def pytest_unconfigure(config: Any) -> None:
    location = getattr(config, "_spinepath_cache", None)
    if location is not None:
        shutil.rmtree(location, ignore_errors=True)


def _uses_shared_data(item: pytest.Item) -> bool:
    """Whether the test asks for data shared by its module's tests: a module- (or class-)
    scoped fixture of the suite's own (not a plugin's) that writes to the database (it asks
    for ``django_db_blocker``; see tests/shared_world.py)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in info.names_closure:
        definitions = info.name2fixturedefs.get(name)
        if (
            definitions
            and definitions[-1].baseid
            and definitions[-1].scope in ("module", "class", "package")
            and "django_db_blocker" in definitions[-1].argnames
        ):
            return True
    return False


# Long tests run first - the state machine (minutes) and the tests that start an installed
# server or the command line on a new installation (up to half a minute each): an xdist
# worker starts on them at once while the others share the rest, instead of one of them
# starting late and keeping the whole run waiting for it.
LONG_RUNNING = ("web/stateful/",)
STARTS_AN_INSTALLATION = {"fresh_install", "migrated_install", "migrated_database"}


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """The long-running tests first; and in each module, the tests that share data built for
    the module after the others: the data stays in the database until the module is done,
    and no other test sees it."""
    # pytest-django has put the tests in transactions before the transactional ones; a
    # module's tests of one kind stay together, in that order.
    run: dict[int, int] = {}
    for index, item in enumerate(items):
        run[id(item)] = run[id(items[index - 1])] + 1 if index else 0
        if index and item.path == items[index - 1].path:
            run[id(item)] -= 1

    def long_running(item: pytest.Item) -> bool:
        if any(part in item.path.as_posix() for part in LONG_RUNNING):
            return True
        names = set(getattr(item, "fixturenames", ()))
        # (not one that uses the test database: those keep pytest-django's order)
        return bool(names & STARTS_AN_INSTALLATION) and not names & {"db", "transactional_db"}

    items[:] = sorted(
        items,
        key=lambda item: (not long_running(item), run[id(item)], _uses_shared_data(item)),
    )
    if os.environ.get("SPINEPATH_SUITE_DATABASE_TESTS_ONLY") == "1":
        _keep_the_database_tests(config, items)


# What reaches the suite's test database: pytest-django's fixtures (every database fixture of
# the suite's, a shared world, the live server, the test clients build on them) or its marker.
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def _uses_the_test_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & DATABASE_FIXTURES) or item.get_closest_marker("django_db") is not None


def _keep_the_database_tests(config: Any, items: list[pytest.Item]) -> None:
    """CI's run on PostgreSQL (scripts/ci-extras.sh) runs the tests that reach the test
    database; the others - the pure rules, the code's own checks, and the tests of a new
    installation, which always make their own SQLite database - do the very same thing on
    every database, and run in the SQLite run that follows, the whole suite."""
    others = [item for item in items if not _uses_the_test_database(item)]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if _uses_the_test_database(item)]
        print(
            f"\n{len(others)} tests that do the same on every database are left to the "
            "SQLite run (they never reach PostgreSQL)."
        )


@pytest.fixture(autouse=True)
def password_hashers(request: Any) -> Any:
    """The suite hashes passwords with a fast hasher (tests/suite_settings.py); a test marked
    ``clinic_password_hashers`` gets the clinic's own (argon2), for its fixtures too."""
    if request.node.get_closest_marker("clinic_password_hashers") is None:
        yield
        return
    from django.conf import settings
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=settings.CLINIC_PASSWORD_HASHERS):
        yield


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new installation's SQLite database as `spinepath manage migrate` leaves it, made once
    for the run (the xdist workers share it) for the tests of a server that has been installed
    before (server_helpers.installed_environment): applying every migration to a new database
    takes a process 20 s or more."""
    import fcntl
    import subprocess

    from server_helpers import fresh_environment

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by its workers
    var = root / "migrated-installation"
    with open(root / "migrated-installation.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (var / "migrated").exists():
            shutil.rmtree(var, ignore_errors=True)
            subprocess.run(
                [sys.executable, "-m", "spinepath.cli", "manage", "migrate", "--verbosity", "0"],
                env=fresh_environment(var, demo=False),
                check=True,
                capture_output=True,
                timeout=600,
            )
            (var / "migrated").touch()
    return var / "spinepath.sqlite3"


@pytest.fixture(autouse=True)
def suite_clock() -> Any:
    with time_machine.travel(SUITE_TODAY, tick=True):
        yield


@pytest.fixture(autouse=True)
def empty_cache() -> Any:
    """Each test starts with an empty cache (it holds pages and aggregates of another test's
    database otherwise)."""
    from django.core.cache import cache

    cache.clear()
    from spinepath.web.policy import forget_policy

    forget_policy()  # an adopted policy of another test (rolled back) is not in force
    yield
    forget_policy()


@pytest.fixture(autouse=True)
def default_prices(request: Any) -> None:
    """The starting price list, also after a transactional test has flushed the database."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        return
    transactional = "transactional_db" in names or bool(
        marker is not None and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from spinepath.plans.defaults import ensure_default_prices
    from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion

    ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)


# --- The same document printed once ---------------------------------------------------------
#
# Printing a PDF (WeasyPrint) takes most of a second, and the suite prints the same document
# again and again: each plan accepted prints the plan, and many tests take the same patient
# through the pathway on the same day. The same HTML always prints the same bytes, so each
# process keeps the last documents it printed, by their HTML, and hands the bytes out again.


def _print_each_document_once() -> None:
    import hashlib
    from collections import OrderedDict

    from spinepath.plans import pdf

    if getattr(pdf.html_to_pdf, "_spinepath_once", False):
        return
    original = pdf.html_to_pdf
    printed: OrderedDict[bytes, bytes] = OrderedDict()

    def html_to_pdf(html: str) -> bytes:
        key = hashlib.sha256(html.encode()).digest()
        if key in printed:
            printed.move_to_end(key)
            return printed[key]
        document = original(html)
        printed[key] = document
        if len(printed) > 64:
            printed.popitem(last=False)
        return document

    html_to_pdf._spinepath_once = True  # type: ignore[attr-defined]
    pdf.html_to_pdf = html_to_pdf


_print_each_document_once()


# --- The same ids after a test on every database ----------------------------------------------
#
# A test in a transaction that is rolled back takes back, on SQLite, the ids it used (the table
# of the last ids rolls back with the rest), so the next test's rows get the same ids. A
# PostgreSQL sequence never rolls back: there each test got new ids - a new record number for
# each chart (SP + its id) and so a new plan document to print (above) where the test before
# had printed the very same one. After each such test the suite sets PostgreSQL's sequences
# back to where they stood when it began, as SQLite's rollback does. It does so on a connection
# of its own (sequences are not transactional), so the test's own connection and the queries
# it counts see nothing of it.

_SEQUENCES = (
    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value, "
    "start_value FROM pg_sequences WHERE schemaname = current_schema()"
)


@pytest.fixture(scope="session")
def sequence_connection(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """A connection of the suite's own to the test database (closed before it is dropped)."""
    from django.db import connections

    own = connections.create_connection("default")
    with django_db_blocker.unblock():
        own.ensure_connection()
        own.set_autocommit(True)
    yield own
    own.close()


def _in_a_rolled_back_transaction(request: Any) -> bool:
    """Whether the test runs in a transaction rolled back after it (``db``; not a
    transactional test, whose tables are emptied instead)."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if "transactional_db" in names or "live_server" in names:
        return False
    if marker is not None:
        return not marker.kwargs.get("transaction", False)
    return "db" in names


@pytest.fixture(autouse=True)
def ids_taken_back(request: Any) -> Any:
    from django.db import connection

    if connection.vendor != "postgresql" or not _in_a_rolled_back_transaction(request):
        yield
        return
    blocker = request.getfixturevalue("django_db_blocker")
    own = request.getfixturevalue("sequence_connection")
    with blocker.unblock(), own.cursor() as cursor:
        cursor.execute(_SEQUENCES)
        before = {name: (last, start) for name, last, start in cursor.fetchall()}
    yield
    with blocker.unblock(), own.cursor() as cursor:
        cursor.execute(_SEQUENCES)
        moved = [
            (name, *before[name])
            for name, last, _start in cursor.fetchall()
            if name in before and before[name][0] != last
        ]
        if moved:
            rows = ", ".join(["(%s, %s::bigint, %s::bigint)"] * len(moved))
            cursor.execute(
                "SELECT setval(name::regclass, coalesce(last, start), last IS NOT NULL) "
                f"FROM (VALUES {rows}) AS moved(name, last, start)",
                [value for row in moved for value in row],
            )


# --- Run from a copy: nothing outside the repository -----------------------------------------
#
# scripts/suite-from-a-copy.sh runs the suite from a copy of the repository with nothing beside
# it (SPINEPATH_CONFINED_TO) and names the checkout it came from (SPINEPATH_CHECKOUT). A file
# opened or listed in that checkout, or beside it, fails the test that did it and the run.


class OutsideTheRepository(RuntimeError):
    """A test, or the code it ran, read a path outside the repository."""


_READS_OUTSIDE: list[str] = []


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _confine_reads(copy: str, checkout: str, beside: str) -> None:
    """Fail any open or listing in the ``checkout`` the copy came from, or ``beside`` it (the
    folder it sits in, where a requirements folder would be) - except the copy itself, the
    Python installation and the temporary folder (when the checkout sits in it)."""
    installed = [os.path.realpath(p) for p in (copy, sys.prefix, sys.base_prefix)]
    temporary = os.path.realpath(tempfile.gettempdir())
    checkout, beside = os.path.realpath(checkout), os.path.realpath(beside)
    if beside == os.path.dirname(beside):  # a checkout at the root: nothing "beside" to guard
        beside = checkout

    def outside(real: str) -> bool:
        if any(_under(real, root) for root in installed):
            return False
        if _under(real, checkout):
            return True
        return _under(real, beside) and not _under(real, temporary)

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        path = args[0]
        if not isinstance(path, str | bytes | os.PathLike):
            return
        real = os.path.realpath(os.fsdecode(path))
        if outside(real):
            _READS_OUTSIDE.append(f"{event} {real}")
            raise OutsideTheRepository(f"{event} {real}: outside the repository")

    sys.addaudithook(audit)


if os.environ.get("SPINEPATH_CONFINED_TO"):
    _copy = os.path.realpath(os.environ["SPINEPATH_CONFINED_TO"])
    _package = os.path.realpath(Path(spinepath.__file__).parent)
    if not _under(_package, _copy):
        pytest.exit(f"spinepath was imported from {_package}, not from the copy {_copy}", 3)
    _checkout = os.environ["SPINEPATH_CHECKOUT"]
    _confine_reads(_copy, _checkout, os.path.dirname(os.path.realpath(_checkout)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _READS_OUTSIDE:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nREAD OUTSIDE THE REPOSITORY:", *sorted(set(_READS_OUTSIDE)), sep="\n  ")


# --- Emptying the database after a transactional test ----------------------------------------
#
# Django empties the tables after a transactional test with DELETE on SQLite (TRUNCATE on
# PostgreSQL, which row triggers do not see). The audit log and the signed decisions refuse
# DELETE in the database, as they must; the test harness, like a database administrator, lifts
# those triggers for the flush and puts them back at once.


def _flush_past_the_audit_trigger() -> None:
    from django.core.management.commands import flush

    if getattr(flush.Command.handle, "_spinepath", False):
        return
    original = flush.Command.handle

    def handle(self: Any, **options: Any) -> Any:
        from django.db import connections

        from spinepath.audit import chain as audit_chain
        from spinepath.web.immutable import SIGNED_DECISIONS_KEPT, refuse_deletes

        connection = connections[options.get("database") or "default"]
        if connection.vendor != "sqlite":
            return original(self, **options)
        audit = importlib.import_module(audit_chain._TRIGGER_MIGRATION)
        triggers = [(audit.forward, audit.backward), refuse_deletes(*SIGNED_DECISIONS_KEPT)]
        with connection.schema_editor() as editor:
            for _forward, backward in triggers:
                backward(None, editor)
        try:
            return original(self, **options)
        finally:
            with connection.schema_editor() as editor:
                for forward, _backward in triggers:
                    forward(None, editor)

    handle._spinepath = True  # type: ignore[attr-defined]
    flush.Command.handle = handle


_flush_past_the_audit_trigger()
