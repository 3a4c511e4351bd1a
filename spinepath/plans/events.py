"""What the plans app announces to the apps built on it.

plans never imports those apps; they listen. ``injections_changed`` is sent inside the
transaction that recorded or voided an injection, so whatever a listener writes (the follow-up
app's reassessment schedule) commits or rolls back with the record itself; so are
``injection_recorded`` (the bookings app links the session it was done in) and
``plan_accepted`` (the bookings app moves booked sessions to the new version). Emails are not
sent from a listener directly: they are queued with ``transaction.on_commit``.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``plan``: the CarePlan whose injections changed (one recorded, or one voided).
injections_changed = Signal()

# Sent with ``procedure``: an injection just recorded.
injection_recorded = Signal()

# Sent with ``plan`` (just accepted) and ``superseded`` (the accepted plans it replaced).
plan_accepted = Signal()
