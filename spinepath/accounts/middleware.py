"""After the password, the second factor; after an admin's reset, a new password.

Django's LoginRequiredMiddleware already sends anyone not signed in to the sign-in page (public
views are marked ``login_not_required``). This middleware then holds a signed-in person at the
second-factor step until a TOTP or recovery code was accepted in this session (first sign-in:
enrolment with a QR code), and at the password page while a temporary password is in use.
Demo logins skip the second factor in demo mode only; the banner on every page says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from spinepath.accounts.backends import is_demo_account
from spinepath.accounts.models import StaffAccount
from spinepath.accounts.services import has_authenticator

# Pages a signed-in person may open before the second factor (and the password change).
BEFORE_SECOND_FACTOR = {"accounts:logout", "accounts:mfa", "accounts:enrol"}
BEFORE_NEW_PASSWORD = BEFORE_SECOND_FACTOR | {"accounts:password", "accounts:recovery"}


def second_factor_waived(user: object) -> bool:
    return bool(settings.SPINEPATH_DEMO and is_demo_account(user))


def past_second_factor(user: object) -> bool:
    """Signed in with both steps (or a demo login in demo mode): only then do pages show the
    menu and counts of the clinic's work."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_verified() or second_factor_waived(user))  # type: ignore[attr-defined]


def _password_change_required(user: object) -> bool:
    # The account comes with the user (StaffBackend.get_user): no query of its own.
    try:
        account = user.staff_account  # type: ignore[attr-defined]
    except StaffAccount.DoesNotExist:
        return False
    return bool(account.password_change_required)


@lru_cache(maxsize=4096)
def _view_at(path: str) -> tuple[bool, str] | None:
    """(Whether the page at ``path`` is public, its view's name), or None for no page: the
    addresses never change while the server runs, and resolving one costs a tenth of a
    millisecond on every request."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return getattr(match.func, "login_required", True) is False, match.view_name


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        view = _view_at(request.path_info)
        if view is None:
            return self.get_response(request)
        public, name = view
        if public:
            return self.get_response(request)  # a public page
        verified = past_second_factor(user)
        if not verified and name not in BEFORE_SECOND_FACTOR:
            return redirect("accounts:mfa" if has_authenticator(user) else "accounts:enrol")  # type: ignore[arg-type]
        if verified and name not in BEFORE_NEW_PASSWORD and _password_change_required(user):
            return redirect("accounts:password")
        return self.get_response(request)


class SessionActivityMiddleware:
    """Renews a signed-in session's 30 idle minutes on activity, at most once a minute (a
    database write per request otherwise). Listed after SessionMiddleware, so the renewal is
    saved with the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            if now - int(session.get("_active", 0)) >= settings.SPINEPATH_SESSION_RENEW_SECONDS:
                session["_active"] = now
        return response
