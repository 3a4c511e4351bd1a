"""Who viewed, changed, exported or was refused which patient's data, when, from where; and every
sign-in, sign-out and second-factor event (FHIR AuditEvent; ONC 170.315(d)(2), (3), (10)).

Append-only: the model refuses save() of an existing row and delete(); database triggers refuse
UPDATE and DELETE on both engines (migration 0006). Each row carries ``seq`` (1, 2, 3,
...) and ``hash`` = SHA-256 over the previous row's hash and the row's own content, so an edited,
a deleted or an inserted row breaks the chain, which ``spinepath audit verify`` finds
(spinepath/audit/chain.py).

A row is written in its request's own transaction. Most are chained in that transaction too;
on PostgreSQL a page view's row is written without ``seq`` and hashes and chained by the sealer
within a second (spinepath/audit/sealer.py). The one UPDATE the database allows is that
sealing: ``seq`` and the hashes filled in once, on an unsealed row, its content unchanged.
Rows are in ``id`` order, sealed or not: the chain follows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    pass


class AuditEvent(models.Model):
    VIEW = "view"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    SIGN = "sign"
    IMPORT = "import"
    EXPORT = "export"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKED_OUT = "locked_out"
    MFA = "mfa"
    REFUSED = "refused"
    ACTIONS = [
        (VIEW, "Viewed"),
        (CREATE, "Created"),
        (UPDATE, "Changed"),
        (DELETE, "Deleted"),
        (SIGN, "Signed"),
        (IMPORT, "Imported"),
        (EXPORT, "Exported"),
        (SIGN_IN, "Signed in"),
        (SIGN_OUT, "Signed out"),
        (SIGN_IN_FAILED, "Sign-in failed"),
        (LOCKED_OUT, "Locked out"),
        (MFA, "Second factor"),
        (REFUSED, "Refused"),
    ]

    # None until the row is chained (sealed); then 1, 2, 3, ... in id order.
    seq = models.BigIntegerField(unique=True, null=True)
    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(max_length=150)
    patient = models.ForeignKey(
        settings.SPINEPATH_PATIENT_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    action = models.CharField(max_length=20, choices=ACTIONS)
    what = models.CharField(max_length=200)
    path = models.CharField(max_length=300)
    address = models.GenericIPAddressField(null=True)
    # Before and after values of a change: {"before": {field: text}, "after": {field: text}}.
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)  # "" until sealed
    hash = models.CharField(max_length=64)  # "" until sealed

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["patient", "-id"], name="audit_patient_newest"),
            models.Index(fields=["user", "-id"], name="audit_user_newest"),
            models.Index(fields=["action", "-id"], name="audit_action_newest"),
            # The rows the sealer has still to chain (none, most of the time).
            models.Index(
                fields=["id"], name="audit_unsealed", condition=models.Q(seq__isnull=True)
            ),
        ]
        constraints = [
            # Unsealed (no number, both hashes empty) or sealed (a number, both hashes): a row
            # the sealer could never chain is refused as it is written.
            models.CheckConstraint(
                condition=models.Q(seq__isnull=True, hash="", prev_hash="")
                | (models.Q(seq__isnull=False) & ~models.Q(hash="") & ~models.Q(prev_hash="")),
                name="audit_sealed_or_not",
            ),
            # A time and a number the application can read back (not 'infinity', not the
            # largest bigint, after which no event could be numbered).
            models.CheckConstraint(
                condition=models.Q(at__gte=datetime(2000, 1, 1, tzinfo=UTC))
                & models.Q(at__lt=datetime(2200, 1, 1, tzinfo=UTC))
                & (models.Q(seq__isnull=True) | models.Q(seq__gte=1, seq__lt=2**53)),
                name="audit_readable_time_and_number",
            ),
        ]

    @property
    def sealed(self) -> bool:
        return self.seq is not None

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise AppendOnlyError("audit events are written only by spinepath.audit.services")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit events are never deleted")
