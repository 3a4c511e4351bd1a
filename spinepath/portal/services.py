"""Patient sign-in: a single-use link to the email on the record, then the date of birth.

- a link is sent by a coordinator from the chart (:func:`link_send`) or asked for on the public
  sign-in page (:func:`link_request`, which answers the same whether or not the address is on a
  record);
- its token is never stored (only the SHA-256), it lasts 15 minutes and works once;
- the date of birth is checked before anything about the patient is shown
  (:func:`sign_in_check`); wrong ones are throttled per patient (then every open link of theirs
  is closed) and per address;
- the session is the patient's alone (:func:`portal_login`), ends after 15 idle minutes, and
  never carries a staff login.

The rules (lifetime, limits, idle time) are pure, in :mod:`spinepath.pathway.portal`.

Every write takes ``actor=``: staff send links (the ``sign_in_link`` fact of the authority
table); anyone may ask for one on the public page and try a link's date of birth; a right one
signs the patient in, recorded as the patient.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone

from spinepath.actions import action, after_commit
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAllowed, Refused
from spinepath.pathway.portal import (
    NOT_VALID,
    WRONG_CHECK_WINDOW,
    WRONG_CHECKS_PER_PATIENT,
    link_problem,
    session_expired,
    throttle_problem,
)
from spinepath.patients.models import Patient
from spinepath.patients.services import contact_change_confirm, contact_hold_problem
from spinepath.portal.models import SignInLink, WrongCheck
from spinepath.public.intake import client_key, rate_limit

logger = logging.getLogger(__name__)

PATIENT_KEY = "portal_patient"
SEEN_KEY = "portal_seen"
MAX_TOKEN = 100


class SignInRefused(Refused):
    """A sign-in link that cannot be used (410: ask for a new one)."""

    status = 410
    title = "Sign in"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(
    patient: Patient,
    requested_by: User | None,
    submission_key: str | None = None,
    *,
    confirms_contact: bool = False,
    sent_to: str = "",
) -> str:
    token = secrets.token_urlsafe(32)
    SignInLink.objects.create(
        patient=patient,
        token_hash=_hash(token),
        created_at=timezone.now(),
        requested_by=requested_by,
        submission_key=submission_key,
        confirms_contact=confirms_contact,
        sent_to=sent_to or patient.email,
    )
    return token


def _confirmation_email(patient: Patient, token: str, to: str) -> EmailMessage:
    """To the address on file before staff changed the contact details: the new details are
    named (the email masked), and signing in with the link confirms them."""
    url = f"{settings.SPINEPATH_BASE_URL.rstrip('/')}/my/in/{token}/"
    clinic = settings.SPINEPATH_CLINIC_NAME
    return EmailMessage(
        subject=f"Please confirm your new contact details - {clinic}",
        body=(
            f"Hello {patient.given_name},\n\nThe contact details on your record at {clinic} "
            f"were changed: email {mask_email(patient.email) or '(none)'}, phone "
            f"{mask_phone(patient.phone) or '(none)'}. Until you confirm the change, no link to "
            "your own pages is sent anywhere.\n\nIf you asked for this change, confirm it by "
            f"signing in with this link (it works once, for 7 days, and asks for your date of "
            f"birth):\n\n{url}\n\nIf you did not ask for it, do not use the link and call the "
            f"clinic.\n\n{clinic}\n"
        ),
        to=[to],
    )


def mask_email(email: str) -> str:
    """``m***@example.org``: enough for the patient to recognise their address."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else ""


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return f"***{''.join(digits[-2:])}" if digits else ""


def hold_links_on_contact_change(
    sender: object, *, patient: Patient, previous_email: str, **_: object
) -> None:
    """Listener of :data:`spinepath.patients.events.contact_changed`, inside the write that
    changed the details: every open link of the patient closes, and the address on file
    before the change (if any) is asked to confirm it."""
    now = timezone.now()
    SignInLink.objects.filter(patient=patient, used_at__isnull=True, voided_at__isnull=True).update(
        voided_at=now
    )
    if previous_email and patient.birth_date is not None:
        token = _new_link(patient, None, confirms_contact=True, sent_to=previous_email)
        after_commit(_confirmation_email(patient, token, previous_email).send)


def _email(patient: Patient, token: str) -> EmailMessage:
    """The link is built on the clinic's configured address (SPINEPATH_BASE_URL), never on the
    host a request named: a forged Host header cannot send a patient elsewhere."""
    url = f"{settings.SPINEPATH_BASE_URL.rstrip('/')}/my/in/{token}/"
    clinic = settings.SPINEPATH_CLINIC_NAME
    return EmailMessage(
        subject=f"Your sign-in link - {clinic}",
        body=(
            f"Hello {patient.given_name},\n\nHere is your link to your own pages at {clinic} - "
            "your consultation, your plan, your appointments and your questionnaires:\n\n"
            f"{url}\n\nIt works once, for 15 minutes, and asks for your date of birth. If you "
            f"did not ask for it, you can ignore this email.\n\n{clinic}\n"
        ),
        to=[patient.email],
    )


