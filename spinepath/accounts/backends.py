"""Who may sign in: active users, the demo logins only while the clinic runs in demo mode, and
never a name that is only on records (the synthetic cohort's clinicians)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


def is_demo_account(user: Any) -> bool:
    account = getattr(user, "staff_account", None) if user is not None else None
    return bool(account is not None and account.demo)


class StaffBackend(ModelBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        if is_demo_account(user) and not settings.SPINEPATH_DEMO:
            return False
        account = getattr(user, "staff_account", None) if user is not None else None
        if account is not None and account.record_only:
            return False  # a name on records (the synthetic cohort), never a login
        return bool(super().user_can_authenticate(user))

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user of a request, with the staff account the checks above read (one
        query on every request, not two)."""
        from django.contrib.auth import get_user_model

        try:
            user = get_user_model()._default_manager.select_related("staff_account").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
