"""The sealer (issue 29): a page view's event on PostgreSQL is written in its own transaction,
durable but not chained, and chained within a second, in the order the events were written;
`audit verify` is unchanged and finds every event. Nothing is lost or reordered when a sealing
fails halfway, and the database refuses every change of an event but the sealing itself.

On SQLite every transaction holds the database's write lock, so events are chained as they are
written; the tests that need events left unsealed make them as a PostgreSQL page view does
(an insert with no ``seq`` and no hashes), on both engines.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from web_helpers import acting

from spinepath.actions import action
from spinepath.audit.chain import verify_database
from spinepath.audit.models import AuditEvent
from spinepath.audit.sealer import Sealer, seal_now, unsealed
from spinepath.audit.services import audit_record, seal_pending
from spinepath.cli import main


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _unsealed_view(what: str, user: Any = None) -> AuditEvent:
    """An event as a page view writes it on PostgreSQL: committed, not chained."""
    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=timezone.now(),
                user=user,
                username=user.username if user else "(system)",
                action=AuditEvent.VIEW,
                what=what,
                path="/patients/",
                detail={},
                prev_hash="",
                hash="",
            )
        ]
    )[0]


@action(None)
def _a_write(*, actor: Any, what: str) -> None:
    audit_record(actor=actor, action=AuditEvent.UPDATE, what=what)


def _chain() -> list[tuple[int, int]]:
    return list(AuditEvent.objects.order_by("seq").values_list("seq", "id"))


def _assert_one_chain_in_id_order() -> None:
    rows = _chain()
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
    assert [i for _, i in rows] == sorted(i for _, i in rows)
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()


# --- On both engines ---------------------------------------------------------------------------


def test_a_write_chains_the_events_left_unsealed_before_its_own(db: Any, clinician: Any) -> None:
    _a_write(actor=acting(clinician), what="first write")
    views = [_unsealed_view(f"view {n}", clinician) for n in range(3)]
    assert unsealed() == 3
    _a_write(actor=acting(clinician), what="second write")
    assert unsealed() == 0
    _assert_one_chain_in_id_order()
    order = list(AuditEvent.objects.order_by("seq").values_list("what", flat=True))
    assert order[-4:] == ["view 0", "view 1", "view 2", "second write"]
    assert [AuditEvent.objects.get(pk=v.pk).seq for v in views] == [
        order.index(f"view {n}") + 1 for n in range(3)
    ]
    assert verify_database().intact


def test_verify_chains_every_event_first_and_checks_them_all(db: Any, clinician: Any) -> None:
    _a_write(actor=acting(clinician), what="a write")
    for n in range(4):
        _unsealed_view(f"view {n}", clinician)
    verdict = verify_database()
    assert verdict.intact and verdict.rows == AuditEvent.objects.count()
    assert verdict.head_seq == AuditEvent.objects.count()
    _assert_one_chain_in_id_order()


def test_the_audit_seal_command_says_what_it_chained(db: Any, clinician: Any, capsys: Any) -> None:
    _unsealed_view("a page", clinician)
    _unsealed_view("another page", clinician)
    assert main(["audit", "seal"]) == 0
    assert "chained 2 events; 0 left unsealed" in capsys.readouterr().out
    assert main(["audit", "seal"]) == 0
    assert "chained 0 events; 0 left unsealed" in capsys.readouterr().out
    assert verify_database().intact


def test_a_sealing_that_fails_halfway_leaves_every_event_to_the_next(
    db: Any, clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _a_write(actor=acting(clinician), what="a write")
    for n in range(5):
        _unsealed_view(f"view {n}", clinician)
    from spinepath.audit import services

    monkeypatch.setattr(services, "SEAL_BATCH", 2)
    real = services._seal_rows
    calls = {"n": 0}

    def crash_on_the_second_batch(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise DatabaseError("the server went away")
        real(*args)

    monkeypatch.setattr(services, "_seal_rows", crash_on_the_second_batch)
    with pytest.raises(DatabaseError), transaction.atomic():
        seal_pending()
    assert calls["n"] == 2
    assert unsealed() == 5  # the first batch's sealing went with the transaction
    monkeypatch.setattr(services, "_seal_rows", real)
    assert seal_now() == 5
    _assert_one_chain_in_id_order()
    whats = list(AuditEvent.objects.order_by("seq").values_list("what", flat=True))
    assert whats[-5:] == [f"view {n}" for n in range(5)]
    assert verify_database().intact


def test_an_event_the_sealer_could_never_chain_is_refused_as_it_is_written(
    db: Any, clinician: Any
) -> None:
    table = AuditEvent._meta.db_table
    columns = "seq, at, username, action, what, path, detail, prev_hash, hash"
    for seq, prev_hash, digest in ((None, "", "x" * 64), (None, "x" * 64, ""), (7, "", "")):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, 'x', 'view', 'poison', "
                "'/p/', '{}', %s, %s)",
                [seq, timezone.now(), prev_hash, digest],
            )
    # The log goes on being written, and verify gives a verdict.
    _a_write(actor=acting(clinician), what="a write")
    assert verify_database().intact


def test_a_write_behind_a_long_backlog_leaves_its_event_to_the_sealer(
    db: Any, clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spinepath.audit import sealer, services

    monkeypatch.setattr(services, "INLINE_SEALING", 3)
    monkeypatch.setattr(sealer, "BATCH", 2)
    _a_write(actor=acting(clinician), what="a write")
    for n in range(7):
        _unsealed_view(f"view {n}", clinician)
    _a_write(actor=acting(clinician), what="a write behind them")
    # It chained as many as a write may (3), and left its own event after the others.
    assert unsealed() == 5
    assert AuditEvent.objects.get(what="a write behind them").seq is None
    assert seal_now() == 5
    whats = list(AuditEvent.objects.order_by("seq").values_list("what", flat=True))
    assert whats[-8:] == [*(f"view {n}" for n in range(7)), "a write behind them"]
    _assert_one_chain_in_id_order()
    assert verify_database().intact


def test_verify_says_when_it_could_not_chain_the_events_waiting(
    db: Any, clinician: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from spinepath.audit import sealer

    _unsealed_view("a page", clinician)

    def fails() -> int:
        raise DatabaseError("could not serialize access")

    monkeypatch.setattr(sealer, "seal_now", fails)
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert (
        "audit log NOT CHECKED: 1 events written but not chained could not be chained: "
        "could not serialize access"
    ) in out


def test_the_database_refuses_every_change_of_an_event_but_its_sealing(
    db: Any, clinician: Any
) -> None:
    _a_write(actor=acting(clinician), what="a write")
    sealed = AuditEvent.objects.get(what="a write")
    pending = _unsealed_view("a page", clinician)
    table = AuditEvent._meta.db_table

    def refused(sql: str, params: list[Any]) -> bool:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError:
            return True
        return False

    # An unsealed event's content is as fixed as a sealed one's.
    assert refused(f"UPDATE {table} SET what = 'nothing to see' WHERE id = %s", [pending.pk])
    assert refused(f"UPDATE {table} SET user_id = NULL WHERE id = %s", [pending.pk])
    # Sealing it while changing it is refused too.
    assert refused(
        f"UPDATE {table} SET seq = 99, prev_hash = 'x', hash = 'y', what = 'other' WHERE id = %s",
        [pending.pk],
    )
    # A sealing that leaves a hash empty is no sealing.
    assert refused(
        f"UPDATE {table} SET seq = 99, prev_hash = 'x', hash = '' WHERE id = %s", [pending.pk]
    )
    # A sealed event is never sealed again, nor renumbered, nor changed.
    assert refused(f"UPDATE {table} SET seq = 1000 WHERE id = %s", [sealed.pk])
    assert refused(f"UPDATE {table} SET hash = %s WHERE id = %s", ["0" * 64, sealed.pk])
    assert refused(
        f"UPDATE {table} SET seq = NULL, prev_hash = '', hash = '' WHERE id = %s", [sealed.pk]
    )
    # Nor deleted, sealed or not.
    assert refused(f"DELETE FROM {table} WHERE id = %s", [pending.pk])
    assert refused(f"DELETE FROM {table} WHERE id = %s", [sealed.pk])
    # The sealing itself goes through, and the log is intact.
    assert seal_now() == 1
    assert AuditEvent.objects.get(pk=pending.pk).what == "a page"
    assert verify_database().intact


def test_events_are_listed_newest_first_sealed_or_not(db: Any, clinician: Any) -> None:
    _a_write(actor=acting(clinician), what="a write")
    newest = _unsealed_view("the newest page", clinician)
    assert AuditEvent.objects.first() == newest
    assert AuditEvent.objects.filter(user=clinician).first() == newest


def test_the_audit_page_shows_an_event_not_chained_yet(
    db: Any, clinician: Any, admin_client: Any
) -> None:
    _unsealed_view("a page seen a moment ago", clinician)
    page = admin_client.get("/audit/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "a page seen a moment ago" in text and "(being chained)" in text


# --- On PostgreSQL: page views side by side, the sealer within a second ----------------------


@pytest.fixture
def postgresql(transactional_db: Any) -> None:
    if not _on_postgresql():
        pytest.skip("events are left unsealed on PostgreSQL only (SQLite chains each at once)")


def _on_its_own_connection(attempt: Any) -> Any:
    """``attempt()`` in a thread of its own (its own connection, closed after), its result."""
    from django.db import connections

    result: list[Any] = []

    def run() -> None:
        try:
            result.append(attempt())
        finally:
            connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    return result[0]


def _a_write_gets_the_lock() -> bool:
    """Whether a write's transaction gets the chain's lock within 300 ms."""
    from django.db import connections

    def attempt() -> bool:
        with connections["default"].cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        try:
            with transaction.atomic():  # the exclusive lock, taken at BEGIN
                return connections["default"].audit_lock == "exclusive"
        except DatabaseError:
            return False

    return bool(_on_its_own_connection(attempt))


def test_a_page_view_is_recorded_unsealed_beside_others_and_a_write_waits_for_them(
    postgresql: None, clinician: Any
) -> None:
    actor = acting(clinician)
    audit_record(actor=actor, action=AuditEvent.VIEW, what="a page")  # no transaction open
    event = AuditEvent.objects.get(what="a page")
    assert event.seq is None and event.hash == "" and event.prev_hash == ""

    # Two page views' transactions hold the lock at once; a write waits for both.
    from django.db import connections

    both_hold = threading.Barrier(3, timeout=10)
    release = threading.Event()
    finished: list[str] = []

    def page_view(name: str) -> None:
        try:
            conn = connections["default"]
            conn.audit_lock_shared_once = True
            with transaction.atomic():
                assert conn.audit_lock == "shared"
                both_hold.wait()
                release.wait(10)
            finished.append(name)
        finally:
            connections["default"].close()

    views = [threading.Thread(target=page_view, args=(n,)) for n in ("first", "second")]
    for view in views:
        view.start()
    try:
        both_hold.wait()  # broken (an error) unless both hold the lock at once
        assert not _a_write_gets_the_lock()
    finally:
        release.set()
        for view in views:
            view.join(10)
    assert sorted(finished) == ["first", "second"]
    assert _a_write_gets_the_lock()


def test_parallel_page_views_and_writes_make_one_chain_in_the_order_written(
    postgresql: None, clinician: Any
) -> None:
    actor = acting(clinician)
    threads, views, writes = 6, 20, 5
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(views):
                audit_record(actor=actor, action=AuditEvent.VIEW, what=f"view {n}.{i}")
                if i % (views // writes) == 0:
                    _a_write(actor=actor, what=f"write {n}.{i}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors
    assert AuditEvent.objects.filter(what__startswith="view ").count() == threads * views
    assert AuditEvent.objects.filter(what__startswith="write ").count() == threads * writes
    seal_now()
    _assert_one_chain_in_id_order()
    # Each thread's events are chained in the order that thread wrote them.
    for n in range(threads):
        mine = list(
            AuditEvent.objects.filter(what__regex=rf"^(view|write) {n}\.")
            .order_by("seq")
            .values_list("what", flat=True)
        )
        expected = []
        for i in range(views):
            expected.append(f"view {n}.{i}")
            if i % (views // writes) == 0:
                expected.append(f"write {n}.{i}")
        assert mine == expected
    assert verify_database().intact


def test_the_sealer_chains_a_page_view_within_a_second(postgresql: None, clinician: Any) -> None:
    sealer = Sealer(interval=0.2)
    sealer.start()
    try:
        audit_record(actor=acting(clinician), action=AuditEvent.VIEW, what="a page")
        written = time.monotonic()
        while AuditEvent.objects.filter(seq__isnull=True).exists():
            assert time.monotonic() - written < 1.0, "not chained within a second"
            time.sleep(0.05)
    finally:
        sealer.stop()
        sealer.join(5)
    assert AuditEvent.objects.get(what="a page").seq is not None
    assert verify_database(seal=False).intact


def test_serve_starts_a_sealer_in_every_worker() -> None:
    from spinepath.site import server

    options = server.options(host="127.0.0.1", port=8000, workers=2, threads=1, access_log=None)
    assert options["post_worker_init"] is server.start_sealer


def test_sealing_needs_the_chain_lock_held_exclusively(postgresql: None) -> None:
    from django.db import connections

    conn = connections["default"]
    conn.audit_lock_shared_once = True
    try:
        with pytest.raises(RuntimeError, match="exclusive lock"), transaction.atomic():
            seal_pending()
    finally:
        conn.audit_lock_shared_once = False
    with pytest.raises(RuntimeError, match="exclusive lock"):
        seal_pending()  # no transaction at all


def test_a_backup_holds_every_event_chained_even_one_committed_as_it_starts(
    postgresql: None, clinician: Any, tmp_path: Any, capsys: Any
) -> None:
    from django.db import connections

    actor = acting(clinician)
    for n in range(3):
        audit_record(actor=actor, action=AuditEvent.VIEW, what=f"view {n}")
    writing = threading.Event()

    def a_slow_page_view() -> None:
        try:
            conn = connections["default"]
            conn.audit_lock_shared_once = True
            with transaction.atomic():
                AuditEvent.objects.bulk_create(
                    [AuditEvent(**_row_of("the slow page", clinician), prev_hash="", hash="")]
                )
                writing.set()
                time.sleep(1.0)  # committed only once the backup has begun
        finally:
            connections["default"].close()

    slow = threading.Thread(target=a_slow_page_view)
    slow.start()
    assert writing.wait(10)
    path = tmp_path / "clinic.backup"
    try:
        assert main(["backup", str(path)]) == 0
    finally:
        slow.join(10)
    out = capsys.readouterr().out
    slow_seq = AuditEvent.objects.get(what="the slow page").seq
    assert slow_seq is not None
    # Every event in the backup is chained: as many as the head's number, the slow one too.
    held, head = _backup_holds(out)
    assert held == head >= slow_seq
    assert verify_database().intact


def _row_of(what: str, user: Any) -> dict[str, Any]:
    return {
        "at": timezone.now(),
        "user": user,
        "username": user.username,
        "action": AuditEvent.VIEW,
        "what": what,
        "path": "/patients/",
        "detail": {},
    }


def test_a_backup_holds_no_event_committed_unsealed_just_before_its_snapshot(
    postgresql: None, clinician: Any, tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections

    from spinepath.audit import sealer

    def page_views_in_another_connection() -> None:
        def write() -> None:
            try:
                conn = connections["default"]
                conn.audit_lock_shared_once = True
                with transaction.atomic():
                    for n in range(3):
                        _unsealed_view(f"in the window {n}", clinician)
            finally:
                connections["default"].close()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(10)

    real, calls = sealer.seal_now, {"n": 0}

    def then_three_page_views() -> int:
        done = real()
        calls["n"] += 1
        if calls["n"] == 1:  # after the backup chained what there was, before its snapshot
            page_views_in_another_connection()
        return done

    monkeypatch.setattr(sealer, "seal_now", then_three_page_views)
    assert main(["backup", str(tmp_path / "clinic.backup")]) == 0
    out = capsys.readouterr().out
    held, head = _backup_holds(out)
    assert held == head
    assert AuditEvent.objects.filter(what__startswith="in the window", seq__lte=head).count() == 3


def _backup_holds(out: str) -> tuple[int, int]:
    """(How many events the backup holds, the last one's number), as `backup` prints them."""
    found = re.search(r"holds ([0-9,]+) audit events, up to #([0-9]+)", out)
    assert found, out
    return int(found.group(1).replace(",", "")), int(found.group(2))


def test_a_time_or_number_the_application_could_not_read_back_is_refused(
    db: Any, clinician: Any
) -> None:
    table = AuditEvent._meta.db_table
    columns = "seq, at, username, action, what, path, detail, prev_hash, hash"
    for seq, at, digest in (
        (None, "infinity", ""),
        (None, "9999-12-31 23:59:59+00", ""),
        (None, "1900-01-01 00:00:00+00", ""),
        (2**63 - 1, timezone.now(), "x" * 64),
        (0, timezone.now(), "x" * 64),
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, 'x', 'view', 'poison', "
                "'/p/', '{}', %s, %s)",
                [seq, at, digest, digest],
            )
    _a_write(actor=acting(clinician), what="a write")
    assert verify_database().intact


def test_an_event_that_cannot_be_read_holds_no_write_up_and_verify_names_it(
    db: Any, clinician: Any, capsys: Any
) -> None:
    _a_write(actor=acting(clinician), what="a write")
    deep = "[" * 3000 + "]" * 3000  # deeper than Python's json reads
    table = AuditEvent._meta.db_table
    sql = (
        f"INSERT INTO {table} (seq, at, username, action, what, path, detail, prev_hash, "
        "hash) VALUES (NULL, %s, 'x', 'view', 'unreadable', '/p/', %s, '', '')"
    )
    if not _on_postgresql():  # SQLite's JSON is 1,000 deep at most: refused as written
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [timezone.now(), deep])
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), deep])
    # Writes go on; their events wait, unsealed, behind the one that cannot be read.
    _a_write(actor=acting(clinician), what="a write after it")
    assert AuditEvent.objects.filter(what="a write after it", seq__isnull=True).exists()
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "audit log NOT CHECKED: 2 events written but not chained could not be chained" in out


def test_an_address_is_hashed_as_the_database_gives_it_back(db: Any, clinician: Any) -> None:
    from dataclasses import replace

    from spinepath.audit.chain import canonical_address

    assert canonical_address("::ffff:10.1.2.3") == "10.1.2.3"  # a dual-stack listener's IPv4
    assert canonical_address("fe80::1%eth0") == "fe80::1"
    assert canonical_address("::1.2.3.4") == "1.2.3.4"
    assert canonical_address("2001:DB8:0:0::1") == "2001:db8::1"
    assert canonical_address("::1") == "::1"
    assert canonical_address("not an address") is None
    actor = acting(clinician)
    for address in ("::ffff:10.1.2.3", "fe80::1%eth0", "::1.2.3.4", "2001:db8::7", "10.9.8.7"):
        _a_write(actor=replace(actor, address=address), what=f"from {address}")
        audit_record(actor=replace(actor, address=address), action="view", what="a page")
    assert verify_database().intact
    assert AuditEvent.objects.get(what="from ::ffff:10.1.2.3").address == "10.1.2.3"
