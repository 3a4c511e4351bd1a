"""Sign-in throttling and the demo/admin creation of staff users."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from spinepath.accounts.models import LoginFailure
from spinepath.accounts.roles import ROLES


def login_locked(*, username: str, address: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.LOGIN_MAX_FAILURES
    by_user = recent.filter(username__iexact=username).count() >= limit
    by_address = address is not None and recent.filter(address=address).count() >= limit * 4
    return by_user or by_address


def login_failed(*, username: str, address: str | None) -> None:
    LoginFailure.objects.create(username=username[:150], address=address)


def login_succeeded(*, username: str) -> None:
    LoginFailure.objects.filter(username__iexact=username).delete()


@transaction.atomic
def ensure_roles() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)


@transaction.atomic
def staff_user_create(
    *, username: str, password: str | None, role: str, first_name: str = "", last_name: str = ""
) -> User:
    """Create a staff user with a role, or return the existing one unchanged.

    ``password=None`` makes a record that can never sign in (the synthetic cohort's
    clinicians): its password is made unusable, also when the user already exists.
    """
    ensure_roles()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first_name, "last_name": last_name}
    )
    if created:
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.is_staff = role == "clinic_admin"
        user.save()
    elif password is None and user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=role))
    return user
