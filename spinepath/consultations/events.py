"""What the consultations app asks of the apps built on it.

consultations never imports those apps; they listen. ``odds_asked`` is a question rather than
an announcement: the review page, the signed decision and the written plan (plans may import
consultations) ask for a candidate's "patients like you" figures, and the outcomes app, which
counts the clinic's treated courses, answers (spinepath/outcomes/odds.py). With no listener the
pages show no figures.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``decision_json`` and ``workup_json`` (a candidate decision and the workup it was
# made on, signed or under review), ``born`` (the patient's birth date) and ``on`` (today);
# a listener returns the odds document, or None.
odds_asked = Signal()
