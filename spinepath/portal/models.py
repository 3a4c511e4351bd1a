"""Sign-in links for patients, and the wrong dates of birth that throttle them.

A link's token is shown once (in the email) and never stored: only its SHA-256 is. The link
opens nothing by itself; the patient's date of birth is the second check.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from spinepath.patients.models import Patient


class SignInLink(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="sign_in_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    # A coordinator sent it from the chart, or the patient asked on the sign-in page.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The chart's "Email a sign-in link" form that sent it: one email per submission.
    submission_key = models.CharField(max_length=64, unique=True, null=True, editable=False)
    # Sent to the address on file before staff changed the contact details: signing in with it
    # confirms the change (it lasts longer than a plain link, see pathway.portal).
    confirms_contact = models.BooleanField(default=False)
    sent_to = models.EmailField(blank=True)

    class Meta:
        ordering = ["-created_at"]


class WrongCheck(models.Model):
    """A wrong date of birth: for the patient whose link it was, from a client (a keyed hash
    of the address, as for the public forms)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    client = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(db_index=True)
