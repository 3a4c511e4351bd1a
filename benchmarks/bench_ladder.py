"""Benchmark: the follow-up reminder ladder (PATHWAY.md section 11) for 100,000 treated
patients - one day's run of ``spinepath send-reminders`` - the moves it makes and the time.

Target (issue 27): a day's run for 100,000 patients in under a minute.

    python benchmarks/bench_ladder.py [--postgres postgres://u:p@host/db] [--patients 100000]

Uses its own database (var/bench/ladder-bench.sqlite3, or the PostgreSQL database named in the
URL), made afresh on each run. Patients are injected on days spread over the last two and a
half years, each with their five visits; three in four answered each visit whose window has
closed. Each has an email, a phone and an address; one in ten declined texts. Emails go to
Django's in-memory outbox and texts to the file provider under var/bench/sms: nothing leaves.

Runs timed: a day in the ladder's ordinary life (every open visit's steps before today already
taken, as the daily runs took them: today's run takes the steps due today), the same day again
(what a second cron run costs), and the worst day - the first day a clinic switches the ladder
on, when every one of the open visits takes its first step at once.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_web import setup_django  # noqa: E402

SPAN_DAYS = 900


def build(patients: int) -> None:
    from django.utils import timezone
    from treatment_helpers import accepted_plan_for, inject, reviewed_patient

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
    from spinepath.pathway.schedule import reassessment_schedule
    from spinepath.patients.models import Patient
    from spinepath.plans.models import CarePlan, Procedure
    from spinepath.web.policy import clinic_policy

    clinician = staff_user_create(
        actor=Actor.system(),
        username="bench.clin",
        password="bench-password-long",
        role="clinician",
    )
    today = timezone.localdate()
    review = today - timedelta(days=20)
    first = reviewed_patient(clinician, review, "bench-ladder")
    plan = accepted_plan_for(first, clinician, review)
    procedure = inject(first, clinician, today - timedelta(days=10))
    ReassessmentVisit.objects.all().delete()
    chooser = random.Random(27)
    made = Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"LD{i:07d}",
                given_name=f"G{i}",
                family_name=f"F{i}",
                family_key=f"f{i} g{i}",
                given_key=f"g{i} f{i}",
                email=f"p{i}@example.org",
                phone=f"+1212555{i % 10000:04d}",
                address_line=f"{i} Main Street",
                address_city="New York",
                address_state="NY",
                postcode="10027",
                remind_by_sms=chooser.random() >= 0.1,
            )
            for i in range(patients)
        ],
        batch_size=2000,
    )
    plans = CarePlan.objects.bulk_create([_copy(plan, patient=p) for p in made], batch_size=2000)
    injected = [today - timedelta(days=chooser.randrange(SPAN_DAYS)) for _ in made]
    anchors = Procedure.objects.bulk_create(
        [
            _copy(procedure, patient=p, plan=pl, performed_on=day)
            for p, pl, day in zip(made, plans, injected, strict=True)
        ],
        batch_size=2000,
    )
    policy = clinic_policy()
    visits = []
    for patient, pl, anchor, day in zip(made, plans, anchors, injected, strict=True):
        for position, v in enumerate(reassessment_schedule(day, policy)):
            visits.append(
                ReassessmentVisit(
                    patient=patient,
                    plan=pl,
                    anchor=anchor,
                    key=v.key,
                    label=v.label,
                    position=position,
                    due=v.due,
                    opens=v.opens,
                    closes=v.closes,
                    injected_on=day,
                    generator="discogenic",
                    material="msc",
                )
            )
    visits = ReassessmentVisit.objects.bulk_create(visits, batch_size=5000)
    OutcomeMeasurement.objects.bulk_create(
        [
            OutcomeMeasurement(
                patient_id=v.patient_id,
                visit=v,
                measured_on=v.due,
                pain_vas=30,
                odi_score=20,
                source="paper",
            )
            for v in visits
            if v.closes < today and chooser.random() < 0.75
        ],
        batch_size=5000,
    )


def _history(today: object) -> int:
    """Every step of every open visit whose day came before today, as the daily runs took
    them: emails, the text and the call sent, the letter printed; the text skipped for those who
    declined texts. Written in bulk."""
    from spinepath.followup.models import ReassessmentVisit, ReminderStep
    from spinepath.pathway.reminders import step_day
    from spinepath.web.policy import clinic_policy

    steps = clinic_policy().reminder_steps
    rows = []
    open_now = ReassessmentVisit.objects.filter(
        opens__lte=today, closes__gte=today, measurement__isnull=True
    ).values_list("pk", "opens", "patient__remind_by_sms")
    for visit_id, opens, texts in open_now:
        for position, step in enumerate(steps):
            day = step_day(opens, step)
            if day >= today:  # type: ignore[operator]
                break
            skipped = step.channel == "sms" and not texts
            rows.append(
                ReminderStep(
                    visit_id=visit_id,
                    step=step.key,
                    position=position,
                    channel=step.channel,
                    status="skipped" if skipped else "sent",
                    detail="the patient chose no text messages" if skipped else "",
                    acted_on=day,
                    call_outcome="no_answer" if step.channel == "call" else "",
                )
            )
    ReminderStep.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _copy(record: object, **changes: object) -> object:
    """A new row like ``record``, its large documents left out (the ladder reads none)."""
    from copy import copy

    from django.db import models

    twin = copy(record)
    twin.pk = None  # type: ignore[attr-defined]
    twin.id = None  # type: ignore[attr-defined]
    for f in record._meta.concrete_fields:  # type: ignore[attr-defined]
        if isinstance(f, models.BinaryField | models.JSONField | models.TextField):
            setattr(twin, f.attname, None if f.null else f.get_default())
    for name, value in changes.items():
        setattr(twin, name, value)
    return twin


def timed_run(day: object) -> tuple[float, Counter[str]]:
    from django.utils import timezone

    from spinepath.accounts.actors import at_command_line
    from spinepath.followup.reminders import send_reminders

    moment = timezone.make_aware(
        timezone.datetime.combine(day, timezone.datetime.min.time()).replace(hour=10)
    )
    began = time.perf_counter()
    run = send_reminders(
        actor=at_command_line("send-reminders"),
        base_url="https://clinic.example",
        today=day,  # type: ignore[arg-type]
        now=moment,
    )
    return time.perf_counter() - began, Counter(run.counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite under var/bench)")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the first day's run")
    args = parser.parse_args()
    bench = ROOT / "var" / "bench" / "ladder-bench.sqlite3"
    if not args.postgres and bench.exists():
        bench.unlink()
    os.environ["SPINEPATH_SMS_PROVIDER"] = "file"
    shutil.rmtree(ROOT / "var" / "bench" / "sms", ignore_errors=True)
    setup_django(args.postgres, "ladder-bench")
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    if args.postgres:
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        from spinepath.plans.defaults import ensure_default_prices
        from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion

        ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)
    started = time.perf_counter()
    build(args.patients)
    from spinepath.followup.models import ReassessmentVisit

    today = timezone.localdate()
    open_now = ReassessmentVisit.objects.filter(
        opens__lte=today, closes__gte=today, measurement__isnull=True
    ).count()
    print(
        f"database: {connection.vendor}; {args.patients:,} treated patients, "
        f"{ReassessmentVisit.objects.count():,} visits, {open_now:,} open and unanswered today "
        f"(built in {time.perf_counter() - started:.0f} s)"
    )
    history = _history(today)
    print(f"the ladder's history before today: {history:,} steps", flush=True)
    for label, day in (
        ("an ordinary day (the steps due today)", today),
        ("the same day again (a second cron run)", today),
        ("the first day the ladder runs (every open visit's first step)", None),
    ):
        if day is None:
            from spinepath.followup.models import QuestionnaireLink, ReminderStep

            ReminderStep.objects.all().delete()
            QuestionnaireLink.objects.all().delete()
            day = today
        if args.profile and "ordinary" in label:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            seconds, counts = timed_run(day)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumtime").print_stats(40)
        else:
            seconds, counts = timed_run(day)
        moves = sum(counts.values())
        summary = ", ".join(f"{n:,} {what}" for what, n in sorted(counts.items())) or "nothing"
        print(f"{label}: {seconds:.1f} s for {moves:,} moves ({summary}) (target: under 60 s)")


if __name__ == "__main__":
    main()
