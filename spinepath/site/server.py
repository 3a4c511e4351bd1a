"""`spinepath serve`: gunicorn, a worker process per core (and one more), one thread each.

The arbiter process starts the workers, replaces one that dies, and on SIGHUP starts new workers
and lets the old ones finish their requests (graceful restart; SIGTERM stops gracefully too).
Before anything reaches Django, :class:`Gate` refuses a body over the size limit (without
reading it) and settles who the client is: behind the trusted proxy, its X-Forwarded-For and
X-Forwarded-Proto are believed; from anyone else those headers are removed. The access log
carries the method, the path without its query string (a search's query names a patient), the
status, size and time, and never a questionnaire token.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from spinepath.web.clients import redact

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED")
ACCESS_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


LARGE_UPLOADS = re.compile(r"^/consultations/[0-9]+/imaging/dicom/$")


class Gate:
    """WSGI middleware in front of Django: the body limit and the trusted proxy."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_body: int,
        trusted_proxy: str | None,
        max_upload: int | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.trusted_proxy = trusted_proxy
        self.max_upload = max_upload or max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return _refuse(start_response, "400 Bad Request", b"Content-Length: not a number.\n")
        # An MRI's DICOM files (one upload page) may be large; every other body is small.
        upload = environ.get("REQUEST_METHOD") == "POST" and bool(
            LARGE_UPLOADS.match(environ.get("PATH_INFO", ""))
        )
        limit = self.max_upload if upload else self.max_body
        too_big = int(length) > limit
        if too_big or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Never read: the server closes the connection after the answer.
            body = f"Request body too large (the limit is {limit // 2**20} MiB).\n".encode()
            return _refuse(start_response, "413 Content Too Large", body)
        if self.trusted_proxy and environ.get("REMOTE_ADDR") == self.trusted_proxy:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            # The proxy appends the address it saw: the last entry is the one it vouches for.
            client = _address(forwarded.split(",")[-1])
            if client:
                environ["REMOTE_ADDR"] = client
        else:
            for header in FORWARDED:
                environ.pop(header, None)
        return self.app(environ, start_response)


def _address(text: str) -> str | None:
    """The client address a proxy's entry names, or None when it names none: a proxy may give
    a port ("1.2.3.4:80", "[::1]:80") or an IPv6 zone; anything else that is not an address
    ("unknown", a typo) leaves the proxy's own address as the client's."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _refuse(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class AccessLog(Logger):  # type: ignore[misc]
    """gunicorn's logger with the access line cut down to what carries no patient data."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "q"):
            if key in atoms:
                atoms[key] = (
                    "-" if key == "q" else printable(redact(str(atoms[key]).split("?", 1)[0]))
                )
        return atoms


def printable(text: str) -> str:
    """A path as one log line: control characters (a decoded newline would start a forged
    line) written as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, application: WSGIApp, options: dict[str, Any]) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        return self.application


def default_workers() -> int:
    """One worker process per core, and one more to use a core while another waits on the
    database (measured with benchmarks/bench_load.py: threads inside a worker contend for
    Python's lock and serve fewer requests than processes do)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return max(1, cores) + 1


def options(
    *, host: str, port: int, workers: int, threads: int, access_log: str | None
) -> dict[str, Any]:
    return {
        "bind": [f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "proc_name": "spinepath",
        "timeout": 60,
        "graceful_timeout": 30,
        "keepalive": 5,
        # gunicorn believes no forwarded header itself: Gate does that, for the trusted proxy.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "logger_class": AccessLog,
        "accesslog": access_log,
        "access_log_format": ACCESS_FORMAT,
        "errorlog": "-",
        # No management socket in the user's home (two servers would share its path); the
        # master takes SIGHUP and SIGTERM.
        "control_socket_disable": True,
        "loglevel": "info",
        # Each worker chains the events written unsealed (page views on PostgreSQL).
        "post_worker_init": start_sealer,
        "worker_exit": seal_on_exit,
    }


def start_sealer(worker: Any) -> None:
    from spinepath.audit.sealer import start_in_this_process

    start_in_this_process()


def seal_on_exit(server: Any, worker: Any) -> None:
    """A worker that stops (a graceful restart, SIGTERM) chains what is left, once."""
    from spinepath.audit.sealer import seal_at_exit

    seal_at_exit()
