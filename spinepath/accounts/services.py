"""Staff accounts: creation by the clinic admin, roles, deactivation, password and second-factor
resets, TOTP enrolment and recovery codes. Every change is reported as a security event, which
the audit log records as part of the write's one event (with the actor's address and page).

Every write takes ``actor=`` (:class:`spinepath.actors.Actor`): the clinic admin's writes need
the ``staff_accounts`` fact of the authority table; a person's own password and second factor
are theirs alone (the actor's own account).

Why one module of this length: every write here changes one account's means of signing in,
under the same rules (one sign-in at a time per name, record the event, refuse the same way);
the second factor's half shares the recording and the refusals with the passwords' half.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.db import connection
from django.db.models import F
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from spinepath.accounts.models import StaffAccount
from spinepath.accounts.roles import CLINIC_ADMIN, ROLE_LABELS, ROLES
from spinepath.accounts.signals import security_event
from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.errors import Conflict, Invalid, NotAllowed, NotAvailable

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _report(*, actor: Actor, action: str, what: str) -> None:
    """A security event; inside a write, the audit log makes it part of the write's one event,
    recorded with the actor."""
    security_event.send(
        sender=StaffAccount, user=actor.user, request=None, actor=actor, action=action, what=what
    )


def _own_account(actor: Actor) -> User:
    """The account of the person acting on their own sign-in, password or second factor."""
    if actor.user is None:
        raise NotAllowed("Only the person signed in changes their own account.", code="not_self")
    return actor.user


@contextmanager
def one_sign_in_at_a_time(username: str) -> Iterator[None]:
    """Serialise sign-in attempts for one username, so the lockout counts every guess.

    Only attempts for the same username wait for each other, and no database lock is held
    while the password is hashed (that would make every sign-in, and every page that writes,
    wait behind a guesser's hashing). On PostgreSQL: a session-level advisory lock keyed on
    the username (every app server shares it). On SQLite, whose servers share one machine: an
    exclusive lock on a file under var/locks named by the username's hash.
    """
    digest = hashlib.sha256(b"sign-in:" + username.strip().lower().encode()).digest()
    if connection.vendor == "postgresql":
        key = int.from_bytes(digest[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    import fcntl

    locks = Path(settings.VAR_DIR) / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    with open(locks / f"sign-in-{digest[:8].hex()}", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def account_of(user: User) -> StaffAccount:
    account, _ = StaffAccount.objects.get_or_create(user=user)
    return account


def temporary_password() -> str:
    """Four groups of four readable characters, e.g. ``kx7m-2pqa-...``: said over the phone."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(4))


def ensure_roles() -> None:
    """The clinic's roles as groups (called inside the writes that give them)."""
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def _the_clinic_itself(actor: Actor, what: str) -> None:
    """Accounts made outside the Staff page: by the clinic's own processes (the demo, the
    synthetic cohort, tests) or by whoever runs ``spinepath`` on the server."""
    if actor.channel not in ("system", "command_line"):
        raise NotAllowed(
            f"{what} is made on the server, not on a page: the clinic admin adds staff on the "
            "Staff page.",
            code="not_the_clinic",
        )


@action(None)
def staff_user_create(
    *,
    actor: Actor,
    username: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    demo: bool = False,
) -> User:
    """Create a staff user with a role, or return the existing one unchanged (demo, tests,
    the synthetic cohort).

    ``password=None`` makes a record that can never sign in (the synthetic cohort's
    clinicians): its password is made unusable, also when the user already exists.
    ``demo=True`` marks a published demo login, which signs in only in demo mode.
    """
    _the_clinic_itself(actor, "A seeded staff account")
    ensure_roles()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first_name, "last_name": last_name}
    )
    if created:
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
    elif password is None and user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=role))
    if demo:
        StaffAccount.objects.update_or_create(user=user, defaults={"demo": True})
    if password is None:
        StaffAccount.objects.update_or_create(user=user, defaults={"record_only": True})
    return user


# Usernames in plain ASCII only, so that no two look alike on the Staff page or in the audit
# log (a Cyrillic "а" in "аdmin").
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9.@+_-]{1,150}$")
USERNAME_RULE = "Use the letters a-z, digits and . @ + - _ only (no spaces or accents)."


def username_problem(username: str) -> str | None:
    return None if USERNAME_PATTERN.fullmatch(username) else USERNAME_RULE