@action("sign_in_link")
def link_send(
    *,
    actor: Actor,
    patient: Patient,
    submission_key: str | None = None,
) -> bool:
    """A coordinator (or a clinician, or the clinic admin) sends a sign-in link to the email
    on the patient's record; once per ``submission_key`` (a double click or parallel posts of
    the chart's button send one email). True when this call sent it."""
    # One sender per patient at a time: the check below and the insert see the same links.
    # The record as it is under the lock: a change of its email made a moment ago holds links.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if submission_key is not None and SignInLink.objects.filter(submission_key=submission_key):
        return False
    if not patient.email:
        message = "The record has no email address: add one first."
        raise Invalid(message, fields={"email": message})
    held = contact_hold_problem(patient)
    if held is not None:
        raise Conflict(held, code="contact_held")
    if patient.birth_date is None:
        raise Invalid("The record has no date of birth, which the patient needs to sign in.")
    try:
        with transaction.atomic():
            token = _new_link(patient, actor.user, submission_key)
    except IntegrityError:
        return False  # the same submission, committed in parallel, sent it
    after_commit(_email(patient, token).send)
    audit_record(
        actor=actor,
        action=AuditEvent.EXPORT,
        what="sign-in link emailed to the patient",
        patient=patient,
    )
    return True


def link_request(*, actor: Actor, email: str) -> Callable[[], None]:
    """The patient asks for a link on the public page. Whatever the address, the answer is the
    same (nobody learns who is a patient), and so is the time it takes: before the answer only
    the form's limit per client is counted, the same work for any address. Finding the address's
    records, their links, the emails and the audit events are done by the function returned,
    which the page runs once its answer has gone (:func:`links_for_address`)."""
    rate_limit(actor=actor, form="signin")
    return partial(links_for_address, actor=actor, email=email.strip())


@action(None)
def links_for_address(*, actor: Actor, email: str) -> None:
    """A sign-in link emailed to each patient (at most five) whose record holds ``email``.

    Run after the answer, it still does the same database work for any address, since the next
    request a worker serves waits for it: one look-up and one audit event (an address on no
    record is recorded as such, without the address). The emails leave from a thread of their
    own, so that a slow mail server holds up nobody (:func:`_send_soon`)."""
    found = (
        Patient.objects.filter(
            Q(email__iexact=email, contact_held_at__isnull=True)
            | Q(contact_previous_email__iexact=email, contact_held_at__isnull=False),
            birth_date__isnull=False,
        )[:5]
        if email
        else []
    )
    patients = list(found)
    # One event for the request; when the address is on more than one record, it names each.
    records = {"records": sorted(p.mrn for p in patients if p.mrn)} if len(patients) > 1 else None
    for patient in patients:
        if patient.contact_held_at is not None:
            # Asked from the address on file before a change not yet confirmed: the link goes
            # there and signing in with it confirms the change.
            token = _new_link(patient, None, confirms_contact=True, sent_to=email)
            message = _confirmation_email(patient, token, email)
            what = "confirmation link emailed to the address on file before the change"
        else:
            token = _new_link(patient, None)
            message, what = _email(patient, token), "sign-in link emailed at the patient's request"
        after_commit(partial(_send_soon, message))
        audit_record(
            actor=actor, action=AuditEvent.EXPORT, what=what, patient=patient, detail=records
        )
    held = Patient.objects.filter(email__iexact=email, contact_held_at__isnull=False).exists()
    if not patients and held:
        audit_record(
            actor=actor,
            action=AuditEvent.SIGN_IN_FAILED,
            what="sign-in link asked for a changed address not yet confirmed: nothing sent",
        )
    elif not patients:
        audit_record(
            actor=actor,
            action=AuditEvent.SIGN_IN_FAILED,
            what="sign-in link asked for an address on no patient record: nothing sent",
        )


# The test runner's in-memory mail: nothing to wait for, and tests read it at once.
_IN_MEMORY_MAIL = "django.core.mail.backends.locmem.EmailBackend"


def _send_soon(message: EmailMessage) -> None:
    """Send ``message`` from a thread of its own: an SMTP server that takes a second to answer
    holds up no worker (whose next request would otherwise show that an email was sent)."""
    if settings.EMAIL_BACKEND == _IN_MEMORY_MAIL:
        _send_logged(message)
        return
    threading.Thread(target=_send_logged, args=(message,), daemon=True).start()


