"""Load benchmark: the clinic's pages under concurrent use, served as `make run` serves them.

Targets (issue 29, "Fast per core", on a 2-core machine, each beside the hello ceiling of the
same run):
  each page alone, demo data, 16 connections (--patients 0 --pages-only): chart and worklist
  >= 200 req/s, search >= 400, dashboard >= 300, public page >= 50% of hello; FHIR
  Patient/{id} >= 700 req/s, FHIR searches >= 400; every page a member of staff or an API
  client opens is one audit event (counted before and after each run);
  at 100,000 patients (the default): staff mix (search, chart, review page, step save,
  worklist, dashboard) at 32 users >= 200 req/s with p95 < 150 ms, patient mix
  (questionnaire page and submission) at 64 users >= 300 req/s, 0 errors, no duplicate
  answers, on SQLite and on PostgreSQL.

    python benchmarks/bench_load.py [--seconds 10] [--patients 100000] [--postgres URL]
                                    [--pages-only] [--connections 16]

It builds (once; later runs reuse it) a database of the demo clinic plus a synthetic cohort of
--patients (var/bench/load/ for SQLite, var/bench/load-demo/ for --patients 0, or the
PostgreSQL database named in the URL, with var/bench/load-pg/ for its cache), starts `spinepath
serve` on it in demo mode as `make run` does (gunicorn, a worker per core and one more), signs
in as the demo clinician, and drives it with wrk (Debian's package `wrk`). Every figure comes
from the same machine in the same run, beside a "hello" WSGI app on the same server settings,
the ceiling of what the server and the load generator can do here. Each row also gives the
server's CPU per request (its processes' user and system time over the run, divided by the
answers).

The mixes: after one unmeasured pass (the steady state of a clinic's morning, caches filled),
one wrk run per mix sends the pages in turn over its connections and counts status codes (the
overall req/s, latency percentiles and errors). Then each page alone, at the same concurrency,
gives its own req/s and percentiles. The patient mix answers each questionnaire link once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPINEPATH = ROOT / ".venv" / "bin" / "spinepath"
PYTHON = ROOT / ".venv" / "bin" / "python"
BENCH_ROOT = ROOT / "var" / "bench"
BENCH_VAR = BENCH_ROOT / "load"  # --patients 0: BENCH_ROOT / "load-demo"

# --- The database ------------------------------------------------------------------------------


def environment(postgres: str | None, patients: int = 100_000) -> dict[str, str]:
    global BENCH_VAR
    # Each database its own var/ folder: the shared cache keeps figures per data version, and
    # two databases must never read each other's.
    BENCH_VAR = BENCH_ROOT / (("load-pg" if postgres else "load") + ("" if patients else "-demo"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SPINEPATH_DEMO="1", SPINEPATH_VAR=str(BENCH_VAR))
    if postgres:
        env["DATABASE_URL"] = postgres
    return env


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    if "DATABASE_URL" not in env:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "spinepath.site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(env: dict[str, str], patients: int, postgres: str | None) -> None:
    """The demo clinic and a synthetic cohort of ``patients`` (only what is missing)."""
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    if postgres:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_web import _create_pg_database

        _create_pg_database(postgres)
    subprocess.run([str(SPINEPATH), "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    _setup_django(env)
    from spinepath.patients.models import Patient

    missing = patients - Patient.objects.count()
    if missing > 0:
        print(f"adding {missing} synthetic patients (once; later runs reuse them) ...", flush=True)
        subprocess.run(
            [str(SPINEPATH), "demo-data", "--patients", str(missing), "--seed", "99"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


@dataclass
class Fixtures:
    patient_ids: list[int]
    search_terms: list[str]
    review_ids: list[int]
    step_encounter: int
    page_tokens: list[str]  # links whose page is opened (and never answered)
    tokens: list[str]  # links that are answered, each once
    api_token: str  # a FHIR API token (read only)
    measured_ids: list[int]  # patients with answered check-ins (their Observations)


def step_encounter() -> Any:
    """The consultation in progress whose first step the staff mix saves (made once)."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from spinepath.accounts.actors import staff_member
    from spinepath.consultations.actions import encounter_start
    from spinepath.consultations.models import Encounter
    from spinepath.patients.models import Patient
    from spinepath.patients.services import patient_create

    today = timezone.localdate()
    clinician = staff_member(User.objects.get(username="dr.rivera"), path="(benchmark)")
    bench = Patient.objects.filter(external_id="bench-load-steps").first() or patient_create(
        actor=clinician,
        details={
            "family_name": "Steps",
            "given_name": "Benchmark",
            "birth_date": today - timedelta(days=365 * 50),
            "sex": "female",
            "external_id": "bench-load-steps",
        },
    )
    return Encounter.objects.filter(
        patient=bench, status=Encounter.IN_PROGRESS
    ).first() or encounter_start(patient=bench, actor=clinician, assessed_on=today)


