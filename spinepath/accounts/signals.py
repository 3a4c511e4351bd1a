"""Security events the accounts app reports (the audit app records them).

Sent with ``actor`` (the :class:`spinepath.actors.Actor` of the write), ``user`` (the actor's
account, or None), ``request`` (None: services take no request), ``action`` (an audit action)
and ``what`` (words). Sent inside the write, so the audit log records it as part of the
write's one event, with the actor's address and page.
"""

from __future__ import annotations

from django.dispatch import Signal

security_event = Signal()
