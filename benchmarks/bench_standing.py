"""Benchmark: building a patient's standing (PATHWAY.md section 9) with 1 and with 20
consultations - the number of SQL queries and the time.

Target (issue "What stands now"): the same number of queries whatever the length of the
patient's history; each gate then reads the standing without touching the database.

    python benchmarks/bench_standing.py [--postgres postgres://u:p@host/db] [--repeat 50]

Uses its own database (var/bench/standing-bench.sqlite3, or the PostgreSQL database named in
the URL), made afresh on each run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_web import setup_django  # noqa: E402


def patient_with(consultations: int, clinician: Any, tag: str) -> Any:
    """A signed candidate with an accepted plan, then ``consultations - 1`` later consultations
    (every other one signed), each with its own MRI and block."""
    import time_machine
    from django.utils import timezone
    from treatment_helpers import released
    from web_helpers import acting, import_encounter

    from spinepath.consultations.actions import (
        block_add,
        decision_sign,
        encounter_save,
        encounter_start,
        study_save,
    )
    from spinepath.plans.acceptance import plan_accept
    from spinepath.plans.services import plan_create

    first = date(2024, 1, 10)
    with time_machine.travel(timezone.make_aware(timezone.datetime(2024, 1, 10, 10)), tick=False):
        encounter = import_encounter(
            clinician,
            assessed_on=first.isoformat(),
            imaging=[
                {
                    "modality": "MRI",
                    "date": "2023-12-10",
                    "reviewed": True,
                    "levels": [
                        {
                            "level": "L4-L5",
                            "pfirrmann": 4,
                            "disc_height_loss_pct": 20,
                            "endplate_bone_on_bone": False,
                        }
                    ],
                }
            ],
            patient__id=tag,
            history__prior_procedures=[],
        )
        decision_sign(encounter=encounter, actor=acting(clinician), token=f"{tag}-0".ljust(24, "x"))
        plan = plan_create(patient=encounter.patient, actor=acting(clinician))
        plan = released(plan, clinician)
        plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician))
    patient = encounter.patient
    for n in range(1, consultations):
        day = first + timedelta(days=30 * n)
        stamp = timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 10))
        with time_machine.travel(stamp, tick=False):
            later = encounter_start(patient=patient, actor=acting(clinician), assessed_on=day)
            encounter_save(
                encounter=later,
                actor=acting(clinician),
                step="history",
                fields={"goals": f"visit {n}"},
            )
            study = study_save(
                patient=patient,
                through=later,
                actor=acting(clinician),
                fields={"modality": "MRI", "performed_on": day - timedelta(days=5)},
                attest=True,
            )
            del study
            block_add(
                patient=patient,
                through=later,
                actor=acting(clinician),
                fields={
                    "kind": "medial_branch",
                    "performed_on": day - timedelta(days=2),
                    "levels": ["L4-L5"],
                    "side": "left",
                    "relief_pct": 30.0,
                },
            )
            if n % 2 == 0 or n == consultations - 1:
                decision_sign(
                    encounter=later, actor=acting(clinician), token=f"{tag}-{n}".ljust(24, "x")
                )
    return patient


def measure(patient: Any, repeat: int) -> tuple[int, float]:
    from django.db import connection

    from spinepath.plans.standing import patient_standing

    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        patient_standing(patient)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        patient_standing(patient)
        times.append(time.perf_counter() - started)
    return len(queries), statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite under var/bench)")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    bench = ROOT / "var" / "bench" / "standing-bench.sqlite3"
    if not args.postgres and bench.exists():
        bench.unlink()
    setup_django(args.postgres, "standing-bench")
    from django.db import connection

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.patients.models import Patient

    if args.postgres:
        Patient.objects.all().delete()  # pragma: no cover - a fresh database is expected
    clinician = staff_user_create(
        actor=Actor.system(),
        username=f"bench-clin-{int(time.time())}",
        password="bench-pass-1234!",
        role="clinician",
    )
    print(f"building the standing of one patient ({connection.vendor})")
    for count in (1, 20):
        patient = patient_with(count, clinician, f"bench-{count}-{int(time.time())}")
        queries, median_ms = measure(patient, args.repeat)
        print(f"  {count:>2} consultations: {queries} queries, median {median_ms:.1f} ms")


if __name__ == "__main__":
    main()
