"""The demo clinic's follow-up over the next year: the reminder ladder run as cron would (at
10:00 each day) for 365 days on a copy of the demo, the demo's followed patients answering the
way patients do, and what it produced - messages, call tasks, letters - and the completion.

    python benchmarks/demo_year.py [--seed 27]

Each day, a patient whose check-in is open and unanswered answers with the chance the step
they last received gives (the shares registries report climbing with each step: about 45%
answer the first email, then fewer at each rung); a call task is answered on the phone half
the time (the answers entered by the coordinator), goes to voicemail otherwise. Uses its own
database (var/bench/demo-year.sqlite3), made afresh on each run; emails and texts go to files
under var/bench, nothing is sent.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The chance a patient answers on the days after each step (per day, for three days).
ANSWER_AFTER = {"email_1": 0.15, "email_2": 0.08, "text": 0.08, "call": 0.0, "letter": 0.05}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    bench = ROOT / "var" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    database = bench / "demo-year.sqlite3"
    for leftover in bench.glob("demo-year.sqlite3*"):
        leftover.unlink()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "spinepath.site.settings",
            "SPINEPATH_VAR": str(bench / "demo-year"),
            "DATABASE_URL": f"sqlite:///{database}",
            "SPINEPATH_DEMO": "1",
        }
    )
    import django

    django.setup()
    from unittest import mock

    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from spinepath.accounts.actors import at_command_line
    from spinepath.demo import load_demo
    from spinepath.followup import reminders, services
    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
    from spinepath.patients.models import SYNTHETIC_ID_PREFIX

    load_demo()
    chooser = random.Random(args.seed)
    start = timezone.localdate() + timedelta(days=1)
    from django.contrib.auth.models import User

    coordinator = at_command_line("demo-year", User.objects.get(username="sam.coordinator"))
    before = Counter(f"{s.channel} {s.status}" for s in ReminderStep.objects.all())
    answers = services.Answers(pain=35, pain_scale="vas", odi_sections=[2] * 10, safety=None)
    for offset in range(args.days):
        day = start + timedelta(days=offset)
        moment = timezone.make_aware(datetime.combine(day, time(10)))
        with mock.patch.object(timezone, "now", return_value=moment):
            reminders.send_reminders(actor=coordinator, base_url="https://clinic.example")
            open_visits = ReassessmentVisit.objects.filter(
                opens__lte=day, closes__gte=day, measurement__isnull=True
            ).exclude(patient__external_id__startswith=SYNTHETIC_ID_PREFIX)
            for visit in open_visits:
                last = visit.steps.exclude(status="skipped").order_by("-acted_on", "-id").first()
                if last is None or (day - last.acted_on).days > 3:
                    continue
                if last.channel == "call" and last.call_outcome == "":
                    if chooser.random() < 0.5:
                        services.paper_form_enter(
                            actor=coordinator,
                            visit=visit,
                            answers=answers,
                            measured_on=day,
                            source=OutcomeMeasurement.PHONE,
                        )
                    else:
                        reminders.call_outcome_record(
                            actor=coordinator, step=last, outcome="voicemail"
                        )
                elif chooser.random() < ANSWER_AFTER.get(last.step, 0.0):
                    token = services.questionnaire_link_create(actor=coordinator, visit=visit)
                    services.questionnaire_submit(actor=coordinator, token=token, answers=answers)
    after = Counter(f"{s.channel} {s.status}" for s in ReminderStep.objects.all())
    produced = after - before
    real = ReassessmentVisit.objects.exclude(patient__external_id__startswith=SYNTHETIC_ID_PREFIX)
    end = start + timedelta(days=args.days - 1)
    closed = real.filter(closes__lte=end)
    print(f"The demo clinic's follow-up from {start} to {end} ({args.days} days):")
    for what, n in sorted(produced.items()):
        print(f"  {n:4d} {what}")
    calls = ReminderStep.objects.filter(channel="call", acted_on__gte=start)
    print(
        "  call outcomes: "
        + ", ".join(
            f"{n} {o or 'none recorded'}"
            for o, n in Counter(calls.values_list("call_outcome", flat=True)).items()
        )
    )
    answered = closed.filter(measurement__isnull=False).count()
    print(
        f"Visits whose window closed by then: {closed.count()}, answered {answered} "
        f"({100 * answered / max(closed.count(), 1):.0f}%)"
    )
    for key in ("6w", "3m", "6m", "12m", "24m"):
        due = closed.filter(key=key)
        done = due.filter(measurement__isnull=False).count()
        if due.exists():
            print(f"  {key}: {done} of {due.count()}")


if __name__ == "__main__":
    main()
