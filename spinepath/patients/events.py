"""What the patients app announces to the apps built on it (they listen; patients never
imports them).

``contact_changed`` is sent inside the write that changed a chart's email or phone, with
``patient`` and ``previous_email`` (the address on file before the first change not yet
confirmed): the patient's own pages close the open sign-in links and ask the patient, at that
address, to confirm.
"""

from __future__ import annotations

from django.dispatch import Signal

contact_changed = Signal()
