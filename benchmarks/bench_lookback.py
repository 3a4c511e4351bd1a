"""Benchmark: the look-back (PATHWAY.md section 10) among 100,000 injected patients - which
patients received one lot, by its code - the rows found and the time.

Target (issue 26): exactly the patients of the lot, in under one second.

    python benchmarks/bench_lookback.py [--postgres postgres://u:p@host/db] [--patients 100000]

Uses its own database (var/bench/lookback-bench.sqlite3, or the PostgreSQL database named in
the URL), made afresh on each run. The patients and injections are written in bulk (one plan
stands for all of them: the look-back reads the injections and the patients only).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_web import setup_django  # noqa: E402

LOTS = 100


def build(patients: int) -> str:
    from django.utils import timezone
    from treatment_helpers import accepted_plan_for, reviewed_patient
    from web_helpers import acting

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.patients.models import Patient
    from spinepath.plans.biologics import lot_create, product_create
    from spinepath.plans.models import Procedure

    clinician = staff_user_create(
        actor=Actor.system(),
        username="bench.clin",
        password="bench-password-long",
        role="clinician",
    )
    admin = staff_user_create(
        actor=Actor.system(),
        username="bench.admin",
        password="bench-password-long",
        role="clinic_admin",
    )
    review = timezone.localdate() - timedelta(days=3)
    first = reviewed_patient(clinician, review, "bench-lookback")
    plan = accepted_plan_for(first, clinician, review)
    product = product_create(
        actor=acting(admin),
        name="Bench BMAC",
        kind="bmac",
        source="autologous",
        establishment="Bench lab",
    )
    lots = [
        lot_create(
            actor=acting(admin),
            product_id=product.pk,
            lot=f"L{n:03d}",
            code=f"CODE-{n:03d}",
            expires_on=timezone.localdate() + timedelta(days=365),
        )
        for n in range(LOTS)
    ]
    made = Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"BL{i:07d}",
                given_name=f"G{i}",
                family_name=f"F{i}",
                family_key=f"f{i} g{i}",
                given_key=f"g{i} f{i}",
                email=f"p{i}@example.org",
            )
            for i in range(patients)
        ],
        batch_size=2000,
    )
    if made and made[0].pk is None:  # a database that does not return ids (not these two)
        made = list(Patient.objects.filter(mrn__startswith="BL").order_by("id"))
    chooser = random.Random(7)
    Procedure.objects.bulk_create(
        [
            Procedure(
                patient=patient,
                plan=plan,
                performed_on=review,
                generator="discogenic",
                level="L4-L5",
                material="msc",
                guidance="fluoroscopy",
                operator=clinician,
                lot=lots[chooser.randrange(LOTS)],
                cells_million=10,
                viability_pct=90,
            )
            for patient in made
        ],
        batch_size=2000,
    )
    return lots[42].code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite under var/bench)")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    bench = ROOT / "var" / "bench" / "lookback-bench.sqlite3"
    if not args.postgres and bench.exists():
        bench.unlink()
    setup_django(args.postgres, "lookback-bench")
    from django.db import connection

    if args.postgres:
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        from spinepath.plans.defaults import ensure_default_prices
        from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion

        ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)  # flushed with the rest
    started = time.perf_counter()
    code = build(args.patients)
    print(
        f"database: {connection.vendor}; {args.patients:,} injected patients, {LOTS} lots "
        f"(built in {time.perf_counter() - started:.0f} s)"
    )
    from spinepath.plans.biologics import lookback
    from spinepath.plans.models import Procedure

    expected = set(Procedure.objects.filter(lot__code=code).values_list("patient_id", flat=True))
    found = lookback(lot=code)
    assert {r.patient.pk for r in found} == expected, "the look-back missed or added a patient"
    times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        lookback(lot=code)
        times.append(time.perf_counter() - began)
    print(f"patients who received lot {code}: {len(found):,} (exactly those of the lot)")
    print(
        f"look-back time: median {statistics.median(times) * 1000:.0f} ms, "
        f"worst {max(times) * 1000:.0f} ms over {args.repeat} runs (target: under 1,000 ms)"
    )


if __name__ == "__main__":
    main()
