"""A local server that answers as Twilio's Messages API does, including its failures, for the
reminder ladder's text messages (the clinic's code talks to it through the twilio library).

Numbers ending in these digits get these answers:
- ...0400: rejected (HTTP 400, error 21211, not a valid number)
- ...0429: rate limited (HTTP 429, error 20429)
- ...0408: no answer in time (the server waits longer than the client's timeout)
anything else: accepted (HTTP 201 with a message id).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

REJECTED = "+12125550400"
RATE_LIMITED = "+12125550429"
TIMES_OUT = "+12125550408"


@dataclass
class FakeProvider:
    url: str
    received: list[dict[str, str]] = field(default_factory=list)
    accepted: list[dict[str, str]] = field(default_factory=list)

    def to(self, number: str) -> list[str]:
        return [m["Body"] for m in self.accepted if m["To"] == number]


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.received.append(form)
            if not self.path.endswith("/Messages.json") or not self.headers.get("Authorization"):
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            to = form.get("To", "")
            if to == REJECTED:
                self._answer(
                    400,
                    {
                        "code": 21211,
                        "message": f"The 'To' number {to} is not a valid phone number.",
                        "status": 400,
                    },
                )
            elif to == RATE_LIMITED:
                self._answer(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
            elif to == TIMES_OUT:
                time.sleep(1.5)
                self._answer(201, {"sid": "SMlate", "status": "queued"})
            else:
                provider.accepted.append(form)
                sid = f"SM{len(provider.accepted):032d}"
                self._answer(
                    201,
                    {
                        "sid": sid,
                        "status": "queued",
                        "to": to,
                        "from": form.get("From"),
                        "body": form.get("Body"),
                    },
                )

    return Handler


@pytest.fixture
def sms_provider(settings: Any) -> Iterator[FakeProvider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: None)  # type: ignore[arg-type]
    provider = FakeProvider(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SPINEPATH_SMS_PROVIDER = "twilio"
    settings.SPINEPATH_SMS_ACCOUNT = "AC" + "0" * 32
    settings.SPINEPATH_SMS_TOKEN = "test-token"
    settings.SPINEPATH_SMS_FROM = "+12125550100"
    settings.SPINEPATH_SMS_API_BASE = provider.url
    settings.SPINEPATH_SMS_TIMEOUT = 0.5
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
