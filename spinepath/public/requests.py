"""A consultation request becomes a patient: linked to an existing chart, or a new chart made
from it, always by a coordinator's choice (never silently); then booked, seen or declined.

A request is ``new`` until a consultation of its chart is booked for it, ``booked`` until that
consultation takes place (``seen``), and ``new`` again when its consultation is cancelled; a
coordinator may decline it, or take a declined request back. Booked and seen follow the
bookings and the consultation; nobody sets them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.patients.models import Patient
from spinepath.patients.services import Details, fold_name, patient_create
from spinepath.public.models import Appointment, ConsultationRequest


@dataclass(frozen=True, slots=True)
class ChartMatch:
    """A chart that may be the requester's, and what matched: the coordinator decides."""

    patient: Patient
    reasons: tuple[str, ...]

    @property
    def strong(self) -> bool:
        """Name and birth date, or name and email, matched: very likely the same person."""
        return "name" in self.reasons and len(self.reasons) > 1


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit() and ch.isascii())[-9:]


def split_name(name: str) -> tuple[str, str]:
    """ "Maria del Carmen Lopez" -> ("Maria del Carmen", "Lopez"): the last word is the family
    name, as the coordinator will check on the form."""
    words = name.split()
    if len(words) < 2:
        return name.strip(), ""
    return " ".join(words[:-1]), words[-1]


def chart_matches(request: ConsultationRequest, limit: int = 10) -> list[ChartMatch]:
    """Charts that share the request's name (ignoring case and accents), birth date, email or
    phone, with what each shares; strongest first."""
    given, family = split_name(request.name)
    folded = (fold_name(given), fold_name(family))
    query = Q(family_key__startswith=fold_name(family)) if family else Q(pk__in=[])
    if request.email:
        query |= Q(email__iexact=request.email)
    if request.birth_date:
        query |= Q(birth_date=request.birth_date)
    phone = _digits(request.phone)
    candidates = list(Patient.objects.filter(query)[:200])
    if len(phone) >= 7:
        candidates += list(
            Patient.objects.exclude(pk__in=[p.pk for p in candidates]).filter(
                phone__contains=phone[-4:]
            )[:200]
        )
    found: list[ChartMatch] = []
    for patient in candidates:
        reasons = []
        if (fold_name(patient.given_name), fold_name(patient.family_name)) == folded:
            reasons.append("name")
        if request.birth_date and patient.birth_date == request.birth_date:
            reasons.append("date of birth")
        if request.email and patient.email.lower() == request.email.lower():
            reasons.append("email")
        if len(phone) >= 7 and _digits(patient.phone) == phone:
            reasons.append("phone")
        # A shared birth date alone is not a match: many people share one.
        if reasons and reasons != ["date of birth"]:
            found.append(ChartMatch(patient, tuple(reasons)))
    found.sort(key=lambda m: (-len(m.reasons), m.patient.family_key))
    return found[:limit]


def _request(request_id: int) -> ConsultationRequest:
    item = ConsultationRequest.objects.select_for_update().filter(pk=request_id).first()
    if item is None:
        raise NotAvailable("There is no such request.")
    return item


def booked_consultation(request: ConsultationRequest) -> Appointment | None:
    return request.appointments.filter(
        kind=Appointment.CONSULTATION, status__in=[Appointment.BOOKED, Appointment.DONE]
    ).first()


@action("booking")
def request_link(*, actor: Actor, request_id: int, patient_id: int) -> ConsultationRequest:
    """The request is this chart's (the coordinator chose it); linking it again to the same
    chart changes nothing. A request whose consultation is booked stays with its chart."""
    item = _request(request_id)
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise NotAvailable("There is no such patient.")
    if item.patient_id == patient.pk:
        return item
    if item.patient_id is not None and booked_consultation(item) is not None:
        linked = f"{item.patient} ({item.patient.mrn})"  # type: ignore[union-attr]
        refusal = (
            f"This request's consultation is booked for the chart it is linked to, {linked}: "
            "cancel that booking before linking the request to another chart."
        )
        raise Conflict(refusal, fields={"patient": refusal})
    item.patient = patient
    item.save(update_fields=["patient"])
    return item


@action("booking")
def request_unlink(*, actor: Actor, request_id: int) -> ConsultationRequest:
    """The request is not this chart's after all (a wrong link is undone before anything is
    booked); a request whose consultation is booked keeps its chart."""
    item = _request(request_id)
    if item.patient_id is None:
        return item
    if booked_consultation(item) is not None:
        refusal = "This request's consultation is booked: cancel it before unlinking the chart."
        raise Conflict(refusal, fields={"patient": refusal})
    item.patient = None
    item.save(update_fields=["patient"])
    return item


@action("demographics")
def request_chart_create(
    *,
    actor: Actor,
    request_id: int,
    details: Details,
    other_person: bool = False,
) -> Patient:
    """A new chart from the request, linked to it; a chart with the same name and birth date
    is refused (the coordinator links that one, or confirms another person). A second click,
    or a parallel one, waits on the request's row and finds the chart the first one made; a
    request unlinked from a wrong chart makes a new one."""
    item = _request(request_id)
    if item.patient_id is not None:
        return item.patient  # type: ignore[return-value]
    if not details.get("birth_date"):
        refusal = "Enter the date of birth: a chart is matched by it."
        raise Invalid(refusal, fields={"birth_date": refusal})
    patient = patient_create(
        actor=actor,
        details=details,
        other_person=other_person,
    )
    item.patient = patient
    item.save(update_fields=["patient"])
    return patient


MANUAL_STATUSES = {ConsultationRequest.NEW, ConsultationRequest.DECLINED}


@action("request_status")
def request_status_set(*, actor: Actor, request_id: int, status: str) -> ConsultationRequest:
    """Decline a request, or take a declined one back; booked and seen follow the bookings."""
    if status not in MANUAL_STATUSES:
        refusal = (
            "A request is booked by booking its consultation, and seen when the consultation "
            "takes place."
            if status in dict(ConsultationRequest.STATUSES)
            else "Unknown status."
        )
        raise Invalid(refusal, fields={"status": refusal})
    item = _request(request_id)
    if item.status == status:
        return item
    if status == ConsultationRequest.DECLINED and item.status != ConsultationRequest.NEW:
        refusal = "Only a request with nothing booked is declined: cancel its consultation first."
        raise Conflict(refusal, fields={"status": refusal})
    if status == ConsultationRequest.NEW and item.status != ConsultationRequest.DECLINED:
        refusal = "This request has a consultation booked or held."
        raise Conflict(refusal, fields={"status": refusal})
    item.status = status
    item.save(update_fields=["status"])
    return item


def request_booked(request: ConsultationRequest) -> None:
    """Inside a booking: the request's consultation is booked."""
    request.status = ConsultationRequest.BOOKED
    request.save(update_fields=["status"])


def request_consultation_cancelled(request: ConsultationRequest) -> None:
    """Inside a cancellation: with no other consultation booked, the request is new again."""
    if request.status == ConsultationRequest.BOOKED and booked_consultation(request) is None:
        request.status = ConsultationRequest.NEW
        request.save(update_fields=["status"])


def request_seen(request: ConsultationRequest) -> None:
    if request.status != ConsultationRequest.SEEN:
        request.status = ConsultationRequest.SEEN
        request.save(update_fields=["status"])
