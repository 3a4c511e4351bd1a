"""Who is asking: the client's address, and log lines that never carry a questionnaire token.

The address is the connection's REMOTE_ADDR. Behind a reverse proxy, `spinepath serve
--trusted-proxy ADDRESS` has the server replace it with the proxy's X-Forwarded-For, and only
for connections from that proxy; anyone else's X-Forwarded-* headers are removed. So the
sign-in throttle, the public forms' limits and the audit log all see the real client, and no
client can choose its own address by sending a header.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

# /q/<token>/ is a questionnaire link: the token alone lets its holder answer; /my/in/<token>/
# is a patient's sign-in link (it also needs the date of birth, but is never logged either).
TOKEN_IN_PATH = re.compile(r"(/q/|/my/in/)[^/\s?\"']+")
REDACTED = r"\1[token]"


def client_address(request: Any, *_: Any) -> str | None:
    """The client's address (django-axes calls this with extra arguments)."""
    if request is None:
        return None
    address: str | None = request.META.get("REMOTE_ADDR") or None
    if address is None:
        return None
    try:  # only an address: the sign-in throttle stores it in an address column
        return str(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return None


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Cut questionnaire tokens out of a log record (Django logs a 404's or 400's path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class NoTracebackForRefusals(logging.Filter):
    """A request answered 4xx - a Host header not allowed, too many fields or files, text the
    database cannot store, any of Django's SuspiciousOperations - is the client's error, not the
    server's: one warning line in the server log, never a traceback. Tracebacks stay for what
    went wrong here (a 500)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name.startswith("django.security") or (
            isinstance(status, int) and 400 <= status < 500
        ):
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
