"""Starting, filling in and amending a consultation."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.actions.records import (
    plausible_day,
    require_unlocked,
)
from spinepath.consultations.facts import ENCOUNTER_FACTS
from spinepath.consultations.models import (
    Amendment,
    Encounter,
)
from spinepath.consultations.selectors import consultation_standing
from spinepath.errors import Conflict, Invalid, NotAllowed
from spinepath.pathway.authority import (
    kept_by_clinician,
    may_change,
    may_state,
    refusal,
    stating_role,
)
from spinepath.pathway.gates import review_date_refusal
from spinepath.pathway.ichom import BASELINE_FIELDS, baseline_problems
from spinepath.patients.models import Patient


@action("intake_history")
def encounter_start(
    *,
    patient: Patient,
    actor: Actor,
    assessed_on: date,
    start_key: str | None = None,
) -> Encounter:
    """A new consultation. The same ``start_key`` (one per "New consultation" form) starts it
    once, however often the form is sent."""
    if start_key:
        existing = Encounter.objects.filter(start_key=start_key).first()
        if existing is not None:
            if existing.patient_id != patient.pk:
                raise Conflict("This form was used for another patient; reload the page.")
            return existing
    plausible_day("assessed_on", assessed_on, patient=patient)
    # Serialised with signatures: a consultation started while an older one is being signed
    # either comes first (and the signature is refused) or after it.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    try:
        with transaction.atomic():
            encounter = Encounter(
                patient=patient,
                assessed_on=assessed_on,
                clinician=actor.user if actor.has_role("clinician") else None,
                updated_by=actor.user,
                start_key=start_key or None,
            )
            encounter._history_user = actor.user  # type: ignore[attr-defined]
            encounter.save()
    except IntegrityError:
        return Encounter.objects.get(start_key=start_key)
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"consultation {assessed_on}",
        patient=patient,
    )
    return encounter


@action("intake_history")
def encounter_save(
    *, encounter: Encounter, actor: Actor, step: str, fields: dict[str, Any]
) -> Encounter:
    """Save one step's fields. Each changed field must be one the user's role may state, and a
    signed consultation is locked unless an amendment is open."""
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    unknown = sorted(set(fields) - set(ENCOUNTER_FACTS))
    if unknown:
        raise Invalid(f"Not a field of a consultation: {', '.join(unknown)}.")
    changed = {name: value for name, value in fields.items() if getattr(encounter, name) != value}
    roles = actor.roles
    stated_by = dict(encounter.stated_by or {})
    refused = {
        name: (
            refusal(ENCOUNTER_FACTS[name])
            if not may_state(roles, ENCOUNTER_FACTS[name])
            else kept_by_clinician(ENCOUNTER_FACTS[name])
        )
        for name in changed
        if not may_change(roles, ENCOUNTER_FACTS[name], stated_by.get(name))
    }
    if refused:
        raise NotAllowed(sorted(set(refused.values())), fields=refused)
    if not changed:
        return encounter
    require_unlocked(encounter)
    plausible_day("assessed_on", changed.get("assessed_on"), patient=encounter.patient)
    if set(changed) & set(BASELINE_FIELDS):
        # The ICHOM baseline and case-mix as they would stand (pathway/ichom.py).
        after = {name: changed.get(name, getattr(encounter, name)) for name in BASELINE_FIELDS}
        problems = baseline_problems(after)
        if problems:
            raise Invalid(sorted(set(problems.values())), fields=problems)
    if "assessed_on" in changed:
        moved = review_date_refusal(
            consultation_standing(encounter.patient), encounter.pk, changed["assessed_on"]
        )
        if moved is not None:
            raise Conflict(moved.sentence, fields={"assessed_on": moved.sentence}, code=moved.code)
    for name, value in changed.items():
        setattr(encounter, name, value)
        stated_by[name] = stating_role(roles)
    encounter.stated_by = stated_by
    encounter.last_step = step
    encounter.updated_by = actor.user
    encounter._history_user = actor.user  # type: ignore[attr-defined]
    encounter.save()
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"consultation {encounter.assessed_on}: {step}",  # the values: field history
        patient=encounter.patient,
    )
    return encounter


@action("amendment")
def encounter_amend(*, encounter: Encounter, actor: Actor, reason: str) -> Amendment:
    """Reopen a signed consultation with a reason. Opening it twice opens one amendment."""
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise Invalid(
            "reason: say why the signed consultation is changed.",
            fields={"reason": "Say why the signed consultation is changed."},
        )
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    if encounter.status == Encounter.AMENDING:
        return Amendment.objects.get(encounter=encounter, closed_by__isnull=True)
    if encounter.status != Encounter.FINISHED:
        raise Conflict("Only a signed consultation is amended; this one can still be edited.")
    amendment = Amendment.objects.create(
        encounter=encounter, reason=reason[:2000], opened_by=actor.user
    )
    encounter.status = Encounter.AMENDING
    encounter._history_user = actor.user  # type: ignore[attr-defined]
    encounter.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"consultation {encounter.assessed_on}: amendment opened ({reason[:200]})",
        patient=encounter.patient,
    )
    return amendment
