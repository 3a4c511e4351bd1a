from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffAccount(models.Model):
    """What the clinic knows about a staff login beyond Django's user.

    ``demo``: one of the published demo logins; it signs in only in demo mode.
    ``password_change_required``: the clinic admin set a temporary password; the next sign-in
    asks for a new one before any page opens.
    ``record_only``: a name on records that is not a person's login (the synthetic cohort's
    clinicians); it never signs in and cannot be given a password.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_account"
    )
    demo = models.BooleanField(default=False)
    password_change_required = models.BooleanField(default=False)
    record_only = models.BooleanField(default=False)
    # Wrong current passwords typed on the password page since the last sign-in.
    wrong_current_passwords = models.PositiveSmallIntegerField(default=0)
