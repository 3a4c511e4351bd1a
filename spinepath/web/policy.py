"""The clinic's policy for the web application: SPINEPATH_POLICY, or the shipped defaults."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from spinepath.pathway.policy import Policy
from spinepath.policies import load_policy


@cache
def clinic_policy() -> Policy:
    return load_policy(settings.SPINEPATH_POLICY_FILE)
