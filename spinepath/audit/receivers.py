"""What the audit log hears without being called: sign-in, sign-out, failed sign-in, lockouts,
the accounts app's security events, and every create, change and delete of a clinical record
(before and after values), by whatever route it was saved - a page, an import, a command.

A bulk ``QuerySet.update()`` or ``.delete()`` sends no signal; the services do not use them on
clinical records (a test checks), and signed records and the audit log itself refuse both in
the database.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from spinepath.accounts.actors import actor_of
from spinepath.accounts.roles import role_names
from spinepath.accounts.signals import security_event
from spinepath.actions import current_scope, on_finish
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import ambient_actor, audit_now, audit_record, finish_write
from spinepath.web.clients import client_address

# Apps whose records are clinical (or say who may see them); every model in them is audited,
# except these bookkeeping tables.
NOT_AUDITED_MODELS = {"publicsubmission", "remindersent"}
# Never written into the log: secrets, and columns that change on every save.
SECRET_OR_NOISE = {
    "token_hash",
    "password",
    "updated_at",
    "family_key",
    "given_key",
    "accepted_pdf",  # the document's bytes; its SHA-256 is logged
}
# How a record leads to its patient, tried in order.
PATIENT_PATHS = ("patient", "encounter", "plan", "visit", "study", "decision", "measurement")


def _actor(request: Any, *, user: Any = None, name: str = "") -> Actor:
    """Who a sign-in event is about: the account (whatever the request's user is yet), or the
    name someone tried."""
    address = client_address(request)
    path = request.get_full_path() if request is not None else ""
    if user is not None:
        return Actor.for_staff(user, role_names(user), address=address, path=path)
    if request is not None and not name:
        return actor_of(request)
    return Actor("public", name=name or "(no username)", address=address, path=path)


def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(actor=_actor(request, user=user), action=AuditEvent.SIGN_IN, what="signed in")


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            actor=_actor(request, user=user), action=AuditEvent.SIGN_OUT, what="signed out"
        )


def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any
) -> None:
    attempted = str(credentials.get("username", ""))[:150]
    audit_record(
        actor=_actor(request, name=attempted),
        action=AuditEvent.SIGN_IN_FAILED,
        what=f"failed sign-in as {attempted!r}",
    )


def _locked_out(sender: Any, request: Any, username: str, ip_address: str, **_: Any) -> None:
    audit_record(
        actor=_actor(request, name=(username or "")[:150]),
        action=AuditEvent.LOCKED_OUT,
        what=f"sign-in locked for {username!r} from this address",
    )


def _security_event(sender: Any, user: Any, request: Any, action: str, what: str, **_: Any) -> None:
    audit_record(actor=_actor(request, user=user), action=action, what=what)


# --- Changes to clinical records -----------------------------------------------------------


def _audited(model: type[models.Model]) -> bool:
    meta = model._meta
    return (
        meta.app_label in settings.SPINEPATH_AUDITED_APPS
        and meta.model_name not in NOT_AUDITED_MODELS
        and not meta.model_name.startswith("historical")
    )


def _values(instance: models.Model) -> dict[str, Any]:
    values = {}
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_OR_NOISE:
            continue
        value = getattr(instance, field.attname)
        values[field.name] = None if value is None else str(value)
    return values


def _patient_of(instance: models.Model) -> int | None:
    if instance._meta.label_lower == settings.SPINEPATH_PATIENT_MODEL.lower():
        return instance.pk  # type: ignore[no-any-return]
    for name in PATIENT_PATHS:
        if hasattr(instance, f"{name}_id"):
            if name == "patient":
                return getattr(instance, "patient_id", None)
            related = getattr(instance, name, None)
            if related is not None:
                return _patient_of(related)
    return None


def _label(instance: models.Model) -> str:
    return f"{instance._meta.verbose_name} #{instance.pk}"


def _before_save(sender: Any, instance: models.Model, raw: bool = False, **_: Any) -> None:
    if raw or instance.pk is None:
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance._spinepath_before = _values(old) if old is not None else None  # type: ignore[attr-defined]


def _after_save(
    sender: Any, instance: models.Model, created: bool, raw: bool = False, **_: Any
) -> None:
    if raw:
        return
    after = _values(instance)
    before = None if created else getattr(instance, "_spinepath_before", None)
    if before is None:
        detail = {"after": after}
        action = AuditEvent.CREATE
    else:
        changed = sorted(k for k in after if after[k] != before.get(k))
        if not changed:
            return
        detail = {
            "before": {k: before.get(k) for k in changed},
            "after": {k: after[k] for k in changed},
        }
        action = AuditEvent.UPDATE
    _change(action, instance, detail)


def _after_delete(sender: Any, instance: models.Model, **_: Any) -> None:
    _change(AuditEvent.DELETE, instance, {"before": _values(instance)})


def _change(action: str, instance: models.Model, detail: dict[str, Any]) -> None:
    """Inside a write, the change joins the write's one event; anywhere else (the admin, a
    shell) it is an event of its own."""
    change = {"action": action, "what": _label(instance), "patient": _patient_of(instance)}
    scope = current_scope()
    if scope is not None:
        scope.changes.append({**change, **detail})
        return
    audit_now(actor=ambient_actor(), **change, detail=detail, marks_page=False)


def connect() -> None:
    on_finish(finish_write)
    user_logged_in.connect(_signed_in, dispatch_uid="audit-sign-in")
    user_logged_out.connect(_signed_out, dispatch_uid="audit-sign-out")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="audit-sign-in-failed")
    security_event.connect(_security_event, dispatch_uid="audit-security")
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="audit-locked-out")
    for model in apps.get_models():
        if _audited(model):
            uid = model._meta.label_lower
            pre_save.connect(_before_save, sender=model, dispatch_uid=f"audit-pre-{uid}")
            post_save.connect(_after_save, sender=model, dispatch_uid=f"audit-post-{uid}")
            post_delete.connect(_after_delete, sender=model, dispatch_uid=f"audit-del-{uid}")
