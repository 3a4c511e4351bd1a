"""What every signed-in request reads, in SQL of its own (issue 29): the session, the user with
their staff account, their roles, the menu's count of safety answers to review. Each gives what
the ORM gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.utils import timezone

from spinepath.accounts.backends import user_with_account
from spinepath.accounts.models import StaffAccount
from spinepath.accounts.roles import role_names
from spinepath.accounts.sessions import SessionStore
from spinepath.safety.models import SafetyReport
from spinepath.safety.selectors import open_review_count


def _fields(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_user_and_their_account_are_the_orms(clinician: Any) -> None:
    clinician.last_login = timezone.now()
    clinician.save()
    StaffAccount.objects.get_or_create(user=clinician, defaults={"password_change_required": True})
    orm = User.objects.select_related("staff_account").get(pk=clinician.pk)
    fast = user_with_account(str(clinician.pk))
    assert _fields(fast) == _fields(orm)
    assert {k: type(v) for k, v in _fields(fast).items()} == {
        k: type(v) for k, v in _fields(orm).items()
    }
    assert _fields(fast.staff_account) == _fields(orm.staff_account)
    assert fast.staff_account.user is fast and not fast._state.adding
    assert user_with_account("not a number") is None and user_with_account(10**9) is None


def test_a_user_without_a_staff_account_has_none(db: Any) -> None:
    user = User.objects.create_user("plain", password="x" * 12)
    fast = user_with_account(user.pk)
    assert fast.username == "plain" and getattr(fast, "staff_account", None) is None


def test_the_roles_are_the_groups(clinician: Any, coordinator: Any) -> None:
    assert role_names(User.objects.get(pk=clinician.pk)) == {"clinician"}
    coordinator.groups.add(Group.objects.get_or_create(name="clinic_admin")[0])
    assert role_names(User.objects.get(pk=coordinator.pk)) == {"coordinator", "clinic_admin"}


def test_the_menu_count_is_the_open_reviews(db: Any) -> None:
    assert open_review_count() == 0
    assert (
        open_review_count()
        == SafetyReport.objects.filter(worrying=True, reviewed_at__isnull=True).count()
    )


def test_a_session_is_read_back_until_it_expires(db: Any) -> None:
    store = SessionStore()
    store["who"] = "someone"
    store.save()
    assert SessionStore(store.session_key).load() == {"who": "someone"}
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert expired.load() == {} and expired.session_key is None
    assert SessionStore("x" * 40).load() == {}  # no such session
    assert SessionStore("bad key!").load() == {}  # not a session key at all
