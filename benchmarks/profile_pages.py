"""Profile the pages of issue 29 in one process: where each request's CPU goes.

    python benchmarks/profile_pages.py [--requests 50] [--top 25] [--patients 0] [--only chart]
                                       [--postgres URL] [--sort tottime|cumulative]

Each page is requested through the whole middleware stack (Django's test client: session,
sign-in, second factor, CSP, audit) as the demo clinician (staff pages) or with an API token
(FHIR reads), first a few times unmeasured, then ``--requests`` times under cProfile. It prints
the CPU milliseconds per request of each page and the functions that take them. The database
is the demo clinic (var/bench/profile/), or with ``--patients`` the load benchmark's
(benchmarks/bench_load.py builds it; var/bench/load/), or PostgreSQL with ``--postgres``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPINEPATH = ROOT / ".venv" / "bin" / "spinepath"


def setup(var: Path, postgres: str | None) -> None:
    os.environ.update(SPINEPATH_DEMO="1", SPINEPATH_VAR=str(var))
    if postgres:
        os.environ["DATABASE_URL"] = postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    if not postgres:  # the demo clinic, made once; later runs only migrate it
        var.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(SPINEPATH), "demo"], check=True, stdout=subprocess.DEVNULL)
    os.environ["DJANGO_SETTINGS_MODULE"] = "spinepath.site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def pages() -> dict[str, tuple[str, dict[str, str]]]:
    """Each page of the issue's table: (path, extra headers)."""
    from spinepath.actors import Actor
    from spinepath.fhir_api.services import token_create
    from spinepath.followup.models import OutcomeMeasurement
    from spinepath.patients.models import Patient

    _, secret = token_create(
        actor=Actor.at_command_line("profile", "bench"),
        name=f"profile {secrets.token_hex(4)}",
        can_write=False,
    )
    fhir = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    # A treated patient with measurements (the chart's fullest case).
    measured = OutcomeMeasurement.objects.order_by("patient_id").values("patient_id").first()
    patient = (
        Patient.objects.get(pk=measured["patient_id"]) if measured else Patient.objects.first()
    )
    term = patient.family_name[:3].lower()
    from spinepath.consultations.models import Encounter

    reviewed = Encounter.objects.filter(status="finished").order_by("-id").first()
    return {
        "public": ("/", {}),
        "chart": (f"/patients/{patient.pk}/", {}),
        "search": (f"/patients/?q={term}", {}),
        "worklist": ("/worklist/", {}),
        "review": (f"/consultations/{reviewed.pk}/review/", {}) if reviewed else ("/", {}),
        "dashboard": ("/outcomes/", {}),
        "fhir read": (f"/fhir/Patient/{patient.pk}", fhir),
        "fhir name search": (f"/fhir/Patient?name={term}", fhir),
        "fhir observations": (f"/fhir/Observation?patient={patient.pk}", fhir),
    }


def _counting(queries: list[str]):  # type: ignore[no-untyped-def]
    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--patients", type=int, default=0, help="use the load benchmark's data")
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--only", action="append", help="a page's name (repeatable)")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--quiet", action="store_true", help="figures only, no profiles")
    parser.add_argument("--sql", action="store_true", help="print each page's queries")
    args = parser.parse_args()
    var = ROOT / "var" / "bench" / ("load" if args.patients else "profile")
    setup(var, args.postgres)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(User.objects.get(username="dr.rivera"))
    anonymous = Client(HTTP_HOST="127.0.0.1")
    figures = []
    table = pages()
    for name, (path, headers) in table.items():
        if args.only and name not in args.only:
            continue
        client = anonymous if name == "public" or name.startswith("fhir") else staff
        for _ in range(3):
            response = client.get(path, **headers)
            assert response.status_code == 200, (name, path, response.status_code)
        queries: list[str] = []
        with connection.execute_wrapper(_counting(queries)):
            client.get(path, **headers)
        if args.sql:
            print(f"\n===== {name} {path}: {len(queries)} queries")
            for sql in queries:
                print(" ", sql[:300])
        profile = cProfile.Profile()
        cpu, wall = time.process_time(), time.perf_counter()
        profile.enable()
        for _ in range(args.requests):
            client.get(path, **headers)
        profile.disable()
        cpu = (time.process_time() - cpu) / args.requests * 1000
        wall = (time.perf_counter() - wall) / args.requests * 1000
        figures.append((name, path, cpu, wall, len(queries)))
        if not args.quiet:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(f"\n===== {name} {path}: {cpu:.1f} ms CPU a request (under the profiler)")
            print("\n".join(out.getvalue().splitlines()[6:]))
    # Without the profiler: the figures to compare.
    print(f"\n{'page':<20}{'CPU ms':>8}{'wall ms':>9}{'queries':>9}  path")
    for name, path, _, _, count in figures:
        client = anonymous if name == "public" or name.startswith("fhir") else staff
        headers = table[name][1]
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            client.get(path, **headers)
        cpu = (time.process_time() - cpu) / args.requests * 1000
        wall = (time.perf_counter() - wall) / args.requests * 1000
        print(f"{name:<20}{cpu:>8.1f}{wall:>9.1f}{count:>9}  {path}")


if __name__ == "__main__":
    main()
