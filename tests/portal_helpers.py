"""A patient signed in to their own pages, for tests outside the portal's own."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.db import connection
from django.test import Client
from web_helpers import acting

from spinepath.portal.services import link_send


def signed_in_portal(patient: Any, by: Any = None) -> Client:
    """A client signed in as ``patient`` (the patient must have an email and a birth date)."""
    mail.outbox.clear()
    link_send(actor=acting(by), patient=patient)
    for _, callback, _ in connection.run_on_commit:
        callback()
    connection.run_on_commit.clear()
    token = re.search(r"/my/in/([A-Za-z0-9_-]+)/", mail.outbox[-1].body)
    assert token, mail.outbox[-1].body
    client = Client()
    response = client.post(
        f"/my/in/{token.group(1)}/", {"birth_date": patient.birth_date.isoformat()}
    )
    assert response.status_code == 302, response
    return client