def fixtures(questionnaires: int) -> Fixtures:
    """Ids for the staff pages, a consultation to save steps of, and questionnaire links."""
    from django.db import connections
    from django.utils import timezone

    from spinepath.actors import Actor
    from spinepath.consultations.models import Encounter
    from spinepath.followup.models import ReassessmentVisit
    from spinepath.followup.services import questionnaire_link_create
    from spinepath.patients.models import Patient

    today = timezone.localdate()
    step = 997
    ids = list(Patient.objects.order_by("id").values_list("id", flat=True)[::step][:200])
    families = list(
        Patient.objects.filter(id__in=ids).values_list("family_name", flat=True).distinct()
    )
    terms = [f[:3].lower() for f in families[:40]]
    reviews = list(Encounter.objects.order_by("id").values_list("id", flat=True)[::step][:100])
    encounter = step_encounter()
    open_visits = ReassessmentVisit.objects.filter(
        opens__lte=today, closes__gte=today, measurement__isnull=True, injected_on__isnull=False
    ).order_by("?")[: questionnaires + 200]
    tokens = [
        questionnaire_link_create(actor=Actor.system(), visit=v, today=today) for v in open_visits
    ]
    from spinepath.fhir_api.services import token_create
    from spinepath.followup.models import OutcomeMeasurement

    _, api_token = token_create(
        actor=Actor.at_command_line("bench-load", "bench"),
        name=f"bench-load {timezone.now():%Y%m%d%H%M%S%f}",
        can_write=False,
    )
    measured = list(
        OutcomeMeasurement.objects.order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()[:200]
    )
    connections.close_all()
    return Fixtures(
        ids, terms, reviews, encounter.pk, tokens[:200], tokens[200:], api_token, measured
    )


def audit_events() -> int:
    """The audit log's length (every page a member of staff or an API client opened is one
    event: the count before and after a run says whether any was lost)."""
    from django.db import connections

    from spinepath.audit.models import AuditEvent

    count = AuditEvent.objects.count()
    connections.close_all()
    return count


