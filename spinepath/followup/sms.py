"""Text messages through the provider the clinic configures (SPINEPATH_SMS_PROVIDER).

Twilio is sent to with its maintained Python library (``twilio``); a test double or another
region's gateway is reached by pointing the library at SPINEPATH_SMS_API_BASE. Every outcome
is one of four, in words a coordinator understands:

- ``sent``: the provider took the message (its id kept);
- ``rejected``: the provider refused the number or the message for good (not a mobile, an
  invalid number, the person opted out with STOP): not tried again;
- ``busy``: the provider asked us to slow down (HTTP 429) or was unavailable (5xx): nothing
  was sent, it is safe to try again;
- ``unknown``: no answer in time: the message may have left, so it is never sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class SmsResult:
    outcome: str  # sent | rejected | busy | unknown
    detail: str


class SmsNotConfigured(Exception):
    pass


def sms_configured() -> bool:
    if settings.SPINEPATH_SMS_PROVIDER == "file":
        return True
    return settings.SPINEPATH_SMS_PROVIDER == "twilio" and bool(
        settings.SPINEPATH_SMS_ACCOUNT
        and settings.SPINEPATH_SMS_TOKEN
        and settings.SPINEPATH_SMS_FROM
    )


def _client() -> Any:
    return _client_for(
        settings.SPINEPATH_SMS_ACCOUNT,
        settings.SPINEPATH_SMS_TOKEN,
        settings.SPINEPATH_SMS_API_BASE.rstrip("/"),
        float(settings.SPINEPATH_SMS_TIMEOUT),
    )


@lru_cache(maxsize=4)
def _client_for(account: str, token: str, base: str, timeout: float) -> Any:
    """One client (and its connection pool) per configuration, for the life of the process."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    class ClinicHttpClient(TwilioHttpClient):  # type: ignore[misc]
        """The library's own HTTP client, sent to the configured address when one is set."""

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if base and url.startswith(TWILIO_API):
                url = base + url[len(TWILIO_API) :]
            return super().request(method, url, *args, **kwargs)

    return Client(
        account,
        token,
        http_client=ClinicHttpClient(timeout=timeout, max_retries=0),
    )


# Twilio error codes that mean the number itself cannot take texts.
_NUMBER_CODES = {21211, 21214, 21217, 21407, 21408, 21610, 21612, 21614, 21635}


def send_sms(to: str, body: str) -> SmsResult:
    """Send one text; never raises for the provider's answers."""
    if not sms_configured():
        raise SmsNotConfigured("No text-message provider is configured.")
    if settings.SPINEPATH_SMS_PROVIDER == "file":
        return _to_file(to, body)
    import requests
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        message = _client().messages.create(to=to, from_=settings.SPINEPATH_SMS_FROM, body=body)
    except TwilioRestException as exc:
        code = exc.code or 0
        if exc.status == 429 or exc.status >= 500:
            return SmsResult("busy", f"the provider was busy (HTTP {exc.status}); not sent")
        reason = "the number cannot take texts" if code in _NUMBER_CODES else "refused"
        return SmsResult("rejected", f"{reason} (provider error {code}: {exc.msg})"[:300])
    except requests.exceptions.Timeout:
        return SmsResult(
            "unknown",
            "no answer from the provider in time; not sent again in case it was delivered",
        )
    except (requests.exceptions.RequestException, TwilioException) as exc:
        logger.warning("text message provider unreachable: %s", exc)
        return SmsResult("busy", "the provider could not be reached; not sent")
    return SmsResult("sent", f"provider id {message.sid}")


def _to_file(to: str, body: str) -> SmsResult:
    """The demo's provider: each text written to a file under var/sms, nothing sent."""
    import secrets

    from django.utils import timezone

    folder = Path(settings.VAR_DIR) / "sms"
    folder.mkdir(mode=0o700, exist_ok=True)
    name = f"{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.txt"
    (folder / name).write_text(f"To: {to}\n\n{body}\n")
    return SmsResult("sent", f"written to var/sms/{name} (demo: nothing sent)")
