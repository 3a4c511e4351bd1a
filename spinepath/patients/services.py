"""Writes to patient records."""

from __future__ import annotations

import re
from datetime import date
from typing import TypedDict
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone
from unidecode import unidecode

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAllowed, clean_or_refuse
from spinepath.pathway.authority import Fact
from spinepath.patients.events import birth_date_changed, contact_changed
from spinepath.patients.models import MRN_SYSTEM, Patient, PatientIdentifier, identifier_system
from spinepath.patients.phones import distance_km, e164


def fold_name(name: str) -> str:
    """A name as compared for "the same person": case, accents, punctuation and spacing
    ignored ("López-" and "lopez" are one name)."""
    letters = "".join(c if c.isalnum() else " " for c in unidecode(name or "").casefold())
    return " ".join(letters.split())


class PossibleDuplicate(Conflict):
    """A chart with the same name and birth date exists: open it, or confirm another person."""

    title = "This patient may already have a chart"

    def __init__(self, existing: Patient) -> None:
        self.existing = existing
        born = existing.birth_date.isoformat() if existing.birth_date else ""
        message = (
            f"A chart for {existing.display_name}, born {born}, already exists "
            f"({existing.mrn}). Open that chart, or confirm that this is another person."
        )
        super().__init__(message, fields={"confirm_other_person": message}, code="duplicate")


def _same_person(given: str, family: str, born: date | None) -> Patient | None:
    """A chart with the same names (ignoring case and accents) and the same birth date."""
    if born is None:
        return None
    key = (fold_name(given), fold_name(family))
    for candidate in Patient.objects.filter(birth_date=born):
        if (fold_name(candidate.given_name), fold_name(candidate.family_name)) == key:
            return candidate
    return None


class Details(TypedDict, total=False):
    """What staff state about a patient: who they are and how to reach them (the fact
    "demographics"), and who pays (the fact "payer")."""

    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    email: str
    phone: str
    address_line: str
    address_city: str
    address_state: str
    postcode: str
    remind_by_email: bool
    remind_by_sms: bool
    remind_by_call: bool
    remind_by_letter: bool
    payer: str
    external_id: str | None


DETAIL_FACTS: dict[str, Fact] = {
    "given_name": "demographics",
    "family_name": "demographics",
    "birth_date": "demographics",
    "sex": "demographics",
    "email": "demographics",
    "phone": "demographics",
    "address_line": "demographics",
    "address_city": "demographics",
    "address_state": "demographics",
    "postcode": "demographics",
    "remind_by_email": "demographics",
    "remind_by_sms": "demographics",
    "remind_by_call": "demographics",
    "remind_by_letter": "demographics",
    "external_id": "demographics",
    "payer": "payer",
}


def check_details(actor: Actor, details: Details) -> None:
    """Refuse details that are not a patient's, or that the actor's role may not state; the
    phone number is written in E.164 from here on (a refusal names the field)."""
    unknown = sorted(set(details) - set(DETAIL_FACTS))
    if unknown:
        raise Invalid(f"Not a patient detail: {', '.join(unknown)}.")
    for fact in sorted({DETAIL_FACTS[name] for name in details}):
        actor.require(fact)
    if details.get("phone"):
        try:
            details["phone"] = e164(details["phone"])
        except ValueError as exc:
            raise Invalid(str(exc), fields={"phone": str(exc)}) from None


REMINDER_CHOICES = ("remind_by_email", "remind_by_sms", "remind_by_call", "remind_by_letter")


def _derived_contact(patient: Patient, changed: list[str]) -> None:
    """What follows from changed details: a new number is no longer known to be wrong; a new
    ZIP code has a new distance from the clinic; a changed reminder choice is dated."""
    if "phone" in changed:
        patient.phone_wrong_at = None
    if "postcode" in changed or (patient.postcode and patient.distance_km is None):
        patient.distance_km = distance_km(patient.postcode)
    if any(name in changed for name in REMINDER_CHOICES):
        patient.reminder_choices_at = timezone.now()


@action("demographics")
def patient_create(
    *,
    actor: Actor,
    details: Details,
    submission_key: str | None = None,
    other_person: bool = True,
) -> Patient:
    """A new chart, once per ``submission_key`` (a repeat returns the first). With
    ``other_person`` False (the New patient form), a chart whose names and birth date match an
    existing one is refused with that chart, until the coordinator confirms another person."""
    check_details(actor, details)
    if submission_key is not None:
        earlier = Patient.objects.filter(submission_key=submission_key).first()
        if earlier is not None:
            return earlier
    if not other_person:
        existing = _same_person(
            details.get("given_name", ""),
            details.get("family_name", ""),
            details.get("birth_date"),
        )
        if existing is not None:
            raise PossibleDuplicate(existing)
    patient = Patient(submission_key=submission_key, **details)
    clean_or_refuse(patient, exclude=["mrn", "submission_key"])
    _derived_contact(patient, [name for name in details if name != "phone"])
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # The same submission committed in parallel: its chart is the one.
        return Patient.objects.get(submission_key=submission_key)
    patient.mrn = f"SP{patient.pk:07d}"
    patient.save(update_fields=["mrn"])
    audit_record(actor=actor, action=AuditEvent.CREATE, what="patient record", patient=patient)
    return patient


