"""Helpers of the tests that run `spinepath serve` as a real server in another process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPINEPATH = ROOT / ".venv" / "bin" / "spinepath"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_environment(var: Path, demo: bool = True) -> dict[str, str]:
    """The environment of a new installation whose var/ folder is ``var`` (SQLite)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SPINEPATH_VAR"] = str(var)
    if demo:
        env["SPINEPATH_DEMO"] = "1"
    return env


def installed_environment(var: Path, database: Path, demo: bool = True) -> dict[str, str]:
    """The environment of an installation whose var/ folder is ``var`` and whose database is
    already migrated, as after `spinepath demo` or an earlier start, so `spinepath serve` has
    no migration to apply: ``database`` is a new installation's, as `spinepath manage migrate`
    left it (the ``migrated_database`` fixture, tests/conftest.py), copied into ``var``."""
    var.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, var / database.name)
    return fresh_environment(var, demo=demo)


def get_when_up(url: str, headers: dict[str, str] | None = None) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@contextmanager
def serving(
    env: dict[str, str],
    port: int | None = None,
    headers: dict[str, str] | None = None,
    output: Path | None = None,
) -> Iterator[str]:
    """`spinepath serve` on ``port`` (a free one by default) until the block ends; yields its
    base address once it answers (``headers``: those of the first request, e.g. a proxy's;
    ``output``: a file that receives the server's log)."""
    port = port or free_port()
    log = open(output, "w") if output is not None else subprocess.PIPE  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "spinepath.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        get_when_up(f"{base}/accounts/login/", headers)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        if output is not None:
            log.close()  # type: ignore[union-attr]
