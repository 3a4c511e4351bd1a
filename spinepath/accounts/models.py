from __future__ import annotations

from django.db import models


class LoginFailure(models.Model):
    """A failed sign-in, kept to throttle guessing (by username and by address)."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]
