"""Diagnostic blocks and earlier spine procedures: a clinician's statements."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.consultations.actions.records import (
    plausible_day,
    require_open,
    require_unsigned_day,
    save_stated,
)
from spinepath.consultations.models import (
    DiagnosticBlock,
    Encounter,
    PriorProcedure,
)
from spinepath.errors import Conflict
from spinepath.patients.models import Patient


@action("diagnostic_block")
def block_add(
    *,
    through: Encounter | None = None,
    patient: Patient,
    actor: Actor,
    fields: dict[str, Any],
    submission_key: str | None = None,
) -> DiagnosticBlock:
    """A diagnostic block or discography, stated (and so verified) by the clinician; once per
    ``submission_key`` (a double click or parallel posts of one form record one block)."""
    require_open(through)
    if submission_key is not None:
        earlier = DiagnosticBlock.objects.filter(submission_key=submission_key).first()
        if earlier is not None:
            if earlier.patient_id != patient.pk:
                raise Conflict("This form was already used for another patient: reload it.")
            return earlier
    plausible_day("performed_on", fields.get("performed_on"), patient=patient)
    require_unsigned_day(patient, fields.get("performed_on"), new_through=through)
    block = DiagnosticBlock(
        patient=patient,
        recorded_by=actor.user,
        verified_by=actor.user,
        verified_at=timezone.now(),
        submission_key=submission_key,
        **fields,
    )
    what = f"{block.get_kind_display()} {block.performed_on}"
    try:
        with transaction.atomic():
            save_stated(
                block,
                actor=actor,
                patient=patient,
                event=AuditEvent.CREATE,
                what=what,
            )
    except IntegrityError:
        if submission_key is None:
            raise
        # The same submission committed in parallel: its block is the one.
        return DiagnosticBlock.objects.get(submission_key=submission_key)
    return block


@action("diagnostic_block")
def block_verify(
    *,
    through: Encounter | None = None,
    patient: Patient,
    block_id: int,
    actor: Actor,
) -> DiagnosticBlock:
    """A clinician verifies an imported block: from now on it counts in the workup."""
    require_open(through)
    block = DiagnosticBlock.objects.select_for_update().get(pk=block_id, patient=patient)
    if block.verified_by_id is None:
        require_unsigned_day(patient, block.performed_on)
        block.verified_by, block.verified_at = actor.user, timezone.now()
        what = f"{block.get_kind_display()} {block.performed_on} - verified"
        save_stated(block, actor=actor, patient=patient, event=AuditEvent.SIGN, what=what)
    return block


@action("prior_procedure")
def procedure_add(
    *,
    through: Encounter | None = None,
    patient: Patient,
    actor: Actor,
    fields: dict[str, Any],
) -> PriorProcedure:
    require_open(through)
    plausible_day("performed_on", fields.get("performed_on"), patient=patient)
    require_unsigned_day(patient, fields.get("performed_on"), new_through=through)
    # One writer per patient: the same procedure sent twice (a double click, parallel posts of
    # one form) is recorded once.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    same = PriorProcedure.objects.filter(
        patient=patient,
        kind=fields.get("kind"),
        performed_on=fields.get("performed_on"),
        levels=fields.get("levels") or [],
    ).first()
    if same is not None and same.improved_after == fields.get("improved_after"):
        return same
    procedure = PriorProcedure(patient=patient, **fields)
    what = f"prior {procedure.get_kind_display()} {procedure.performed_on}"
    save_stated(procedure, actor=actor, patient=patient, event=AuditEvent.CREATE, what=what)
    return procedure
