"""Benchmark: patient search and the chart page with 100,000 patients, on SQLite or PostgreSQL.

Target (issue "clinic web application"): each answers in under 100 ms server time at the
median, with a number of SQL queries per page that does not grow with the data.

    python benchmarks/bench_web.py [--patients 100000] [--postgres postgres://u:p@host/db]

Uses its own database (var/bench/web-bench.sqlite3, or the PostgreSQL database named in the
URL, created if missing) and generates the patients once; later runs reuse them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_FIRST_NAMES = """
Maria Ana Sofia Elena Grace Helen Aisha Priya Rosa Laura Emma Olivia Ava Mia Chloe Lucy
Nora James John Robert Michael David Daniel Thomas Omar Luis Marcus Ben Tom Samuel Peter
Paul Adam Noah Liam Ethan Lucas Mateo Hugo Leo Ivan Yusuf Kenji Hiro Wei Li Chen Ravi
Arjun Kofi Kwame
"""
_LAST_NAMES = """
Lopez Carter Shah Becker Bello Kim Novak Haddad Taylor Moreno Rossi Walsh Petrova Green
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Wilson
Anderson Thomas Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez
Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Adams Nelson
Baker Hall Rivera Campbell Mitchell Roberts Phillips Evans Turner Diaz Parker Cruz Edwards
Collins Reyes Stewart Morris Murphy Cook Rogers Morgan Peterson Cooper Reed Bailey Bell
Gomez Kelly Howard Ward Cox Richardson Wood Watson Brooks Bennett Gray James Hughes Price
Sanders Myers Long Ross Foster Okafor Mensah Tanaka Sato Suzuki Wang Zhang Patel Singh
Kumar Ivanova Kowalski
"""
FIRST = _FIRST_NAMES.split()
LAST = _LAST_NAMES.split()


def setup_django(postgres: str | None, name: str = "web-bench") -> None:
    bench = ROOT / "var" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "spinepath.site.settings"
    os.environ["SPINEPATH_VAR"] = str(bench)
    # Django's test client asks for "testserver", which only the test runner allows.
    os.environ.setdefault("SPINEPATH_ALLOWED_HOSTS", "testserver")
    if postgres:
        _create_pg_database(postgres)
        os.environ["DATABASE_URL"] = postgres
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{bench / (name + '.sqlite3')}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def cohort_arguments(doc: str | None, name: str) -> Any:
    """A cohort benchmark's options (--patients, --postgres), its database set up."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    setup_django(args.postgres, name=name)
    return args


def ensure_cohort(patients: int, *, synthetic: bool = True) -> None:
    """The benchmark's treated cohort (the synthetic generator's; ``synthetic=False`` makes
    them the clinic's own), added 10,000 at a time up to ``patients``, and its size printed."""
    import time

    from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
    from spinepath.outcomes.synthetic import generate_cohort
    from spinepath.patients.models import SYNTHETIC_ID_PREFIX, Patient

    mine = Patient.objects.all()
    if synthetic:
        mine = mine.filter(external_id__startswith=SYNTHETIC_ID_PREFIX)
    have = mine.count()
    if have < patients:
        started = time.perf_counter()
        step = 10_000
        for done in range(have, patients, step):
            generate_cohort(min(step, patients - done), seed=done, synthetic=synthetic)
            print(f"  generated {min(done + step, patients):,} patients", flush=True)
        print(f"  generation took {time.perf_counter() - started:.0f} s")
    print(
        f"  {Patient.objects.count():,} patients, {ReassessmentVisit.objects.count():,} visits, "
        f"{OutcomeMeasurement.objects.count():,} measurements"
    )


