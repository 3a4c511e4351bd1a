"""A written plan offered and accepted (PATHWAY.md section 4).

A plan is the clinic's working draft until a clinician releases it to the patient
(:func:`plan_release`): the version released is the one the clinician read (its content hash),
frozen from then on, and the only one the patient's pages show and anyone can accept. An earlier
version released and not accepted is withdrawn.

The patient accepts the released version in the clinic, witnessed by staff
(:func:`plan_accept`), or on their own pages (:func:`plan_accept_by_patient`): the version they
read (its content hash), printed once and kept byte for byte; the accepted version it replaces
is superseded. Both gates are pure (:func:`spinepath.pathway.gates.release_refusal`,
:func:`spinepath.pathway.gates.acceptance_refusal`). A double submission releases or accepts
once.
"""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAllowed, NotAvailable
from spinepath.pathway import gates
from spinepath.pathway.portal import acceptance_statement, name_matches
from spinepath.patients.models import Patient
from spinepath.plans import documents
from spinepath.plans.events import plan_accepted
from spinepath.plans.models import CarePlan
from spinepath.plans.pricing import refuse
from spinepath.plans.selectors import (
    plan_content_hash,
    plan_figures,
    plan_odds,
)
from spinepath.plans.standing import patient_standing
from spinepath.web.policy import clinic_policy


@action("plan_release")
def plan_release(*, actor: Actor, plan_id: int, shown: str) -> CarePlan:
    """A clinician releases a draft to the patient: from now it is what the patient's pages
    show and what may be accepted, and it can no longer be edited (a change is a new version,
    released in its turn). ``shown`` is the content hash of the draft the clinician read: a
    draft changed since is not released. A second click releases once."""
    plan = CarePlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotAvailable("There is no such plan.")
    # One writer per patient: a parallel release or acceptance waits for this one.
    Patient.objects.select_for_update().filter(pk=plan.patient_id).first()
    plan = CarePlan.objects.select_for_update().select_related("patient").get(pk=plan_id)
    if plan.status == CarePlan.RELEASED and shown == plan.released_content_hash:
        return plan  # the second click of a double submission
    standing = patient_standing(plan.patient)
    refuse(gates.release_refusal(standing, standing.plan(plan.pk), clinic_policy()))
    content = plan_content_hash(plan)
    if shown != content:
        raise Conflict(
            "The plan changed since this page was opened: read it again, then release it.",
            code="plan_changed",
        )
    withdrawn = list(CarePlan.objects.filter(patient=plan.patient, status=CarePlan.RELEASED))
    for older in withdrawn:
        older.status = CarePlan.SUPERSEDED
        older.save(update_fields=["status"])
    plan.status = CarePlan.RELEASED
    plan.released_at = timezone.now()
    plan.released_by = actor.user
    plan.released_content_hash = content
    plan.save(update_fields=["status", "released_at", "released_by", "released_content_hash"])
    replaced = f" (withdraws v{', v'.join(str(p.version) for p in withdrawn)})" if withdrawn else ""
    audit_record(
        actor=actor,
        action=AuditEvent.SIGN,
        what=f"plan v{plan.version} released to the patient{replaced}",
        patient=plan.patient,
    )
    return plan


@action("plan_acceptance")
def plan_accept(
    *,
    plan: CarePlan,
    typed_name: str,
    actor: Actor,
    shown: str | None = None,
) -> CarePlan:
    """The patient accepts the written plan in the clinic, a staff member witnessing (the name
    typed as signature); it is frozen from now.

    ``shown`` is the content hash of the page the patient read (every route that shows the
    plan passes it): a plan changed since - a line, a price, the payer - is not accepted, and
    the hash of what was accepted is kept with the acceptance."""
    return _accept(
        plan.pk,
        typed_name=typed_name,
        shown=shown,
        by=CarePlan.IN_PERSON,
        witness=actor.user,
        consent="",
        actor=actor,
    )