@action("demographics")
def patient_update(*, actor: Actor, patient: Patient, details: Details) -> Patient:
    """Change a chart's details; the payer only by a role that may state it."""
    check_details(actor, details)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = [name for name, value in details.items() if getattr(patient, name) != value]
    previous_email = patient.email
    for name in changed:
        setattr(patient, name, details[name])  # type: ignore[literal-required]
    clean_or_refuse(patient)
    _derived_contact(patient, changed)
    contact = [name for name in CONTACT_FIELDS if name in changed]
    if contact:
        _hold_contact(patient, actor, previous_email)
    patient.save()
    what = "payer" if changed == ["payer"] else "demographics"
    if contact:
        contact = list(
            dict.fromkeys("address" if n.startswith(("address", "post")) else n for n in contact)
        )
        what += (
            f" ({' and '.join(contact)} changed: links to the patient's own pages are held "
            "until the patient confirms)"
        )
    audit_record(actor=actor, action=AuditEvent.UPDATE, what=what, patient=patient)
    if contact:
        contact_changed.send(
            sender=Patient, patient=patient, previous_email=patient.contact_previous_email
        )
    if "birth_date" in changed:
        birth_date_changed.send(sender=Patient, patient=patient)
    return patient


# The details a link to the patient's own pages goes to: by email, text or a printed letter.
CONTACT_FIELDS = ("email", "phone", "address_line", "address_city", "address_state", "postcode")


def _hold_contact(patient: Patient, actor: Actor, previous_email: str) -> None:
    """Staff changed where the patient is reached: hold every link until the patient confirms
    (PATHWAY.md section 7: staff never obtain the patient's session). A second change before
    the confirmation keeps the address on file before the first."""
    if patient.contact_held_at is None:
        patient.contact_previous_email = previous_email
        patient.contact_changed_by = []
    patient.contact_held_at = timezone.now()
    patient.contact_held_by = actor.user
    if actor.user is not None and actor.user.pk not in patient.contact_changed_by:
        patient.contact_changed_by = [*patient.contact_changed_by, actor.user.pk]


def contact_hold_problem(patient: Patient) -> str | None:
    """Why no link may be sent to ``patient`` now (None when one may): the contact details
    were changed by staff and the patient has not confirmed the change."""
    if patient.contact_held_at is None:
        return None
    when = timezone.localtime(patient.contact_held_at).strftime("%Y-%m-%d %H:%M")
    return (
        f"The email, phone or postal address on this record was changed on {when}: links to "
        "the patient's own "
        "pages are held until the patient confirms the change, from the address on file "
        "before it or in person with another staff member."
    )


@action(None)
def contact_change_confirm(
    *, actor: Actor, patient: Patient, how: str, shown: str | None = None
) -> Patient:
    """Lift the hold on a chart's changed contact details: by the patient (from the link sent
    to the address on file before the change, with their date of birth), or in person by a
    staff member who made no change during the hold (identity checked), for the details their
    page showed (``shown``: :attr:`Patient.contact_version`)."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if actor.channel == "patient":
        if actor.patient_id != patient.pk:
            raise NotAllowed("Only the patient confirms their own details.", code="not_patient")
    elif actor.channel == "staff":
        actor.require("contact_confirmation")
        authors = set(patient.contact_changed_by or [])
        if patient.contact_held_by_id is not None:
            authors.add(patient.contact_held_by_id)
        if actor.user is None or actor.user.pk in authors:
            raise NotAllowed(
                "A staff member who changed the details cannot confirm them: another staff "
                "member checks the patient's identity in person.",
                code="same_staff_member",
            )
    else:
        raise NotAllowed("Only the patient, or staff in person, confirms a change of details.")
    if patient.contact_held_at is None:
        return patient  # confirmed already (a second click)
    if actor.channel == "staff" and shown != patient.contact_version:
        raise Conflict(
            "The contact details changed since this page was opened: read them again with the "
            "patient, then confirm.",
            code="contact_changed",
        )
    patient.contact_held_at = None
    patient.contact_held_by = None
    patient.contact_previous_email = ""
    patient.contact_changed_by = []
    patient.save(
        update_fields=[
            "contact_held_at",
            "contact_held_by",
            "contact_previous_email",
            "contact_changed_by",
        ]
    )
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"change of contact details confirmed {how}: links to the patient's pages resume",
        patient=patient,
    )
    return patient


@action(None)
def reminder_choices_set(*, actor: Actor, patient: Patient, choices: dict[str, bool]) -> Patient:
    """How the patient agrees to be reminded of follow-up check-ins (email, text message,
    phone call, letter): by the patient on their own pages (or when accepting their plan), or
    by staff who may state the patient's contact details, as the patient told them."""
    if actor.channel == "patient":
        if actor.patient_id != patient.pk:
            raise NotAllowed("Only your own choices can be changed here.", code="not_patient")
    else:
        actor.require("demographics")
    unknown = sorted(set(choices) - {name.removeprefix("remind_by_") for name in REMINDER_CHOICES})
    if unknown:
        raise Invalid(f"Not a reminder channel: {', '.join(unknown)}.")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = [
        f"remind_by_{name}"
        for name, value in choices.items()
        if getattr(patient, f"remind_by_{name}") != bool(value)
    ]
    for name in changed:
        setattr(patient, name, bool(choices[name.removeprefix("remind_by_")]))
    patient.reminder_choices_at = timezone.now()
    patient.save(update_fields=[*changed, "reminder_choices_at", "updated_at"])
    if changed:
        words = ", ".join(
            f"{name.removeprefix('remind_by_')} {'yes' if getattr(patient, name) else 'no'}"
            for name in changed
        )
        audit_record(
            actor=actor,
            action=AuditEvent.UPDATE,
            what=f"reminder choices ({words})",
            patient=patient,
        )
    return patient


