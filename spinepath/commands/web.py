"""spinepath serve / spinepath demo: the clinic web application."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinepath.site.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # only when the cache is the database


def add_parser(subcommands: Any) -> None:
    serve = subcommands.add_parser(
        "serve",
        help="run the clinic web application",
        description="Apply database migrations, then serve the web application with gunicorn: "
        "a worker process per core (and one more). SIGHUP restarts the workers "
        "gracefully (requests under way finish); SIGTERM or Ctrl-C stops.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="default: 8000")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: one per core of this machine, and one more)",
    )
    serve.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    serve.add_argument(
        "--access-log",
        metavar="FILE",
        default="-",
        help="where each request is logged, without query strings or tokens ('-' for standard "
        "output, the default; 'none' for no access log)",
    )
    serve.add_argument(
        "--trusted-proxy",
        metavar="ADDRESS",
        default=os.environ.get("SPINEPATH_TRUSTED_PROXY") or None,
        help="the reverse proxy in front (e.g. 127.0.0.1): its X-Forwarded-Proto and "
        "X-Forwarded-For are believed, so HTTPS and the client's address are seen as they are "
        "(default: SPINEPATH_TRUSTED_PROXY, otherwise none)",
    )
    serve.set_defaults(handler=run_serve)

    createadmin = subcommands.add_parser(
        "createadmin",
        help="create a clinic admin account (for a real clinic)",
        description="Create the clinic's first administrator. The password is asked for twice "
        "(or read from --password-file); the second factor is set up at the first sign-in. "
        "The clinic admin then creates the other staff accounts on the Staff page.",
    )
    createadmin.add_argument("username")
    createadmin.add_argument("--email", default="")
    createadmin.add_argument("--first-name", default="")
    createadmin.add_argument("--last-name", default="")
    createadmin.add_argument(
        "--password-file", metavar="FILE", help="read the password from the file's first line"
    )
    createadmin.set_defaults(handler=run_createadmin)

    demo = subcommands.add_parser(
        "demo",
        help="load the demo users and patients",
        description="Apply migrations and load demo users (one per role) and a dozen patients "
        "who between them reach every decision. Safe to run again.",
    )
    demo.set_defaults(handler=run_demo)

    cohort = subcommands.add_parser(
        "demo-data",
        help="add a synthetic treated cohort (for demos and benchmarks)",
        description="Add N synthetic patients with decisions, accepted plans, injections and "
        "follow-ups with plausible trajectories and drop-out.",
    )
    cohort.add_argument("--patients", type=int, default=300, help="how many (default 300)")
    cohort.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    cohort.set_defaults(handler=run_demo_data)

    reminders = subcommands.add_parser(
        "send-reminders",
        help="climb the follow-up reminder ladder: emails, texts, call tasks, letters",
        description="Climb every open check-in's reminder ladder as far as today allows "
        "(emails, a text, a call task, a letter to print; docs/pathway.md). Safe to run from "
        "cron as often as you like, even two at once: each step is taken once, at most one a "
        "day per visit, and no email or text in the clinic's quiet hours.",
    )
    reminders.add_argument("--date", metavar="YYYY-MM-DD", help="act as if today were this day")
    reminders.add_argument("--base-url", help="the address in the links (SPINEPATH_BASE_URL)")
    reminders.set_defaults(handler=run_send_reminders)

    figures = subcommands.add_parser(
        "daily-figures",
        help="compute the day's 'patients like you' figures and the clinic's model",
        description="Compute the figures patients read today - 'patients like you' for each "
        "kind of treatment and the clinic's model of 12-month pain response, of the records up "
        "to yesterday - and keep them for the day (docs/pathway.md). Run it from cron early "
        "each day, so that no patient waits for them; figures already kept are left as they "
        "are.",
    )
    figures.add_argument("--date", metavar="YYYY-MM-DD", help="act as if today were this day")
    figures.set_defaults(handler=run_daily_figures)

    manage = subcommands.add_parser(
        "manage",
        help="Django's management commands (migrate, createsuperuser, ...)",
        description="Run a Django management command, e.g. `spinepath manage createsuperuser`.",
    )
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=run_manage)


def run_serve(args: argparse.Namespace) -> int:
    if args.trusted_proxy:
        # The application reads it from the settings (spinepath.site.wsgi), in every worker.
        os.environ["SPINEPATH_TRUSTED_PROXY"] = args.trusted_proxy
    for name, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value is not None and not 1 <= value <= 64:
            print(f"{name}: between 1 and 64 (got {value}).", file=sys.stderr)
            return 2
    if args.access_log not in ("-", "none"):
        try:
            with open(args.access_log, "a"):
                pass
        except OSError as exc:
            print(
                f"--access-log: cannot write {args.access_log} ({exc.strerror}).", file=sys.stderr
            )
            return 2
    if not os.environ.get("SPINEPATH_BASE_URL"):
        # Links in emails and on the pages that hand them over point at this server, not at
        # the default port, when no public address is configured (a proxy's must be set).
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        os.environ["SPINEPATH_BASE_URL"] = f"http://{host}:{args.port}"
    _django()
    _migrate()
    import socket

    from django.conf import settings

    from spinepath.site import server

    try:  # a clear error for a port in use, before gunicorn's retries
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as exc:
        print(
            f"--port: cannot serve on {args.host}:{args.port} ({exc.strerror}); is another "
            "server running there? Stop it or choose another --port.",
            file=sys.stderr,
        )
        return 2
    workers = args.workers or server.default_workers()
    if settings.SPINEPATH_DEMO:
        print("DEMO MODE: demo logins sign in with their published password alone.", flush=True)
    if args.trusted_proxy:
        print(f"behind the reverse proxy at {args.trusted_proxy}", flush=True)
    print(f"links in emails point at {settings.SPINEPATH_BASE_URL} (SPINEPATH_BASE_URL)")
    print(
        f"spinepath is serving on http://{args.host}:{args.port}/ with {workers} worker "
        f"process{'es' if workers != 1 else ''} x {args.threads} "
        f"thread{'s' if args.threads != 1 else ''}  (Ctrl-C to stop)",
        flush=True,
    )
    from django.db import connections

    connections.close_all()  # each worker opens its own
    options = server.options(
        host=args.host,
        port=args.port,
        workers=workers,
        threads=args.threads,
        access_log=None if args.access_log == "none" else args.access_log,
    )
    from spinepath.site.wsgi import application

    server.Server(application, options).run()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    _django()
    from django.conf import settings

    if not settings.SPINEPATH_DEMO:
        print(
            "spinepath demo: the demo clinic's logins share one published password, so it loads "
            "only in demo mode. Run it as `SPINEPATH_DEMO=1 spinepath demo` (what `make run` "
            "does), never on a clinic's database. For a real clinic: `spinepath createadmin`.",
            file=sys.stderr,
        )
        return 2
    _migrate()
    from spinepath.demo import load_demo
    from spinepath.outcomes.synthetic import generate_cohort
    from spinepath.patients.models import SYNTHETIC_ID_PREFIX, Patient

    def counts() -> tuple[int, int]:
        synthetic = Patient.objects.filter(external_id__startswith=SYNTHETIC_ID_PREFIX).count()
        return Patient.objects.count() - synthetic, synthetic

    (own_before, synthetic_before) = counts()
    logins = load_demo()
    if not synthetic_before:
        generate_cohort(300)  # so the outcomes dashboard has a cohort to show
    own, synthetic = counts()
    print(f"Demo mode. Demo logins (password for all: {logins[0][2]}; no second step):")
    for username, role, _password in logins:
        print(f"  {username:<18} {role}")
    print()
    if (own, synthetic) == (own_before, synthetic_before):
        print("The demo clinic was already loaded: nothing was added or changed.")
    else:
        print(
            f"Loaded the demo clinic: {own - own_before} patients to try (listed first under "
            f"Patients) and {synthetic - synthetic_before} synthetic treated patients for the "
            "outcomes dashboard."
        )
    print(_where_things_are())
    return 0


def _where_things_are() -> str:
    from django.conf import settings

    base = settings.SPINEPATH_BASE_URL.rstrip("/")
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        where_data = f"SQLite file {database['NAME']}"
    else:
        where_data = (
            f"PostgreSQL database {database['NAME']} on {database.get('HOST') or 'localhost'}"
        )
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        where_mail = f"{settings.EMAIL_FILE_PATH} (one file per message, nothing is sent)"
    else:
        where_mail = f"sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    public, staff = f"{base}/", f"{base}/accounts/login/"
    width = len(staff) + 2
    return "\n".join(
        [
            f"Open {public} once the server says it is serving:",
            f"  {public:<{width}}public: the indication page, self-screen, consultation requests",
            f"  {staff:<{width}}staff: sign in with a login above",
            f"Database: {where_data}",
            f"Mail:     {where_mail}",
        ]
    )


def run_createadmin(args: argparse.Namespace) -> int:
    import getpass

    _django()
    _migrate()
    from django.contrib.auth.models import User

    from spinepath.accounts.actors import at_command_line
    from spinepath.accounts.services import (
        create_clinic_admin,
        password_problems,
        username_problem,
    )

    problem = username_problem(args.username)
    if problem:
        print(f"username: {problem}", file=sys.stderr)
        return 2
    if User.objects.filter(username__iexact=args.username).exists():
        print(f"username: {args.username} already exists; choose another.", file=sys.stderr)
        return 2
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                password = handle.readline().rstrip("\n")
        except OSError as exc:
            print(
                f"--password-file: cannot read {args.password_file} ({exc.strerror})",
                file=sys.stderr,
            )
            return 2
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            print("password: the two entries differ; nothing was created.", file=sys.stderr)
            return 2
    problems = password_problems(password, User(username=args.username, email=args.email))
    if problems:
        print("password: " + " ".join(problems), file=sys.stderr)
        return 2
    create_clinic_admin(
        actor=at_command_line(args.command),
        username=args.username,
        password=password,
        email=args.email,
        first_name=args.first_name,
        last_name=args.last_name,
    )
    print(
        f"Clinic admin {args.username} created. Sign in at {_base()}/accounts/login/ and set up "
        "the authenticator app; then add staff on the Staff page."
    )
    return 0


def _base() -> str:
    from django.conf import settings

    return str(settings.SPINEPATH_BASE_URL)


def run_demo_data(args: argparse.Namespace) -> int:
    if not 1 <= args.patients <= 1_000_000:
        print("--patients: must be between 1 and 1,000,000", file=sys.stderr)
        return 2
    _django()
    _migrate()
    from spinepath.outcomes.synthetic import generate_cohort

    added = generate_cohort(args.patients, seed=args.seed)
    print(f"{added} synthetic patients added")
    return 0


def _date_option(args: argparse.Namespace) -> Any:
    """``--date`` as a date (None when not given), or False after saying what is wrong."""
    from datetime import date

    if not args.date:
        return None
    try:
        return date.fromisoformat(args.date)
    except ValueError:
        print(f"--date: must be a date written YYYY-MM-DD (got {args.date!r})", file=sys.stderr)
        return False


def run_daily_figures(args: argparse.Namespace) -> int:
    import time

    today = _date_option(args)
    if today is False:
        return 2
    _django()
    _migrate()
    from django.utils import timezone

    from spinepath.outcomes.odds import daily_figures

    started = time.perf_counter()
    as_of, lines = daily_figures(today or timezone.localdate())
    print(f"Figures of the records up to {as_of.isoformat()}:")
    for line in lines:
        print(f"  {line}")
    print(f"Done in {time.perf_counter() - started:.1f} s.")
    return 0


def run_send_reminders(args: argparse.Namespace) -> int:
    today = _date_option(args)
    if today is False:
        return 2
    _django()
    _migrate()
    from django.conf import settings

    from spinepath.accounts.actors import at_command_line
    from spinepath.followup.reminders import send_reminders

    run = send_reminders(
        actor=at_command_line(args.command),
        today=today,
        base_url=args.base_url or settings.SPINEPATH_BASE_URL,
    )
    print(f"Reminder ladder: {run.text}")
    return 0


def run_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinepath.site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["spinepath manage", *args.arguments])
    return 0
