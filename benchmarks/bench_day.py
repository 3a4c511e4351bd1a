"""Benchmark: the clinic's day (/day/) for a full day - two clinicians, eight appointments each
(consultations and injection sessions of patients with a signed candidate and an accepted
plan) - the SQL queries and the time of the page's data (``calendar.day_columns``).

Each appointment shows what its patient still needs, read from the patient's standing (the
same the gates read): the cost grows with the number of patients on the day, not with their
histories.

    python benchmarks/bench_day.py [--postgres postgres://u:p@host/db] [--repeat 20]

Uses its own database (var/bench/day-bench.sqlite3, or the PostgreSQL database named in the
URL), made afresh on each run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_web import setup_django  # noqa: E402

PER_CLINICIAN = 8


def _next_weekday(after: date) -> date:
    day = after + timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def build(day: date) -> None:
    from django.utils import timezone
    from treatment_helpers import accepted_plan_for, reviewed_patient
    from web_helpers import acting

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.patients.models import Patient
    from spinepath.plans.selectors import plan_sessions
    from spinepath.public import bookings
    from spinepath.public.models import Room

    coordinator = staff_user_create(
        actor=Actor.system(),
        username="bench.coord",
        password="bench-password-long",
        role="coordinator",
    )
    suite = Room.objects.get_or_create(name="Fluoroscopy suite", defaults={"kind": "fluoroscopy"})
    rooms = {"fluoroscopy": suite[0]}
    for n in range(2):
        room, _ = Room.objects.get_or_create(
            name=f"Consultation room {n + 1}", defaults={"kind": "consultation"}
        )
        rooms[f"c{n}"] = room
    review = timezone.localdate() - timedelta(days=3)
    for c in range(2):
        clinician = staff_user_create(
            actor=Actor.system(),
            username=f"bench.clin{c}",
            password="bench-password-long",
            role="clinician",
            first_name="Dr",
            last_name=f"Bench {c}",
        )
        for slot in range(PER_CLINICIAN):
            start = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
                hours=8 + slot
            )
            if slot % 2 == 0:
                patient = Patient.objects.create(
                    given_name=f"New{c}{slot}", family_name="Patient", email=""
                )
                bookings.appointment_book(
                    actor=acting(coordinator),
                    patient=patient,
                    clinician=clinician,
                    room=rooms[f"c{c}"],
                    start=start,
                    minutes=60,
                )
            else:
                patient = reviewed_patient(clinician, review, f"bench-day-{c}-{slot}")
                plan = accepted_plan_for(patient, clinician, review)
                bookings.session_book(
                    actor=acting(coordinator),
                    plan_id=plan.pk,
                    session_key=plan_sessions(plan)[0].session.key,
                    clinician=clinician,
                    room=rooms["fluoroscopy"],
                    start=start + timedelta(minutes=30 * c),
                    minutes=30,
                )


def measure(day: date, repeat: int) -> tuple[int, int, float]:
    from django.db import connection

    from spinepath.public.calendar import day_columns

    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        columns = day_columns(day)
    shown = sum(len(c.entries) for c in columns)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        day_columns(day)
        times.append(time.perf_counter() - started)
    return shown, len(queries), statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite under var/bench)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    bench = ROOT / "var" / "bench" / "day-bench.sqlite3"
    if not args.postgres and bench.exists():
        bench.unlink()
    setup_django(args.postgres, "day-bench")
    from django.db import connection
    from django.utils import timezone

    if args.postgres:
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        from spinepath.plans.defaults import ensure_default_prices
        from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion

        ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)  # flushed with the rest
    day = _next_weekday(timezone.localdate())
    build(day)
    shown, queries, ms = measure(day, args.repeat)
    print(f"database: {connection.vendor}")
    print(f"appointments on the day: {shown} (2 clinicians x {PER_CLINICIAN})")
    each = queries / max(shown, 1)
    print(f"SQL queries for the day's data: {queries} ({each:.1f} per appointment)")
    print(f"median time for the day's data: {ms:.1f} ms over {args.repeat} runs")


if __name__ == "__main__":
    main()
