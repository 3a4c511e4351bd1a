"""The audit sealer: how fast a backlog of unsealed events is chained, and how long each
transaction holds the chain's lock while it does (issue 29).

A backlog arises on PostgreSQL when the application is served without a sealer for a while
(spinepath/audit/sealer.py). The events are written as page views write them (no number, no
hashes), then chained by ``seal_now``: a batch per transaction.

    .venv/bin/python benchmarks/bench_sealer.py --postgres postgres://USER:PASS@HOST/DB
    .venv/bin/python benchmarks/bench_sealer.py            # SQLite, under var/bench/sealer

The database named is emptied of its audit events first: give it one of its own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    var = ROOT / "var" / "bench" / "sealer"
    var.mkdir(parents=True, exist_ok=True)
    os.environ["SPINEPATH_VAR"] = str(var)
    os.environ["DATABASE_URL"] = args.postgres or f"sqlite:///{var / 'spinepath.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "spinepath.site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from spinepath.audit import sealer
    from spinepath.audit.models import AuditEvent
    from spinepath.audit.services import seal_pending

    call_command("migrate", verbosity=0)
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:  # a scratch database: the triggers lifted to empty it
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_never_deleted")
            cursor.execute(f"DELETE FROM {table}")
            call_command("migrate", "audit", "0005", verbosity=0)
            call_command("migrate", verbosity=0)
    now = timezone.now()
    rows = [
        AuditEvent(
            at=now,
            username="bench",
            action=AuditEvent.VIEW,
            what=f"page {n}",
            path="/patients/",
            detail={"shown": [n]},
            prev_hash="",
            hash="",
        )
        for n in range(args.events)
    ]
    AuditEvent.objects.bulk_create(rows, batch_size=2000)
    engine = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"{engine}: {args.events:,} unsealed events; a batch is {sealer.BATCH:,}")

    held: list[float] = []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        with transaction.atomic():
            done = seal_pending(limit=sealer.BATCH)
        held.append(time.perf_counter() - t0)
        if not done:
            break
    seconds = time.perf_counter() - started
    print(
        f"chained in {seconds:.2f} s: {args.events / seconds:,.0f} events/s; the lock held "
        f"{max(held) * 1000:.0f} ms at most per transaction ({len(held)} transactions)"
    )
    from spinepath.audit.chain import verify_database

    t0 = time.perf_counter()
    verdict = verify_database(seal=False)
    print(
        f"verify: {'intact' if verdict.intact else 'BROKEN'}, {verdict.rows:,} events in "
        f"{time.perf_counter() - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
