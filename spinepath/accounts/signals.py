"""Security events the accounts app reports (the audit app records them).

Sent with ``user``, ``request`` (or None), ``action`` (an audit action) and ``what`` (words).
"""

from __future__ import annotations

from django.dispatch import Signal

security_event = Signal()