@action(None)
def plan_accept_by_patient(
    *,
    actor: Actor,
    plan_id: int,
    typed_name: str,
    shown: str,
    consent_given: bool,
) -> CarePlan:
    """The patient accepts the written plan on their own pages: the version they read (its
    content hash), the consent statement they ticked, their typed full name, time and address.
    Only their own plan, by the patient themselves (no staff session); never one replaced or
    changed while they read it."""
    if actor.channel != "patient" or actor.patient_id is None:
        raise NotAllowed("Only the patient accepts a plan on their own pages.", code="not_patient")
    plan = CarePlan.objects.filter(pk=plan_id, patient_id=actor.patient_id).first()
    if plan is None:
        raise NotAvailable("There is no such plan.")
    if not consent_given:
        message = "Tick the statement to accept the plan."
        raise Invalid(message, fields={"consent": message})
    return _accept(
        plan.pk,
        typed_name=typed_name,
        shown=shown,
        by=CarePlan.BY_PATIENT,
        witness=None,
        consent=acceptance_statement(plan_figures(plan).totals.total, settings.SPINEPATH_CURRENCY),
        actor=actor,
    )


def _accept(
    plan_id: int,
    *,
    actor: Actor,
    typed_name: str,
    shown: str | None,
    by: str,
    witness: User | None,
    consent: str,
) -> CarePlan:
    patient_id = CarePlan.objects.filter(pk=plan_id).values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise NotAvailable("There is no such plan.")
    # One writer per patient: a parallel release or acceptance waits for this one.
    Patient.objects.select_for_update().filter(pk=patient_id).first()
    plan = CarePlan.objects.select_for_update().select_related("patient").get(pk=plan_id)
    if plan.status == CarePlan.ACCEPTED and (shown is None or shown == plan.accepted_content_hash):
        return plan  # a double submission accepts once
    if plan.status == CarePlan.SUPERSEDED:
        raise Conflict(
            "This plan was replaced by a newer version: read the new one, then accept it.",
            fields={"typed_name": "This plan was replaced by a newer version."},
        )
    standing = patient_standing(plan.patient)
    refuse(
        gates.acceptance_refusal(standing, standing.plan(plan.pk), clinic_policy()),
        field="typed_name",
    )
    patient = plan.patient
    if not name_matches(typed_name, patient.given_name, patient.family_name):
        message = (
            "Type your full name as it is written on the plan."
            if by == CarePlan.BY_PATIENT
            else "Type the patient's full name as written on the plan."
        )
        raise Invalid(message, fields={"typed_name": message})
    # The figures the patient read, kept with the plan: the hash below binds them, and the PDF
    # printed now carries them.
    plan.accepted_odds = plan_odds(plan)
    content = plan_content_hash(plan)
    if shown is not None and shown != content:
        raise Conflict(
            "The plan changed since this page was opened: read it again, then accept.",
            fields={"typed_name": "The plan changed since this page was opened: read it again."},
        )
    figures = plan_figures(plan)
    superseded = list(CarePlan.objects.filter(patient=plan.patient, status=CarePlan.ACCEPTED))
    for older in superseded:
        older.status = CarePlan.SUPERSEDED
        older.save(update_fields=["status"])
    # Booked sessions of the replaced versions that hold the same session move to this one.
    plan_accepted.send(sender=CarePlan, plan=plan, superseded=superseded)
    plan.status = CarePlan.ACCEPTED
    plan.accepted_at = timezone.now()
    plan.accepted_name = " ".join(unicodedata.normalize("NFC", typed_name).split())
    plan.accepted_address = actor.address
    plan.accepted_total = figures.totals.total
    plan.accepted_content_hash = content
    plan.accepted_by = by
    plan.accepted_witness = witness
    plan.accepted_consent = consent
    # Printed once, now: what the patient accepted, kept byte for byte.
    pdf = documents.plan_pdf_bytes(plan, printed_at=plan.accepted_at)
    plan.accepted_pdf = pdf
    plan.accepted_pdf_sha256 = documents.sha256(pdf)
    plan.save()
    how = "by the patient online" if by == CarePlan.BY_PATIENT else "in person, witnessed"
    audit_record(
        actor=actor,
        action=AuditEvent.SIGN,
        what=f"plan v{plan.version} accepted {how}, total {figures.totals.total}",
        patient=plan.patient,
    )
    return plan
