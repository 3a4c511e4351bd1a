"""Sign-in (password, then the second factor), enrolment, password change, and the clinic
admin's staff accounts page."""

from __future__ import annotations

import base64
from typing import Any

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from spinepath.accounts import services
from spinepath.accounts.actors import actor_of, admin_actor
from spinepath.accounts.forms import CodeForm, EnrolForm, StaffCreateForm, StaffRolesForm
from spinepath.accounts.roles import ROLE_LABELS
from spinepath.errors import NotAllowed, Refused
from spinepath.web.refusals import show_on_form

NEXT_KEY = "spinepath_next"
LOCKED = (
    "Too many failed sign-ins for this username from this connection. Wait 15 minutes and try "
    "again, or ask the clinic admin to reset your password."
)


class SignInView(LoginView):
    """Django's sign-in, one attempt per username at a time so that django-axes counts every
    guess (parallel guesses cannot slip past the limit)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        with services.one_sign_in_at_a_time(username):
            response: HttpResponse = super().post(request, *args, **kwargs)
        return response

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        nxt = self.get_redirect_url()
        response = super().form_valid(form)
        if nxt:
            self.request.session[NEXT_KEY] = nxt  # kept for after the second factor
        return response


def locked_out(
    request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """django-axes' answer to a locked-out username and address: the sign-in page, with why."""
    form = AuthenticationForm(request, data=request.POST or None)
    form.errors.clear()
    form.add_error(None, LOCKED)
    return render(request, "accounts/login.html", {"form": form}, status=429)


def _next_page(request: HttpRequest) -> str:
    """Where the person was going before signing in (only a page of this site)."""
    nxt = str(request.session.pop(NEXT_KEY, ""))
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        return nxt
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _after_sign_in(request: HttpRequest) -> HttpResponse:
    return redirect(_next_page(request))


@require_http_methods(["GET", "HEAD", "POST"])
def mfa(request: HttpRequest) -> HttpResponse:
    if request.user.is_verified():  # type: ignore[union-attr]
        return _after_sign_in(request)
    if not services.has_authenticator(request.user):  # type: ignore[arg-type]
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.second_factor_check(
                actor=actor_of(request), token=form.cleaned_data["token"]
            )
        except Refused as refused:
            show_on_form(form, refused)
        else:
            django_otp.login(request, device)
            if device.name == services.RECOVERY_NAME:
                left = device.token_set.count()
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Set up new codes under "
                    "Account if you are running out.",
                )
            return _after_sign_in(request)
    status = 400 if form.errors else 200
    return render(request, "accounts/mfa.html", {"form": form}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if services.has_authenticator(user):
        return redirect("accounts:mfa")
    actor = actor_of(request)
    device = services.enrolment_device(actor=actor)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.enrolment_confirm(
                actor=actor, token=form.cleaned_data["token"]
            )
        except Refused as refused:
            show_on_form(form, refused)
        else:
            django_otp.login(request, device)
            context = {"codes": codes, "first": True, "next": _next_page(request)}
            return render(request, "accounts/recovery_codes.html", context)
    url = device.config_url
    context = {
        "form": form,
        "qr": segno.make(url, error="m").svg_inline(scale=5, title="QR code for your app"),
        "secret": base64.b32encode(device.bin_key).decode(),
    }
    return render(request, "accounts/enrol.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
def recovery(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        codes = services.recovery_codes_replace(actor=actor_of(request))
        return render(request, "accounts/recovery_codes.html", {"codes": codes})
    return render(request, "accounts/account.html", {})


@require_http_methods(["GET", "HEAD", "POST"])
def password(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST":
        # The current password is a password guess like any other: one at a time per user
        # (as at sign-in), each wrong one audited, and the fifth since signing in ends the
        # session (the sign-in page's lockout then takes over).
        with services.one_sign_in_at_a_time(user.username):
            if services.wrong_current_passwords(user) >= services.WRONG_CURRENT_PASSWORD_LIMIT:
                return _signed_out_for_guessing(request)
            if form.is_valid():
                services.password_change(
                    actor=actor_of(request), new_password=form.cleaned_data["new_password1"]
                )
                update_session_auth_hash(request, user)
                messages.success(request, "Your password was changed.")
                return redirect(settings.LOGIN_REDIRECT_URL)
            if "old_password" in form.errors and services.wrong_current_password(
                actor=actor_of(request)
            ):
                return _signed_out_for_guessing(request)
    required = services.account_of(user).password_change_required
    context = {"form": form, "required": required}
    return render(request, "accounts/password.html", context, status=400 if form.errors else 200)


def _signed_out_for_guessing(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.error(request, "The current password was wrong five times: sign in again to go on.")
    return redirect(settings.LOGIN_URL)


# --- The clinic admin's staff page -------------------------------------------------------------

MANAGES_STAFF = "manages staff accounts"


@require_http_methods(["GET", "HEAD", "POST"])
def staff_list(request: HttpRequest) -> HttpResponse:
    actor = admin_actor(request, does=MANAGES_STAFF)
    # Bound on every POST, an empty one too (nothing ticked is an answer to name).
    form = StaffCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user, temporary = services.staff_account_create(actor=actor, **form.cleaned_data)
        except Refused as refused:
            show_on_form(form, refused)
        else:
            return render(
                request,
                "accounts/temporary_password.html",
                {"person": user, "password": temporary, "new": True},
            )
    people = (
        User.objects.prefetch_related("groups", "totpdevice_set")
        .select_related("staff_account")
        .order_by("-is_active", "last_name", "username")
    )
    rows = [
        {
            "user": u,
            "roles": [ROLE_LABELS.get(g.name, g.name) for g in u.groups.all()],
            "mfa": any(d.confirmed for d in u.totpdevice_set.all()),
            "demo": services.is_demo(u) if hasattr(u, "staff_account") else False,
            "can_sign_in": u.has_usable_password(),
        }
        for u in people
    ]
    context = {"form": form, "rows": rows, "nav": "staff"}
    return render(request, "accounts/staff.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
def staff_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = admin_actor(request, does=MANAGES_STAFF)
    person = get_object_or_404(User, pk=user_id)
    form = StaffRolesForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        try:
            services.staff_roles_set(
                actor=actor, user_id=person.pk, roles=form.cleaned_data["roles"]
            )
        except Refused as refused:
            show_on_form(form, refused)
        else:
            messages.success(request, f"Roles of {person.username} saved.")
            return redirect("accounts:staff_detail", person.pk)
    context = {
        "person": person,
        "form": form or StaffRolesForm.for_user(person),
        "mfa": services.has_authenticator(person),
        "nav": "staff",
    }
    return render(
        request, "accounts/staff_detail.html", context, status=400 if form and form.errors else 200
    )


@require_POST
def staff_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    actor = admin_actor(request, does=MANAGES_STAFF)
    person = get_object_or_404(User, pk=user_id)
    if action == "password":
        temporary = services.staff_password_reset(actor=actor, user_id=person.pk)
        return render(
            request, "accounts/temporary_password.html", {"person": person, "password": temporary}
        )
    if action == "mfa":
        services.staff_mfa_reset(actor=actor, user_id=person.pk)
        messages.success(
            request, f"{person.username} will set up an authenticator app at the next sign-in."
        )
    elif action in ("deactivate", "reactivate"):
        services.staff_active_set(actor=actor, user_id=person.pk, active=action == "reactivate")
        messages.success(request, f"{person.username} {action}d.")
    else:
        raise NotAllowed("No such action.")
    return redirect("accounts:staff_detail", person.pk)
