"""Benchmark: the outcomes dashboard and the cohort export with 100,000 treated patients.

Target (issue "outcomes analytics"): the dashboard in under 2 seconds server time on SQLite and
on PostgreSQL, aggregated in the database; the export streams without holding the cohort in
memory (peak Python memory measured with tracemalloc while streaming the whole CSV).

    python benchmarks/bench_outcomes.py [--patients 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    setup_django(args.postgres, name="outcomes-bench")

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
    from spinepath.outcomes.synthetic import generate_cohort
    from spinepath.patients.models import Patient

    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"spinepath outcomes benchmark on {engine}")
    have = Patient.objects.filter(external_id__startswith="synthetic-").count()
    if have < args.patients:
        started = time.perf_counter()
        step = 10_000
        for done in range(have, args.patients, step):
            generate_cohort(min(step, args.patients - done), seed=done)
            print(f"  generated {min(done + step, args.patients):,} patients", flush=True)
        print(f"  generation took {time.perf_counter() - started:.0f} s")
    print(
        f"  {Patient.objects.count():,} patients, {ReassessmentVisit.objects.count():,} visits, "
        f"{OutcomeMeasurement.objects.count():,} measurements"
    )

    user = staff_user_create(
        actor=Actor.system(), username="bench", password="bench-password-1", role="clinician"
    )
    client = Client()
    client.force_login(user)
    pages = {
        "dashboard, whole cohort": "/outcomes/",
        "dashboard, facet, from 2025-06-01": "/outcomes/?generator=facet&from=2025-06-01",
        "dashboard, strongest, 1 target, MSC": (
            "/outcomes/?prognosis=strongest&levels=1&material=msc"
        ),
        "evidence library": "/outcomes/evidence/",
    }
    for label, path in pages.items():
        client.get(path)
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200
        verdict = "ok" if statistics.median(times) < 2 else "OVER 2 s"
        print(
            f"  {label:<40} median {statistics.median(times) * 1000:7.0f} ms  "
            f"{len(queries)} queries  {verdict}"
        )

    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/outcomes/export/cohort-deidentified.csv")
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  de-identified CSV: {rows - 1:,} rows, {size / 2**20:.1f} MiB in "
        f"{time.perf_counter() - started:.1f} s, peak Python memory {peak / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
