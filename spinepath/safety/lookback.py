"""Writing to the patients a look-back found (PATHWAY.md section 10): "which patients received
lot X" is one query (:func:`spinepath.plans.biologics.lookback`), and the clinic can reach them.

Each patient found gets the clinic's message by email when their record has an address, else a
printed letter; each is kept (:class:`~spinepath.safety.models.LookbackNotice`) and audited as a
disclosure. One press of "Send" writes once to each patient, however often it is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from spinepath.actions import action, after_commit
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_now, audit_record
from spinepath.errors import Invalid
from spinepath.plans.biologics import AmbiguousLot, Recipient, lookback, lot_by_code
from spinepath.plans.models import BiologicProduct
from spinepath.safety.models import LookbackNotice
from spinepath.safety.services import checked_key

SUBJECT_MAX = 200
BODY_MAX = 6000
# What the clinic's message may name per patient: {name} and {injections}.
PLACEHOLDERS = ("{name}", "{injections}")


@dataclass(frozen=True, slots=True)
class Query:
    lot: str = ""
    product_id: int | None = None
    donor: str = ""

    def words(self) -> str:
        parts = []
        if self.lot:
            try:
                found = lot_by_code(self.lot)
            except AmbiguousLot:
                found = None
            parts.append(
                f"{found.product.name}, lot {found.lot}" if found is not None else f"lot {self.lot}"
            )
        if self.product_id is not None:
            product = BiologicProduct.objects.filter(pk=self.product_id).first()
            parts.append(f"product {product.name if product else self.product_id}")
        if self.donor:
            parts.append(f"donor {self.donor}")
        return ", ".join(parts)


def default_message(query: Query) -> tuple[str, str]:
    """The subject and body the page offers, to be edited before sending."""
    clinic = settings.SPINEPATH_CLINIC_NAME
    phone = getattr(settings, "SPINEPATH_CLINIC_PHONE", "")
    call = f"call us on {phone}" if phone else "call the clinic"
    return (
        f"Important information about your injection at {clinic}",
        "Dear {name},\n\n"
        f"We are writing about a product used in your injection ({query.words()}):\n"
        "{injections}\n\n"
        "We have learned something about this product that we want you to know, and we would "
        f"like to check how you are. Please {call} so that a clinician can talk it through "
        "with you. If you have a fever, new weakness in your legs, or a change in bladder or "
        "bowel control, go to the nearest emergency department now.\n\n"
        f"{clinic}",
    )


def injections_text(recipient: Recipient) -> str:
    lines = []
    for i in recipient.injections:
        where = " ".join(p for p in (i.level, i.side) if p)
        product = f", {i.lot.product.name} lot {i.lot.lot}" if i.lot else ""
        day = f"{i.performed_on.day} {i.performed_on:%B %Y}"
        lines.append(f"- {day}: {i.get_generator_display()} {where}{product}")
    return "\n".join(lines)


def personal(text: str, recipient: Recipient) -> str:
    patient = recipient.patient
    return text.replace("{name}", f"{patient.given_name} {patient.family_name}").replace(
        "{injections}", injections_text(recipient)
    )


def unknown_placeholders(text: str) -> list[str]:
    """Text in braces the message may not hold: only {name} and {injections} are filled in."""
    return [p for p in dict.fromkeys(re.findall(r"\{[^{}]*\}", text)) if p not in PLACEHOLDERS]


def written_before(query: Query, found: list[Recipient]) -> list[LookbackNotice]:
    """Notices already sent about the same thing to the patients found now."""
    return list(
        LookbackNotice.objects.filter(
            about=query.words()[:200], patient__in=[r.patient for r in found]
        )
        .select_related("patient", "sent_by")
        .order_by("-sent_at")
    )


@action("lookback_notice")
def lookback_notify(
    *,
    actor: Actor,
    query: Query,
    subject: str,
    body: str,
    submission_key: str,
    again: bool = False,
) -> list[LookbackNotice]:
    """Write to every patient the look-back finds: an email to those with an address on their
    record, a printed letter to the others. A repeat of the same press returns its notices;
    patients written to before about the same thing are written to again only when ``again``
    says so."""
    key = checked_key(submission_key)
    assert key is not None
    earlier = list(LookbackNotice.objects.filter(submission_key=key).select_related("patient"))
    if earlier:
        return earlier
    problems: dict[str, str] = {}
    subject, body = subject.strip(), body.strip()
    if not subject or len(subject) > SUBJECT_MAX:
        problems["subject"] = f"Write a subject of at most {SUBJECT_MAX} characters."
    if not body or len(body) > BODY_MAX:
        problems["body"] = f"Write the message, at most {BODY_MAX} characters."
    for field, text in (("subject", subject), ("body", body)):
        unknown = unknown_placeholders(text)
        if unknown and field not in problems:
            problems[field] = (
                f"{', '.join(unknown)} is not filled in: only {{name}} and {{injections}} are."
            )
    if problems:
        raise Invalid(list(problems.values()), fields=problems)
    found = lookback(lot=query.lot, product_id=query.product_id, donor=query.donor)
    if not found:
        message = "Nobody received it: there is nobody to write to."
        raise Invalid(message, fields={"lot": message})
    before = written_before(query, found)
    if before and not again:
        people = len({n.patient_id for n in before})
        message = (
            f"{people} of these patients {'was' if people == 1 else 'were'} written to about "
            f"it already (last on {before[0].sent_at:%Y-%m-%d}): tick 'Write again' to send "
            "this too."
        )
        raise Invalid(message, fields={"again": message})
    notices = []
    about = query.words()
    for recipient in found:
        patient = recipient.patient
        channel = LookbackNotice.EMAIL if patient.email else LookbackNotice.LETTER
        text = personal(body, recipient)
        try:
            with transaction.atomic():
                notice = LookbackNotice.objects.create(
                    patient=patient,
                    about=about[:200],
                    query={"lot": query.lot, "product_id": query.product_id, "donor": query.donor},
                    channel=channel,
                    to_address=patient.email,
                    subject=subject,
                    body=text,
                    sent_by=actor.user,
                    submission_key=key,
                )
        except IntegrityError:
            # The same press, in parallel: its notices are the ones.
            return list(LookbackNotice.objects.filter(submission_key=key))
        notices.append(notice)
        if channel == LookbackNotice.EMAIL:
            message = EmailMessage(subject, text, to=[patient.email])
            after_commit(message.send)
        # A disclosure to each patient, each its own event (the record-number filter of the
        # audit log finds it), in the write's transaction: kept if and only if the notice is.
        audit_now(
            actor=actor,
            action=AuditEvent.EXPORT,
            what=f"look-back notice ({notice.get_channel_display().lower()}) about {about}",
            patient=patient,
            marks_page=False,
        )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"look-back of {about}: {len(notices)} patients written to",
    )
    return notices
