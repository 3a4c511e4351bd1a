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
        """The signed-in user of a request, with the staff account the checks above read: one
        query on every request, in SQL of its own (the ORM's costs several times the read)."""
        user = user_with_account(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def user_with_account(user_id: Any) -> Any:
    """The user ``user_id`` and their staff account (or None), as ``select_related`` gives
    them, read in one query; None when there is no such user."""
    from django.contrib.auth import get_user_model
    from django.db import connections, router

    from spinepath.accounts.models import StaffAccount

    user_model = get_user_model()
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    users, accounts = user_model._meta, StaffAccount._meta
    user_fields = [f.attname for f in users.concrete_fields]
    account_fields = [f.attname for f in accounts.concrete_fields]
    columns = [f"u.{f.column}" for f in users.concrete_fields]
    columns += [f"a.{f.column}" for f in accounts.concrete_fields]
    using = router.db_for_read(user_model)
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {users.db_table} u "
            f"LEFT JOIN {accounts.db_table} a ON a.user_id = u.{users.pk.column} "
            f"WHERE u.{users.pk.column} = %s",
            [pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    # The values as the ORM gives them back (dates, booleans on SQLite).
    values = list(row)
    fields = [*users.concrete_fields, *accounts.concrete_fields]
    for i, field in enumerate(fields):
        for converter in connection.ops.get_db_converters(
            field.get_col(field.model._meta.db_table)
        ):
            values[i] = converter(values[i], field.get_col(field.model._meta.db_table), connection)
    user = user_model.from_db(using, user_fields, values[: len(user_fields)])
    account_values = values[len(user_fields) :]
    account = None
    if account_values[account_fields.index(accounts.pk.attname)] is not None:
        account = StaffAccount.from_db(using, account_fields, account_values)
        accounts.get_field("user").set_cached_value(account, user)
    users.get_field("staff_account").set_cached_value(user, account)
    return user