# What an identifier's system may look like: a URI (FHIR Identifier.system) - an address of
# the other system (https://ehr.example.org/fhir) or a URN (urn:oid:1.2.3, urn:ehr:ids).
_SYSTEM = re.compile(r"^(https?://[^\s/?#]+[^\s]*|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$", re.I)


def _this_servers_fhir(system: str) -> bool:
    """Whether ``system`` is this server's own FHIR base, by any name it answers to."""
    from django.conf import settings

    parts = urlsplit(system.lower())
    hosts = {h.lower().lstrip(".") for h in settings.ALLOWED_HOSTS}
    hosts.add((urlsplit(settings.SPINEPATH_BASE_URL).hostname or "").lower())
    return (
        parts.scheme in ("http", "https")
        and (parts.hostname in hosts or "*" in hosts)
        and parts.path.rstrip("/").startswith("/fhir")
    )


def identifier_problem(system: str, value: str) -> dict[str, str]:
    """What is wrong with an identifier as staff typed it, by field (empty when nothing)."""
    problems = {}
    if not system:
        problems["system"] = "Name the system: its address (https://...) or a URN (urn:...)."
    elif len(system) > 255 or not _SYSTEM.match(system):
        problems["system"] = (
            "A system is a URI: the other system's address (https://ehr.example.org/fhir) or "
            "a URN (urn:oid:1.2.840.1234); at most 255 characters, no spaces."
        )
    elif system.lower() == MRN_SYSTEM:
        problems["system"] = "That is the clinic's own record number, assigned by spinepath."
    elif _this_servers_fhir(system):
        problems["system"] = (
            "That is this server's own FHIR address: its patient ids are spinepath's own, not "
            "another system's."
        )
    if not value:
        problems["value"] = "Give the identifier."
    elif len(value) > 64 or not value.isprintable():
        problems["value"] = "At most 64 printable characters."
    elif "|" in value:
        problems["value"] = "No | in an identifier: it separates the system from the value."
    return problems


@action("demographics")
def identifier_add(
    *, actor: Actor, patient: Patient, system: str, value: str
) -> tuple[PatientIdentifier, bool]:
    """Keep an identifier the patient has in another system: (it, whether it is new). The same
    one again (a double click) changes nothing; one that names another chart is refused,
    naming that chart."""
    system, value = identifier_system(system), value.strip()
    problems = identifier_problem(system, value)
    if problems:
        raise Invalid(" ".join(problems.values()), fields=problems)
    Patient.objects.select_for_update().get(pk=patient.pk)
    existing = PatientIdentifier.objects.filter(system=system, value=value).first()
    if existing is not None:
        if existing.patient_id == patient.pk:
            return existing, False
        other = Patient.objects.get(pk=existing.patient_id)
        raise Conflict(
            f"{system} {value} is on another chart already ({other.mrn}): an identifier names "
            "one patient. Correct that chart first if it is wrong there.",
            fields={"value": f"On chart {other.mrn} already."},
        )
    try:
        with transaction.atomic():
            identifier = PatientIdentifier.objects.create(
                patient=patient, system=system, value=value, added_by=actor.user
            )
    except IntegrityError:
        # The same identifier added in parallel: the one that landed is the answer.
        identifier = PatientIdentifier.objects.get(system=system, value=value)
        if identifier.patient_id != patient.pk:
            raise Conflict(f"{system} {value} is on another chart already.") from None
        return identifier, False
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"identifier added: {system} {value}",
        patient=patient,
    )
    return identifier, True


@action("demographics")
def identifier_remove(*, actor: Actor, patient: Patient, identifier_id: int) -> bool:
    """Take an identifier off a chart (a wrong one); its history keeps it. One that is not on
    this chart (removed already, or another chart's) changes nothing: False."""
    Patient.objects.select_for_update().get(pk=patient.pk)
    identifier = PatientIdentifier.objects.filter(pk=identifier_id, patient=patient).first()
    if identifier is None:
        return False
    what = f"identifier removed: {identifier.system} {identifier.value}"
    identifier.delete()
    audit_record(actor=actor, action=AuditEvent.UPDATE, what=what, patient=patient)
    return True