@action(None)
def create_clinic_admin(
    *,
    actor: Actor,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    """The first clinic admin of a real clinic (``spinepath createadmin``)."""
    _the_clinic_itself(actor, "A clinic admin's first account")
    problem = username_problem(username)
    if problem:
        raise Invalid(problem, fields={"username": problem})
    ensure_roles()
    user = User.objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    user.groups.add(Group.objects.get(name=CLINIC_ADMIN))
    StaffAccount.objects.create(user=user)
    _report(actor=actor, action="create", what=f"clinic admin {username} (createadmin)")
    return user


# --- The clinic admin manages staff ------------------------------------------------------------


def _staff(user_id: int) -> User:
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotAvailable("No such staff account.")
    return user


def _roles_checked(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise Invalid("Choose at least one role.", fields={"roles": "Choose at least one role."})
    return sorted(set(roles))


@action("staff_accounts")
def staff_account_create(
    *,
    actor: Actor,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    roles: list[str],
) -> tuple[User, str]:
    """A new staff account with a temporary password (shown once to the admin). At first
    sign-in the person sets their own password and enrols their authenticator app."""
    roles = _roles_checked(roles)
    username = username.strip()
    problem = username_problem(username)
    if problem:
        raise Invalid(problem, fields={"username": problem})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(
            f"There is already an account named {username}.",
            fields={"username": f"There is already an account named {username}."},
        )
    ensure_roles()
    password = temporary_password()
    user = User.objects.create_user(
        username=username,
        password=password,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
    )
    user.groups.set(Group.objects.filter(name__in=roles))
    StaffAccount.objects.create(user=user, password_change_required=True)
    labels = ", ".join(ROLE_LABELS[r] for r in roles)
    _report(actor=actor, action="create", what=f"staff account {username} ({labels})")
    return user, password


@action("staff_accounts")
def staff_roles_set(*, actor: Actor, user_id: int, roles: list[str]) -> User:
    roles = _roles_checked(roles)
    user = _staff(user_id)
    if user.pk == actor.user_id and CLINIC_ADMIN not in roles:
        raise Conflict(
            "You cannot remove your own clinic admin role; ask another clinic admin.",
            fields={"roles": "You cannot remove your own clinic admin role."},
        )
    before = sorted(user.groups.values_list("name", flat=True))
    user.groups.set(Group.objects.filter(name__in=roles))
    if before != roles:
        _report(
            actor=actor,
            action="update",
            what=f"roles of {user.username}: {', '.join(before) or 'none'} -> {', '.join(roles)}",
        )
    return user


@action("staff_accounts")
def staff_active_set(*, actor: Actor, user_id: int, active: bool) -> User:
    user = _staff(user_id)
    if user.pk == actor.user_id and not active:
        raise Conflict("You cannot deactivate your own account.")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            _end_sessions(user)
        what = f"{'reactivated' if active else 'deactivated'} {user.username}"
        _report(actor=actor, action="update", what=what)
    return user


@action("staff_accounts")
def staff_password_reset(*, actor: Actor, user_id: int) -> str:
    """A temporary password (shown once); the person must choose a new one at sign-in."""
    user = _staff(user_id)
    if is_demo(user):
        raise Conflict("Demo logins keep their published password.")
    if is_record_only(user):
        raise Conflict(f"{user.username} is a name on records, not a login: it cannot sign in.")
    password = temporary_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    StaffAccount.objects.update_or_create(user=user, defaults={"password_change_required": True})
    _end_sessions(user)
    _report(actor=actor, action="update", what=f"password reset: {user.username}")
    return password


@action("staff_accounts")
def staff_mfa_reset(*, actor: Actor, user_id: int) -> User:
    """Remove a lost phone's authenticator and the recovery codes: enrol again at sign-in."""
    user = _staff(user_id)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _end_sessions(user)
    _report(actor=actor, action="mfa", what=f"second factor reset: {user.username}")
    return user


def _end_sessions(user: User) -> None:
    """Sign the person out everywhere (a deactivation or reset takes effect at once)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


def is_record_only(user: User) -> bool:
    return StaffAccount.objects.filter(user=user, record_only=True).exists()


def is_demo(user: User) -> bool:
    return StaffAccount.objects.filter(user=user, demo=True).exists()


# --- Passwords ---------------------------------------------------------------------------------


@action(None)
def password_change(*, actor: Actor, new_password: str) -> User:
    """The person's own new password (already checked by the password page's form, with the
    current one); any temporary one given by the clinic admin is no longer required to go."""
    user = _own_account(actor)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    StaffAccount.objects.filter(user=user).update(password_change_required=False)
    _report(actor=actor, action="update", what="changed own password")
    return user


WRONG_CURRENT_PASSWORD_LIMIT = 5


WRONG_CURRENT_PASSWORD = "wrong current password on the password page"


def wrong_current_passwords(user: User) -> int:
    """Wrong current passwords typed since the user last signed in."""
    account = StaffAccount.objects.filter(user=user).first()
    return account.wrong_current_passwords if account is not None else 0


@action(None)
def wrong_current_password(*, actor: Actor) -> bool:
    """Count and record a wrong current password on the password page; True once there have
    been WRONG_CURRENT_PASSWORD_LIMIT since the last sign-in (the caller then signs the person
    out). The caller holds one_sign_in_at_a_time for the username, so no count is lost."""
    user = _own_account(actor)
    account = account_of(user)
    StaffAccount.objects.filter(pk=account.pk).update(
        wrong_current_passwords=F("wrong_current_passwords") + 1
    )
    count = wrong_current_passwords(user)
    _report(
        actor=actor,
        action="sign_in_failed",
        what=f"{WRONG_CURRENT_PASSWORD} ({count} of {WRONG_CURRENT_PASSWORD_LIMIT})",
    )
    return count >= WRONG_CURRENT_PASSWORD_LIMIT


def signed_in(sender: type[User], user: User, **_: Any) -> None:
    """Listener of ``user_logged_in``: a new sign-in starts the count of wrong current
    passwords again."""
    StaffAccount.objects.filter(user=user).exclude(wrong_current_passwords=0).update(
        wrong_current_passwords=0
    )


def password_problems(password: str, user: User) -> list[str]:
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


# --- Second factor -----------------------------------------------------------------------------


def has_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@action(None)
def enrolment_device(*, actor: Actor) -> TOTPDevice:
    """The authenticator being set up: one unconfirmed device, kept across page reloads."""
    user = _own_account(actor)
    if has_authenticator(user):
        raise Conflict("Your authenticator app is already set up.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def enrolment_confirm(*, actor: Actor, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator with a code from it; returns the device and fresh recovery
    codes (shown once). A wrong code confirms nothing (and is audited)."""
    confirmed = _enrolment_code(actor=actor, token=token)
    if confirmed is None:  # refused once the wrong code is recorded
        raise Invalid(
            "That code did not match. Check the phone's clock and type the 6 digits it shows now.",
            fields={"token": "That code did not match."},
        )
    return confirmed


@action(None)
def _enrolment_code(*, actor: Actor, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """The code typed at enrolment, recorded either way: (device, recovery codes) or None."""
    user = _own_account(actor)
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise Conflict("Start the set-up again: open the page once more.")
    if not device.verify_token(_digits(token)):
        _report(actor=actor, action="mfa", what="authenticator set-up: wrong code")
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save()
    codes = _new_recovery_codes(user)
    _report(actor=actor, action="mfa", what="authenticator set up")
    return device, codes


@action(None)
def recovery_codes_replace(*, actor: Actor) -> list[str]:
    user = _own_account(actor)
    codes = _new_recovery_codes(user)
    _report(actor=actor, action="mfa", what="new recovery codes")
    return codes


def _digits(token: str) -> str:
    return "".join(token.split()).replace("-", "").lower()


def second_factor_check(*, actor: Actor, token: str) -> Device:
    """The device a code belongs to (TOTP first, then a recovery code, which is used up), or a
    refusal. The device rows are locked, so a code sent twice at once verifies once; a wrong
    code is counted (and audited) before the refusal, so waiting cannot be skipped."""
    device, wait = _second_factor_code(actor=actor, token=_digits(token))
    if device is not None:
        return device
    if wait is not None:
        raise Invalid(
            f"Too many wrong codes. Wait {wait} seconds and try again.",
            fields={"token": "Too many wrong codes."},
        )
    raise Invalid(
        "That code did not match. Type the 6 digits your authenticator app shows now, or one "
        "of your recovery codes.",
        fields={"token": "That code did not match."},
    )


@action(None)
def _second_factor_code(*, actor: Actor, token: str) -> tuple[Device | None, int | None]:
    """(the device the code belongs to, or None; the seconds to wait when too many wrong codes
    were typed), recorded either way."""
    device, wait = _matching_device(_own_account(actor), token)
    if device is not None:
        what = "recovery code used" if isinstance(device, StaticDevice) else "code accepted"
    else:
        what = "code refused: too many wrong codes" if wait is not None else "wrong code"
    _report(actor=actor, action="mfa", what=what)
    return device, wait


def _matching_device(user: User, token: str) -> tuple[Device | None, int | None]:
    from django.utils import timezone

    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            allowed, detail = device.verify_is_allowed()
            if not allowed:
                until = (detail or {}).get("locked_until")
                seconds = int((until - timezone.now()).total_seconds()) + 1 if until else 1
                return None, max(1, seconds)
            if device.verify_token(token):
                return device, None
    return None, None