def _send_logged(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("a sign-in link could not be emailed")


def link_usable(token: str) -> SignInLink:
    """The link behind ``token`` if it can still be used (its page shows nothing else)."""
    if not token or len(token) > MAX_TOKEN:
        raise SignInRefused(NOT_VALID)
    link = SignInLink.objects.filter(token_hash=_hash(token)).first()
    if link is None:
        raise SignInRefused(NOT_VALID)
    problem = link_problem(
        created_at=link.created_at,
        used_at=link.used_at,
        voided_at=link.voided_at,
        now=timezone.now(),
        confirms_contact=link.confirms_contact,
    )
    if problem is not None:
        raise SignInRefused(problem)
    return link


def sign_in_check(*, actor: Actor, token: str, birth_date: date) -> Patient:
    """The second check, by whoever holds the link (``actor``). A right date of birth uses the
    link up (once, whatever arrives in parallel) and returns the patient, recorded as the
    patient signing in; a wrong one is counted and recorded, and so refused (after the commit,
    so that waiting cannot be skipped)."""
    refusal: Refused | None = None
    with transaction.atomic():
        link = link_usable(token)
        link = SignInLink.objects.select_for_update().select_related("patient").get(pk=link.pk)
        link_usable(token)  # again, under the lock: a parallel request may have used it
        patient = link.patient
        now = timezone.now()
        since = now - WRONG_CHECK_WINDOW
        client = client_key(actor.address)
        from_address = WrongCheck.objects.filter(client=client, at__gte=since)
        problem = throttle_problem(
            wrong_for_patient=WrongCheck.objects.filter(patient=patient, at__gte=since).count(),
            wrong_from_address=from_address.count(),
            oldest_from_address=from_address.order_by("at").values_list("at", flat=True).first(),
            now=now,
        )
        if problem is not None:
            refusal = SignInRefused(problem)
            refusal.status = 429
        elif patient.birth_date != birth_date:
            _wrong_birth_date(actor=actor, patient=patient, client=client, now=now, since=since)
            message = "That date of birth does not match our record."
            refusal = Invalid(message, fields={"birth_date": message})
        else:
            as_patient = Actor.for_patient(
                patient.pk, actor_name(patient), address=actor.address, path=actor.path
            )
            _link_used(actor=as_patient, link=link, now=now)
            if link.confirms_contact:
                contact_change_confirm(
                    actor=as_patient,
                    patient=patient,
                    how=f"by the patient, signing in from {mask_email(link.sent_to)}",
                )
    if refusal is not None:
        raise refusal
    return patient


@action(None)
def _wrong_birth_date(
    *, actor: Actor, patient: Patient, client: str, now: datetime, since: datetime
) -> None:
    """A wrong date of birth, counted per patient and per client; at the patient's limit every
    open link of theirs is closed."""
    WrongCheck.objects.create(patient=patient, client=client, at=now)
    wrong = WrongCheck.objects.filter(patient=patient, at__gte=since).count()
    if wrong >= WRONG_CHECKS_PER_PATIENT:
        SignInLink.objects.filter(
            patient=patient, used_at__isnull=True, voided_at__isnull=True
        ).update(voided_at=now)
    audit_record(
        actor=actor,
        action=AuditEvent.SIGN_IN_FAILED,
        what="patient sign-in: wrong date of birth",
        patient=patient,
    )


@action(None)
def _link_used(*, actor: Actor, link: SignInLink, now: datetime) -> None:
    """The patient signed in: the link is used up, and their other links (an older email) open
    nothing any more."""
    if actor.patient_id != link.patient_id:
        raise NotAllowed("Only the patient signs in with their own link.", code="not_patient")
    link.used_at = now
    link.save(update_fields=["used_at"])
    SignInLink.objects.filter(
        patient_id=link.patient_id, used_at__isnull=True, voided_at__isnull=True
    ).exclude(pk=link.pk).update(voided_at=now)
    audit_record(
        actor=actor,
        action=AuditEvent.SIGN_IN,
        what="patient signed in (link and date of birth)",
        patient=link.patient_id,
    )


def actor_name(patient: Patient) -> str:
    """How the audit log names a patient acting on their own pages."""
    return f"patient {patient.mrn} (own pages)"


# --- The patient's session ------------------------------------------------------------------


def portal_login(request: HttpRequest, patient: Patient) -> None:
    """A new session for this patient alone: whatever the browser held before (a staff login,
    another patient) is gone."""
    request.session.flush()
    rotate_token(request)  # a CSRF token planted before the sign-in is worth nothing after it
    request.session[PATIENT_KEY] = patient.pk
    request.session[SEEN_KEY] = int(timezone.now().timestamp())


def portal_logout(request: HttpRequest) -> None:
    request.session.flush()


def current_patient(request: HttpRequest) -> tuple[Patient | None, bool]:
    """(The signed-in patient, or None; whether a patient session just ended for idleness)."""
    session = request.session
    patient_id = session.get(PATIENT_KEY)
    if patient_id is None:
        return None, False
    now = timezone.now()
    seen = session.get(SEEN_KEY, 0)
    if session_expired(datetime.fromtimestamp(seen, tz=UTC), now):
        session.flush()
        return None, True
    if int(now.timestamp()) - seen >= 30:
        session[SEEN_KEY] = int(now.timestamp())
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        session.flush()
    return patient, False


def forget_patient_on_staff_login(
    sender: object, request: HttpRequest | None, **kwargs: object
) -> None:
    """A staff sign-in in the same browser ends a patient's session (never both at once)."""
    if request is not None and hasattr(request, "session"):
        request.session.pop(PATIENT_KEY, None)
        request.session.pop(SEEN_KEY, None)
