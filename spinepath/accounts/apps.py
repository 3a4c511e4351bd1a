from typing import Any

from django.apps import AppConfig


def _plain_username(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Usernames in plain ASCII by every route (the Staff page, createadmin, and Django's own
    createsuperuser or a shell): no two may look alike on the Staff page or in the audit log."""
    from spinepath.accounts.services import USERNAME_RULE, username_problem

    if username_problem(instance.username):
        raise ValueError(f"username {instance.username!r}: {USERNAME_RULE}")


class AccountsConfig(AppConfig):
    name = "spinepath.accounts"
    label = "accounts"
    verbose_name = "Users and roles"

    def ready(self) -> None:
        from django.contrib.auth.models import User
        from django.db.models.signals import pre_save

        from spinepath.web.text import refuse_unstorable_fields

        # Text the database cannot store (a NUL, an unpaired surrogate) is refused, named by its
        # field, whatever saves it (spinepath/web/text.py).
        pre_save.connect(refuse_unstorable_fields, dispatch_uid="unstorable-text")
        pre_save.connect(_plain_username, sender=User, dispatch_uid="accounts-plain-username")
        # And as the field's own validator, so that Django's createsuperuser names the field
        # and the rule instead of failing at the save.
        from django.core.validators import RegexValidator

        from spinepath.accounts.services import USERNAME_PATTERN, USERNAME_RULE

        field = User._meta.get_field("username")
        if not any(getattr(v, "regex", None) == USERNAME_PATTERN for v in field.validators):
            field.validators.append(RegexValidator(USERNAME_PATTERN, USERNAME_RULE))
        from django.contrib.auth.signals import user_logged_in

        from spinepath.accounts.services import signed_in

        user_logged_in.connect(signed_in, dispatch_uid="accounts-signed-in")
