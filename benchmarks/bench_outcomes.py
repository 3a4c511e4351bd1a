"""Benchmark: the outcomes dashboard and the cohort export with 100,000 treated patients.

Target (issue "outcomes analytics"): the dashboard in under 2 seconds server time on SQLite and
on PostgreSQL, aggregated in the database; the export streams without holding the cohort in
memory (peak Python memory measured with tracemalloc while streaming the whole CSV). The
follow-up completion (issue 27) is timed as a page (cached, like the dashboard) and as computed
after a change, over a reminder ladder added to the synthetic cohort for the benchmark.

    python benchmarks/bench_outcomes.py [--patients 100000] [--postgres URL]
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import cohort_arguments, ensure_cohort, signed_in_client


def main() -> None:
    args = cohort_arguments(__doc__, "outcomes-bench")

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.followup.models import ReminderStep

    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"spinepath outcomes benchmark on {engine}")
    ensure_cohort(args.patients)

    started = time.perf_counter()
    steps = add_reminder_steps()
    if steps:
        print(f"  {steps:,} reminder steps added in {time.perf_counter() - started:.0f} s")
    print(f"  {ReminderStep.objects.count():,} reminder steps")

    user = staff_user_create(
        actor=Actor.system(), username="bench", password="bench-password-1", role="clinician"
    )
    client = signed_in_client(user)
    pages = {
        "dashboard, whole cohort": "/outcomes/",
        "dashboard, facet, from 2025-06-01": "/outcomes/?generator=facet&from=2025-06-01",
        "dashboard, strongest, 1 target, MSC": (
            "/outcomes/?prognosis=strongest&levels=1&material=msc"
        ),
        "evidence library": "/outcomes/evidence/",
        "follow-up completion": "/outcomes/completion/",
        "the worklist's completion line": "/outcomes/completion/line/",
    }
    for label, path in pages.items():
        client.get(path)
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (response.status_code, response.get("Location"))
        verdict = "ok" if statistics.median(times) < 2 else "OVER 2 s"
        print(
            f"  {label:<40} median {statistics.median(times) * 1000:7.0f} ms  "
            f"{len(queries)} queries  {verdict}"
        )

    # As computed once the data changed (the pages above come from the cache).
    from spinepath.outcomes.completion import completion_counts, target_counts
    from spinepath.outcomes.selectors import Filters, visit_summaries

    today = timezone.localdate()
    computed = {
        "dashboard, computed": lambda: visit_summaries(Filters(), today),
        "follow-up completion, computed": lambda: completion_counts(today),
        "worklist's completion line, computed": lambda: target_counts(today),
    }
    for label, compute in computed.items():
        times = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                compute()
                times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(
            f"  {label:<40} median {median * 1000:7.0f} ms  "
            f"{len(queries)} queries  {'ok' if median < 2 else 'OVER 2 s'}"
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


def add_reminder_steps() -> int:
    """The reminder ladder each opened visit of the synthetic cohort would have climbed had
    every patient been reachable on every channel (the cohort has no contact details, so the
    demo keeps none): each step sent on its day until the answer, or until too late in the
    window; a letter printed two days after it was made. For the benchmark only, so that the
    completion page counts a clinic's volume of steps (about three per visit)."""
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.utils import timezone

    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
    from spinepath.web.policy import clinic_policy

    today = timezone.localdate()
    ladder = clinic_policy().reminder_steps
    visits = (
        ReassessmentVisit.objects.filter(opens__lte=today, steps__isnull=True)
        .values_list("id", "opens", "closes", "measurement__measured_on")
        .order_by()
        .iterator(chunk_size=5000)
    )
    batch: list[ReminderStep] = []
    added = 0
    got: dict[str, list[int]] = {}  # the step that got the answers, as saving them decides
    for visit_id, opens, closes, answered in visits:
        last = None
        for position, step in enumerate(ladder):
            day = opens + timedelta(days=step.after_days)
            if day > min(answered or closes, today):
                break
            late = day > closes - timedelta(days=step.min_days_left)
            printed = None
            if step.channel == ReminderStep.LETTER and not late:
                printed = timezone.make_aware(datetime.combine(day + timedelta(days=2), clock(15)))
            reached = printed.date() if printed else None if late else day
            if answered and reached and reached <= answered:
                last = step.key
            batch.append(
                ReminderStep(
                    visit_id=visit_id,
                    step=step.key,
                    position=position,
                    channel=step.channel,
                    status=ReminderStep.SKIPPED if late else ReminderStep.SENT,
                    acted_on=day,
                    printed_at=printed,
                )
            )
        if last:
            got.setdefault(last, []).append(visit_id)
        if len(batch) >= 5000:
            ReminderStep.objects.bulk_create(batch)
            added += len(batch)
            batch = []
    ReminderStep.objects.bulk_create(batch)
    for key, visit_ids in got.items():
        for start in range(0, len(visit_ids), 900):
            OutcomeMeasurement.objects.filter(visit_id__in=visit_ids[start : start + 900]).update(
                answered_after_step=key
            )
    return added + len(batch)


if __name__ == "__main__":
    main()