def measurements_per_visit() -> tuple[int, int]:
    """(measurements, visits with more than one): after the patient mix."""
    from django.db import connections
    from django.db.models import Count

    from spinepath.followup.models import OutcomeMeasurement

    total = OutcomeMeasurement.objects.count()
    doubled = (
        OutcomeMeasurement.objects.values("visit_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    connections.close_all()
    return total, doubled


# --- The server --------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class Server:
    """`spinepath serve` as `make run` starts it (demo mode, a worker per core)."""

    def __init__(
        self, env: dict[str, str], threads: int | None = None, workers: int | None = None
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [str(SPINEPATH), "serve", "--port", str(self.port), "--access-log", "none"]
        if threads:
            cmd += ["--threads", str(threads)]
        if workers:
            cmd += ["--workers", str(workers)]
        self.log = open(BENCH_VAR / "serve.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log)
        wait_until_up(f"{self.base}/accounts/login/")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def cpu_seconds(self) -> float:
        return process_tree_cpu(self.process.pid)


def process_tree_cpu(pid: int) -> float:
    """User and system CPU seconds of a process and its children so far (Linux /proc): the
    server's master and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(c) for c in children)
    return total


HELLO_APP = textwrap.dedent(
    """
    def application(environ, start_response):
        body = b"hello"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [body]
    """
)


class HelloServer:
    """The ceiling: a bare WSGI app on the same gunicorn settings."""

    def __init__(self, folder: Path) -> None:
        (folder / "hello_app.py").write_text(HELLO_APP)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # The same settings as `spinepath serve` (spinepath/site/server.py).
        workers = str(len(os.sched_getaffinity(0)) + 1)
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--chdir", str(folder)]
        cmd += ["-w", workers, "-k", "gthread", "--threads", "1", "--keep-alive", "5"]
        cmd += ["-b", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen([*cmd, "hello_app:application"], stderr=subprocess.DEVNULL)
        wait_until_up(self.base + "/")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def sign_in(base: str, username: str, password: str) -> dict[str, str]:
    """Cookies of a signed-in session (demo mode: the demo login's password alone)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    opener.open(urllib.request.Request(f"{base}/accounts/login/", data=form))
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise SystemExit(f"could not sign in as {username}")
    return cookies


def csrf_pair(base: str, path: str) -> tuple[str, str]:
    """A CSRF cookie and a form token that goes with it (any number of posts may use them)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + path).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return next(c.value for c in jar if c.name == "csrftoken"), token


# --- wrk ---------------------------------------------------------------------------------------

WRK_SCRIPT = r"""
-- Sends the requests of a file in turn; each thread starts at its own share of the list, so
-- that requests meant to be sent once (a questionnaire's answers) are sent once.
requests = {}
counts = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file = io.open(args[1])
  for line in file:lines() do
    local method, path, headers, body = line:match("^(.-)\t(.-)\t(.-)\t(.*)$")
    local h = {}
    for pair in headers:gmatch("[^|]+") do
      local k, v = pair:match("^(.-): (.*)$")
      h[k] = v
    end
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, h, body))
  end
  file:close()
  index = (id - 1) * math.floor(#requests / tonumber(args[2]))
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests_)
  local totals = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for k, v in pairs(c) do totals[k] = (totals[k] or 0) + v end
  end
  local out = io.open(os.getenv("WRK_COUNTS"), "w")
  for k, v in pairs(totals) do out:write("status " .. k .. "\t" .. v .. "\n") end
  out:write("p50\t" .. latency:percentile(50) .. "\n")
  out:write("p95\t" .. latency:percentile(95) .. "\n")
  out:write("p99\t" .. latency:percentile(99) .. "\n")
  out:write("requests\t" .. summary.requests .. "\n")
  out:write("duration_us\t" .. summary.duration .. "\n")
  local e = summary.errors
  out:write("socket_errors\t" .. (e.connect + e.read + e.write + e.timeout) .. "\n")
  out:close()
end
"""


@dataclass
class Request:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""

    def line(self) -> str:
        headers = "|".join(f"{k}: {v}" for k, v in self.headers.items())
        return "\t".join([self.method, self.path, headers, self.body])


@dataclass
class Result:
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    by_status: dict[str, int]
    socket_errors: int

    def errors(self, ok: tuple[str, ...] = ("200", "302")) -> int:
        bad = sum(n for status, n in self.by_status.items() if status not in ok)
        return bad + self.socket_errors

    def statuses(self) -> str:
        return ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items()))


def wrk(base: str, requests: list[Request], connections: int, seconds: int, folder: Path) -> Result:
    plan = folder / "requests.tsv"
    plan.write_text("\n".join(r.line() for r in requests) + "\n")
    script = folder / "mix.lua"
    script.write_text(WRK_SCRIPT)
    counts = folder / "counts.tsv"
    threads = min(2, connections)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    cmd += ["--timeout", "10s", "-s", str(script), base, "--", str(plan), str(threads)]
    env = {**os.environ, "WRK_COUNTS": str(counts)}
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    values: dict[str, str] = dict(
        line.split("\t", 1) for line in counts.read_text().splitlines() if "\t" in line
    )
    duration = float(values.pop("duration_us")) / 1e6
    total = int(values.pop("requests"))
    p50, p95, p99 = (float(values.pop(k)) / 1000 for k in ("p50", "p95", "p99"))
    socket_errors = int(values.pop("socket_errors"))
    by_status = {k.split(" ", 1)[1]: int(v) for k, v in values.items()}
    return Result(total / duration, p50, p95, p99, by_status, socket_errors)


# --- The mixes ---------------------------------------------------------------------------------


def history_form(today: str) -> dict[str, str]:
    """The consultation's first step as the clinician's browser posts it (every field)."""
    return {
        "assessed_on": today,
        "pain_duration_months": "24",
        "pattern": "axial",
        "physical_therapy_weeks": "12",
        "nsaid_trial": "true",
        "conservative_status": "plateaued",
        "prior_procedures_asked": "true",
        "medications": "ibuprofen",
        "goals": "Garden again",
        "red_cauda_equina": "false",
        "red_infection": "false",
        "red_malignancy": "false",
        "red_fracture": "false",
        "pain_vas": "70",
        **{f"odi_{i}": "2" for i in range(1, 11)},
    }


def patient_answers() -> dict[str, str]:
    """Every question the patient's page requires: pain, the ICHOM low back pain questions, a
    no to each safety question; and the ten ODI sections."""
    from spinepath.pathway.safety import SAFETY_QUESTIONS

    return {
        "pain": "35",
        **{f"odi_{i}": "1" for i in range(1, 11)},
        **{f"safety_{q.key}": "no" for q in SAFETY_QUESTIONS},
        "back_pain_nrs": "3",
        "leg_pain_nrs": "1",
        "work_status": "full_time",
        "analgesic_use": "occasional",
        "opioid_use": "no",
    }


def staff_requests(f: Fixtures, cookies: list[dict[str, str]], today: str) -> list[Request]:
    """The staff mix, in turn: search, chart, review page, step save, worklist, dashboard."""
    history = history_form(today)
    out = []
    for i in range(60):
        jar = cookies[i % len(cookies)]
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        get = {"Cookie": cookie}
        post = {
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRFToken": jar["csrftoken"],
        }
        term = f.search_terms[i % len(f.search_terms)]
        out += [
            Request("search", "GET", f"/patients/?q={term}", get),
            Request("chart", "GET", f"/patients/{f.patient_ids[i % len(f.patient_ids)]}/", get),
            Request(
                "review",
                "GET",
                f"/consultations/{f.review_ids[i % len(f.review_ids)]}/review/",
                get,
            ),
            Request(
                "step save",
                "POST",
                f"/consultations/{f.step_encounter}/history/",
                post,
                urllib.parse.urlencode(history),
            ),
            Request("worklist", "GET", "/worklist/", get),
            Request("dashboard", "GET", "/outcomes/", get),
        ]
    return out


def patient_requests(f: Fixtures, csrf: tuple[str, str]) -> list[Request]:
    """The patient mix: each link's page, then its answers (sent once per link)."""
    cookie, token = csrf
    answers = patient_answers()
    body = urllib.parse.urlencode({**answers, "csrfmiddlewaretoken": token})
    get = {"Cookie": f"csrftoken={cookie}"}
    post = {**get, "Content-Type": "application/x-www-form-urlencoded"}
    out = []
    for i, t in enumerate(f.tokens):
        page = f.page_tokens[i % len(f.page_tokens)]
        out += [
            Request("questionnaire page", "GET", f"/q/{page}/", get),
            Request("questionnaire submission", "POST", f"/q/{t}/", post, body),
        ]
    return out


def warm(base: str, requests: list[Request]) -> None:
    """Open each distinct page of ``requests`` once, one after another."""
    for request in {r.path: r for r in requests if r.method == "GET"}.values():
        opened = urllib.request.Request(base + request.path, headers=request.headers)
        with urllib.request.urlopen(opened, timeout=60) as response:
            response.read()


def report(title: str, result: Result, cpu_ms: float | None = None, note: str = "") -> None:
    socket = f"; socket {result.socket_errors}" if result.socket_errors else ""
    cpu = f"  CPU {cpu_ms:>5.1f} ms/req" if cpu_ms is not None else ""
    print(
        f"{title:<44}{result.requests_per_s:>8,.0f} req/s  p50 {result.p50_ms:>5.0f} ms  "
        f"p95 {result.p95_ms:>5.0f} ms  p99 {result.p99_ms:>5.0f} ms{cpu}  errors "
        f"{result.errors()}  ({result.statuses()}{socket}){note}"
    )


def measured(
    server: Server, requests: list[Request], connections: int, seconds: int, folder: Path
) -> tuple[Result, float, int]:
    """(wrk's result, the server's CPU milliseconds per request, audit events added)."""
    events, cpu = audit_events(), server.cpu_seconds()
    result = wrk(server.base, requests, connections, seconds, folder)
    cpu = server.cpu_seconds() - cpu
    added = audit_events() - events
    answered = sum(result.by_status.values()) or 1
    return result, cpu * 1000 / answered, added


def page_requests(f: Fixtures, cookies: dict[str, str]) -> dict[str, list[Request]]:
    """The issue's table: each page alone (staff pages as the demo clinician, FHIR reads with
    a bearer token)."""
    staff = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    fhir = {"Authorization": f"Bearer {f.api_token}", "Accept": "application/fhir+json"}
    ids, measured_ids, terms = f.patient_ids, f.measured_ids or f.patient_ids, f.search_terms
    n = 40
    return {
        "public indication page (anonymous)": [Request("public", "GET", "/", {})],
        "patient chart": [
            Request("chart", "GET", f"/patients/{ids[i % len(ids)]}/", staff) for i in range(n)
        ],
        "patient search": [
            Request("search", "GET", f"/patients/?q={terms[i % len(terms)]}", staff)
            for i in range(n)
        ],
        "follow-up worklist": [Request("worklist", "GET", "/worklist/", staff)],
        "outcomes dashboard": [Request("dashboard", "GET", "/outcomes/", staff)],
        "FHIR Patient/{id} read": [
            Request("fhir read", "GET", f"/fhir/Patient/{ids[i % len(ids)]}", fhir)
            for i in range(n)
        ],
        "FHIR Patient?name= search": [
            Request("fhir name", "GET", f"/fhir/Patient?name={terms[i % len(terms)]}", fhir)
            for i in range(n)
        ],
        "FHIR Observation?patient= search": [
            Request(
                "fhir obs",
                "GET",
                f"/fhir/Observation?patient={measured_ids[i % len(measured_ids)]}",
                fhir,
            )
            for i in range(n)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="each run (default 10)")
    parser.add_argument(
        "--patients", type=int, default=100_000, help="0: the demo clinic alone (the table)"
    )
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--connections", type=int, default=16, help="each page alone (16)")
    parser.add_argument("--staff-users", type=int, default=32)
    parser.add_argument("--patient-users", type=int, default=64)
    parser.add_argument("--threads", type=int, help="threads per worker (serve's default)")
    parser.add_argument("--workers", type=int, help="worker processes (serve's default)")
    parser.add_argument("--pages-only", action="store_true", help="the table, not the mixes")
    parser.add_argument(
        "--only", action="append", help="with --pages-only: rows whose title holds this text"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    env = environment(args.postgres, args.patients)
    build(env, args.patients, args.postgres)
    engine = "PostgreSQL" if args.postgres else "SQLite"
    from django.utils import timezone

    questionnaires = 0 if args.pages_only else max(2000, args.seconds * 500)
    f = fixtures(questionnaires)
    size = f"{args.patients:,} patients" if args.patients else "the demo clinic"
    print(
        f"{engine}, {size}; {os.cpu_count()} cores; wrk, {args.seconds} s a run; "
        f"{len(f.tokens)} questionnaire links"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    hello = HelloServer(folder)
    try:
        hello_rows = {
            c: wrk(hello.base, [Request("hello", "GET", "/", {})], c, args.seconds, folder)
            for c in sorted({args.connections, args.staff_users})
        }
    finally:
        hello.stop()
    for c, result in hello_rows.items():
        report(f"hello WSGI ceiling ({c} connections)", result)
    ceiling = hello_rows[args.connections]
    server = Server(env, args.threads, args.workers)
    rows: dict[str, dict[str, float]] = {}
    missing_events = 0
    try:
        cookies = [sign_in(server.base, u, "spinepath-demo") for u in ("dr.rivera", "dr.okafor")]
        print(f"\neach page alone ({args.connections} connections):")
        for title, requests in page_requests(f, cookies[0]).items():
            if args.only and not any(part.lower() in title.lower() for part in args.only):
                continue
            wrk(server.base, requests, args.connections, 2, folder)  # warm
            result, cpu_ms, added = measured(
                server, requests, args.connections, args.seconds, folder
            )
            shown = result.by_status.get("200", 0)
            expected = 0 if requests[0].name == "public" else shown
            missing_events += max(0, expected - added)
            share = f"; {result.requests_per_s / ceiling.requests_per_s:.0%} of hello"
            report(
                f"  {title}",
                result,
                cpu_ms,
                f"; audit events +{added} for {expected} audited answers{share}",
            )
            rows[title] = {
                "rps": round(result.requests_per_s),
                "cpu_ms": round(cpu_ms, 1),
                "p95_ms": round(result.p95_ms),
            }
        if args.pages_only:
            summary: dict[str, object] = {
                "engine": engine,
                "patients": args.patients,
                "ceiling_rps": round(ceiling.requests_per_s),
                "pages": rows,
                "audit_events_missing": missing_events,
            }
            print("\n" + json.dumps(summary))
            return
        staff = staff_requests(f, cookies, timezone.localdate().isoformat())
        # Steady state: each page of the mix opened once, then one unmeasured pass (the
        # server's caches and connections, and the database's pages, as after a few minutes
        # of a clinic's morning: the kept pages of an earlier build are not shown by this one).
        warm(server.base, staff)
        wrk(server.base, staff, args.staff_users, max(3, args.seconds // 2), folder)
        mixed, mixed_cpu, mixed_events = measured(
            server, staff, args.staff_users, args.seconds, folder
        )
        alone = {}
        for name in dict.fromkeys(r.name for r in staff):
            only = [r for r in staff if r.name == name]
            alone[name] = measured(
                server, only, args.staff_users, max(3, args.seconds // 2), folder
            )
        print()
        report(
            f"staff mix ({args.staff_users} users)",
            mixed,
            mixed_cpu,
            f"; audit events +{mixed_events} for {sum(mixed.by_status.values())} answers",
        )
        for name, (result, cpu_ms, _) in alone.items():
            report(f"  {name} alone", result, cpu_ms)
        before, _ = measurements_per_visit()
        patients = patient_requests(f, csrf_pair(server.base, f"/q/{f.page_tokens[0]}/"))
        pmix, pmix_cpu, _ = measured(server, patients, args.patient_users, args.seconds, folder)
        after, doubled = measurements_per_visit()
        answered = sum(1 for r in patients if r.method == "POST") and pmix.by_status.get("200", 0)
        report(f"patient mix ({args.patient_users} users)", pmix, pmix_cpu)
        print(
            f"  answers stored: {after - before}; visits with two answers: {doubled} "
            f"(200s in the mix: {answered}, half of them pages)"
        )
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    summary = {
        "engine": engine,
        "patients": args.patients,
        "ceiling_rps": round(ceiling.requests_per_s),
        "pages": rows,
        "audit_events_missing": missing_events,
        "staff_rps": round(mixed.requests_per_s),
        "staff_p95_ms": round(mixed.p95_ms),
        "staff_errors": mixed.errors(),
        "dashboard_p95_ms": round(alone["dashboard"][0].p95_ms),
        "patient_rps": round(pmix.requests_per_s),
        "patient_errors": pmix.errors(),
        "duplicate_answers": doubled,
    }
    print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
