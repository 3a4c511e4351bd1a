"""Policy versions the clinic adopted from the web, and the drafts its admin tried first.

The policy in force is the latest adopted version, or (before any) the SPINEPATH_POLICY file
over the defaults (spinepath/web/policy.py). Decisions keep the name and version they were made
under; adopting a new version never changes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PolicyDraft(models.Model):
    """An uploaded draft policy and its what-if run (every signed workup decided again)."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUSES = [(QUEUED, "Queued"), (RUNNING, "Running"), (DONE, "Done"), (FAILED, "Failed")]

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    text = models.TextField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)  # the run's last sign of life

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class AdoptedPolicy(models.Model):
    """A policy version the clinic admin adopted: in force from ``adopted_at``."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    text = models.TextField()
    draft = models.OneToOneField(
        PolicyDraft, null=True, blank=True, on_delete=models.PROTECT, related_name="adopted"
    )
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    adopted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A name and version label one set of rules, ever.
            models.UniqueConstraint(fields=["name", "version"], name="one_policy_per_version")
        ]
