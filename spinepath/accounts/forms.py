from __future__ import annotations

from django import forms
from django.contrib.auth.models import User

from spinepath.accounts.roles import ROLE_LABELS, ROLES
from spinepath.accounts.services import USERNAME_PATTERN, USERNAME_RULE

ROLES_REQUIRED = (
    "Roles: tick at least one (a member of staff with no role can do nothing here; to stop "
    "someone signing in, deactivate the account instead)."
)

ROLE_CHOICES = [(r, ROLE_LABELS[r]) for r in ROLES]


class CodeForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class EnrolForm(forms.Form):
    token = forms.CharField(
        label="Code from the app",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class StaffCreateForm(forms.Form):
    username = forms.RegexField(
        label="Username",
        max_length=150,
        regex=USERNAME_PATTERN,
        error_messages={"invalid": USERNAME_RULE},
    )
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(label="Email", required=False)
    roles = forms.MultipleChoiceField(
        label="Roles",
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": ROLES_REQUIRED},
    )


class StaffRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Roles",
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": ROLES_REQUIRED},
    )

    @classmethod
    def for_user(cls, user: User) -> StaffRolesForm:
        return cls(initial={"roles": list(user.groups.values_list("name", flat=True))})