def signed_in_client(user: object) -> object:
    """A test client signed in as ``user``, past the second step (an authenticator set up), as
    staff pages require."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "Authenticator app"}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _create_pg_database(url: str) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    conninfo = (
        f"host={cfg['HOST'] or '127.0.0.1'} port={cfg['PORT'] or 5432} user={cfg['USER']} "
        f"password={cfg['PASSWORD']} dbname=postgres"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def generate(count: int) -> None:
    from django.db import transaction

    from spinepath.consultations.models import (
        DiagnosticBlock,
        Encounter,
        ImagingStudy,
        LevelFinding,
    )
    from spinepath.patients.models import Patient, name_key

    have = Patient.objects.count()
    if have >= count:
        return
    rng = random.Random(7)
    payers = ["self_pay", "commercial", "medicare_ab_supplement", "medicare_advantage"]
    started = time.perf_counter()
    batch = 5000
    for offset in range(have, count, batch):
        patients = []
        for i in range(offset, min(offset + batch, count)):
            given, family = rng.choice(FIRST), rng.choice(LAST)
            patients.append(
                Patient(
                    mrn=f"SP{i + 1:07d}",
                    given_name=given,
                    family_name=family,
                    birth_date=date(1940, 1, 1) + timedelta(days=rng.randrange(0, 22000)),
                    sex=rng.choice(["female", "male"]),
                    payer=rng.choice(payers),
                    family_key=name_key(family, given),
                    given_key=name_key(given, family),
                )
            )
        with transaction.atomic():
            created = Patient.objects.bulk_create(patients)
            if not created or created[0].pk is None:
                created = list(Patient.objects.filter(mrn__in=[p.mrn for p in patients]))
            treated = [p for p in created if rng.random() < 0.1]
            Encounter.objects.bulk_create(
                Encounter(patient=p, assessed_on=date(2026, 10, 1), pain_vas=60) for p in treated
            )
            studies = ImagingStudy.objects.bulk_create(
                ImagingStudy(patient=p, performed_on=date(2026, 8, 1), reviewed=True)
                for p in treated
            )
            if studies and studies[0].pk is None:
                studies = list(ImagingStudy.objects.filter(patient__in=treated))
            LevelFinding.objects.bulk_create(
                LevelFinding(study=s, level=lv, pfirrmann=rng.randrange(1, 5))
                for s in studies
                for lv in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
            )
            DiagnosticBlock.objects.bulk_create(
                DiagnosticBlock(
                    patient=p,
                    kind="medial_branch",
                    performed_on=date(2026, 9, 1),
                    levels=["L5-S1"],
                    relief_pct=85,
                )
                for p in treated
            )
        print(f"  generated {min(offset + batch, count):,} patients", end="\r", flush=True)
    print(f"  generated {count:,} patients in {time.perf_counter() - started:.0f} s      ")


def measure(client: Any, paths: list[str], rounds: int = 60) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for path in paths[:5]:
        client.get(path)
    times, queries = [], set()
    for i in range(rounds):
        path = paths[i % len(paths)]
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries.add(len(ctx))
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], max(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="benchmark on this PostgreSQL database")
    args = parser.parse_args()
    setup_django(args.postgres)

    from django.conf import settings

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.patients.models import Patient

    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"spinepath web benchmark on {engine}")
    generate(args.patients)
    settings.DEBUG = False
    user = staff_user_create(
        actor=Actor.system(), username="bench", password="bench-password-1", role="clinician"
    )
    client = signed_in_client(user)
    rng = random.Random(3)
    sample = list(Patient.objects.order_by("?")[:200])
    with_records = [p for p in sample if p.encounters.exists()] or sample
    pages = {
        "search by last-name prefix ('lo', 'mar', ...)": [
            f"/patients/?q={rng.choice(LAST)[: rng.choice([2, 3])].lower()}" for _ in range(40)
        ],
        "search by first and last name": [
            f"/patients/?q={p.given_name}+{p.family_name}" for p in sample[:40]
        ],
        "search by date of birth": [f"/patients/?q={p.birth_date}" for p in sample[:40]],
        "search by record number": [f"/patients/?q={p.mrn}" for p in sample[:40]],
        "chart, patient without records": [f"/patients/{p.pk}/" for p in sample[:40]],
        "chart, patient with consultation, MRI, block": [
            f"/patients/{p.pk}/" for p in with_records[:40]
        ],
    }
    total = Patient.objects.count()
    print(f"  {total:,} patients in the database")
    for label, paths in pages.items():
        median, p95, queries = measure(client, paths)
        verdict = "ok" if median < 100 else "OVER 100 ms"
        print(
            f"  {label:<46} median {median:6.1f} ms  p95 {p95:6.1f} ms  "
            f"{queries} queries  {verdict}"
        )


if __name__ == "__main__":
    main()
