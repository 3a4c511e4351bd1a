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
from collections.abc import Callable
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
    """Each page of the issue's table: (path, extra headers); the writes of the load
    benchmark's mixes are in ``writes``."""
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


def writes(count: int) -> dict[str, Callable[[], tuple[str, dict[str, str]]]]:
    """The writes of the load benchmark's mixes: for each, a function giving the next
    request's (path, form data). A patient's answers take a new link each time."""
    from bench_load import (  # the same forms as the load benchmark
        history_form,
        patient_answers,
        step_encounter,
    )
    from django.utils import timezone

    from spinepath.actors import Actor
    from spinepath.followup.models import ReassessmentVisit
    from spinepath.followup.services import questionnaire_link_create

    today = timezone.localdate()
    visits = ReassessmentVisit.objects.filter(
        opens__lte=today, closes__gte=today, measurement__isnull=True, injected_on__isnull=False
    ).order_by("?")[: count + 1]
    tokens = [questionnaire_link_create(actor=Actor.system(), visit=v, today=today) for v in visits]
    answers, history = patient_answers(), history_form(today.isoformat())
    encounter = step_encounter()
    page, unused = tokens[0], iter(tokens[1:])
    return {
        "questionnaire page": lambda: (f"/q/{page}/", {}),
        "questionnaire answer": lambda: (f"/q/{next(unused)}/", answers),
        "step save": lambda: (f"/consultations/{encounter.pk}/history/", history),
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
    # Each entry: (client, method, a function giving the next request's path and data,
    # headers). The writes need fresh links: 3 + 1 + 2 runs of --requests, and a spare.
    entries: dict[str, tuple[Client, str, Callable[[], tuple[str, dict[str, str]]], dict]] = {}
    for name, (path, headers) in pages().items():
        client = anonymous if name == "public" or name.startswith("fhir") else staff
        entries[name] = (client, "get", lambda path=path: (path, {}), headers)
    wanted = [n for n in ("questionnaire page", "questionnaire answer", "step save")]
    if args.only:
        wanted = [n for n in wanted if n in args.only]
    if wanted:
        for name, next_request in writes(2 * args.requests + 10).items():
            client = staff if name == "step save" else anonymous
            method = "get" if name == "questionnaire page" else "post"
            entries[name] = (client, method, next_request, {})

    def request(name: str) -> int:
        client, method, next_request, headers = entries[name]
        path, data = next_request()
        response = getattr(client, method)(path, data, **headers)
        return int(response.status_code)

    figures = []
    for name in entries:
        if args.only and name not in args.only:
            continue
        for _ in range(3):
            status = request(name)
            assert status in (200, 302), (name, status)
        queries: list[str] = []
        with connection.execute_wrapper(_counting(queries)):
            request(name)
        if args.sql:
            print(f"\n===== {name}: {len(queries)} queries")
            for sql in queries:
                print(" ", sql[:300])
        profile = cProfile.Profile()
        cpu = time.process_time()
        profile.enable()
        for _ in range(args.requests):
            request(name)
        profile.disable()
        cpu = (time.process_time() - cpu) / args.requests * 1000
        figures.append((name, len(queries)))
        if not args.quiet:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(f"\n===== {name}: {cpu:.1f} ms CPU a request (under the profiler)")
            print("\n".join(out.getvalue().splitlines()[6:]))
    # Without the profiler: the figures to compare.
    print(f"\n{'page':<22}{'CPU ms':>8}{'wall ms':>9}{'queries':>9}")
    for name, count in figures:
        for _ in range(3):  # again after the writes above (they change what pages are kept under)
            request(name)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            request(name)
        cpu = (time.process_time() - cpu) / args.requests * 1000
        wall = (time.perf_counter() - wall) / args.requests * 1000
        print(f"{name:<22}{cpu:>8.1f}{wall:>9.1f}{count:>9}")


if __name__ == "__main__":
    main()
