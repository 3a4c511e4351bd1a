"""What the patients app announces to the apps built on it (they listen; patients never
imports them).

``contact_changed`` is sent inside the write that changed a chart's email or phone, with
``patient`` and ``previous_email`` (the address on file before the first change not yet
confirmed): the patient's own pages close the open sign-in links and ask the patient, at that
address, to confirm.

``birth_date_changed`` is sent inside the write that corrected a chart's date of birth, with
``patient``: the follow-up app moves the patient's treated courses to their right age band
(the "patients like you" figures match on it).
"""

from __future__ import annotations

from django.dispatch import Signal

contact_changed = Signal()
birth_date_changed = Signal()
