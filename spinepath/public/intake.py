"""Requests from the public: the consultation request form and the rate limit that every
public form (the self-screen, the request, the patient's sign-in) counts against, per client
address.

Every write takes ``actor=``: the public forms are anyone's (counted per client address). What
becomes of a request (a chart, a booking, declined) is in :mod:`spinepath.public.requests`.
"""

from __future__ import annotations

import hmac
import math
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from spinepath.actions import action, after_commit
from spinepath.actors import Actor
from spinepath.errors import Invalid, RateLimited
from spinepath.public.models import (
    ConsultationRequest,
    PublicSubmission,
)

# Submissions of one public form per client within RATE_WINDOW. The self-screen stores
# nothing, so its limit only stops a script; a person comparing answers never meets it.
RATE_LIMITS = {"screen": 60, "request": 5, "signin": 5}
RATE_WINDOW = timedelta(minutes=10)


def client_key(address: str | None) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), (address or "").encode(), "sha256").hexdigest()


@action(None)
def rate_limit(*, actor: Actor, form: str) -> None:
    """Refuse a client's submission beyond the form's limit, saying when to try again; count
    it otherwise (the client: the actor's address). One transaction holds the write lock
    (SQLite) or the transaction lock (PostgreSQL), so parallel submissions are counted one
    after another."""
    client = client_key(actor.address)
    now = timezone.now()
    since = now - RATE_WINDOW
    recent = PublicSubmission.objects.filter(client=client, form=form, at__gte=since)
    if recent.count() >= RATE_LIMITS[form]:
        oldest = recent.order_by("at").values_list("at", flat=True).first() or now
        seconds = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
        minutes = max(1, int((oldest + RATE_WINDOW - now).total_seconds() // 60) + 1)
        raise RateLimited(
            "Too many submissions from this connection in a short time. Please try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after=seconds,
        )
    PublicSubmission.objects.filter(at__lt=since).delete()
    PublicSubmission.objects.create(client=client, form=form)


_ACKNOWLEDGEMENT = (
    "Hello,\n\nThank you for your request for a consultation. A coordinator will contact you "
    "within two working days to find a time.\n\nIf your symptoms change suddenly - loss of "
    "bladder or bowel control, numbness between the legs, fever, or weakness getting worse - "
    "do not wait: see a doctor today or go to an emergency department.\n\n{clinic}\n"
)


@action(None)
def consultation_request_create(
    *,
    actor: Actor,
    name: str,
    consent_to_contact: bool,
    birth_date: date | None = None,
    email: str = "",
    phone: str = "",
    preferred_times: str = "",
    message: str = "",
    screen_outcome: str = "",
) -> ConsultationRequest:
    """Anyone's request for a consultation (the public form), kept with the client's address;
    acknowledged by email once stored."""
    if not consent_to_contact:
        refusal = "We can only contact you with your consent."
        raise Invalid(refusal, fields={"consent_to_contact": refusal})
    if not email and not phone:
        refusal = "Give an email address or a phone number."
        raise Invalid(refusal, fields={"email": refusal})
    request = ConsultationRequest.objects.create(
        address=actor.address,
        name=name,
        birth_date=birth_date,
        email=email,
        phone=phone,
        preferred_times=preferred_times,
        message=message,
        consent_to_contact=consent_to_contact,
        screen_outcome=screen_outcome,
    )
    if request.email:
        acknowledgement = EmailMessage(
            subject=f"We received your request - {settings.SPINEPATH_CLINIC_NAME}",
            body=_ACKNOWLEDGEMENT.format(clinic=settings.SPINEPATH_CLINIC_NAME),
            to=[request.email],
        )
        after_commit(acknowledgement.send)
    return request
