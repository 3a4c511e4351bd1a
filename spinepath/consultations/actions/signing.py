"""Signing the decision the clinician saw, and what a signature binds."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import orjson
from django.db import IntegrityError, transaction

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import (
    Amendment,
    CandidacyDecision,
    Encounter,
)
from spinepath.consultations.selectors import consultation_standing
from spinepath.consultations.workup import PatientRecords, workup_for_encounter
from spinepath.errors import Conflict, Invalid
from spinepath.pathway.decision import Decision
from spinepath.pathway.engine import decide
from spinepath.pathway.gates import sign_refusal
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import Workup
from spinepath.patients.models import Patient
from spinepath.web.policy import clinic_policy


@dataclass(frozen=True)
class Review:
    """What the review page shows, and the fingerprint a signature must carry."""

    workup: Workup
    decision: Decision
    policy: Policy

    @property
    def fingerprint(self) -> str:
        return review_fingerprint(self.workup, self.policy, self.decision)


def review_fingerprint(workup: Workup, policy: Policy, decision: Decision) -> str:
    """SHA-256 of the exact workup, policy (every number) and decision of a review."""
    document = {
        "workup": workup.to_json_dict(),
        "policy": policy.fingerprint_data(),
        "decision": decision.to_dict(),
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def decision_review(
    encounter: Encounter, policy: Policy | None = None, records: PatientRecords | None = None
) -> Review:
    """The decision the engine makes from the consultation as recorded now (not stored);
    ``records``: the patient's records, when the caller read them in the same request."""
    policy = policy or clinic_policy()
    workup = workup_for_encounter(encounter, records)
    return Review(workup, decide(workup, policy), policy)


def decision_preview(encounter: Encounter, policy: Policy | None = None) -> tuple[Workup, Decision]:
    review = decision_review(encounter, policy)
    return review.workup, review.decision


def new_signature_token() -> str:
    return secrets.token_urlsafe(24)


class ReviewChanged(Conflict):
    """The workup, policy or decision changed since the review page was opened."""

    title = "The workup changed"


def _signed(decision: CandidacyDecision, created: bool) -> CandidacyDecision:
    # Whether this call signed something new (False: a repeat, or nothing had changed).
    decision.newly_signed = created  # type: ignore[attr-defined]
    return decision


@action("decision")
def decision_sign(
    *,
    encounter: Encounter,
    actor: Actor,
    token: str,
    fingerprint: str | None = None,
) -> CandidacyDecision:
    """Sign the decision the clinician saw. Only a clinician signs.

    The decision is recomputed here from the consultation as recorded now; its fingerprint
    must be the one the review page showed, or the signature is refused (the workup, policy or
    decision changed meanwhile). The same page signed twice (its token) signs once; signing a
    locked consultation whose review has not changed is a no-op that says so.

    Every interactive route passes the ``fingerprint`` of the page it showed (the web view
    refuses a form without one); ``None`` is for loaders that sign what they compute here
    (the demo clinic, tests).
    """
    if fingerprint is not None and len(fingerprint) != 64:
        raise Invalid("This review page is incomplete; reload it and sign again.")
    if not token or len(token) > 64:
        raise Invalid("This review page is incomplete or has expired; reload it and sign again.")
    existing = CandidacyDecision.objects.filter(signature_token=token).first()
    if existing is not None:
        if existing.encounter_id != encounter.pk:
            raise Conflict("This signature belongs to another consultation.")
        return _signed(existing, False)
    try:
        with transaction.atomic():
            encounter = (
                Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
            )
            # The policy in force now, read in this transaction (not a worker's copy of a
            # moment ago): a policy adopted since the page was shown changes the fingerprint.
            review = decision_review(encounter, clinic_policy(fresh=True))
            fingerprint = fingerprint or review.fingerprint
            if review.fingerprint != fingerprint:
                raise ReviewChanged(
                    "The workup changed since you opened this review. The review below is the "
                    "new one: read it, then sign again."
                )
            last = encounter.decisions.order_by("-signed_at", "-id").first()
            if last is not None and last.fingerprint == fingerprint:
                # Nothing changed since the last signature (an amendment that changed
                # nothing is closed by it): the same review is never signed twice.
                _close_amendment(encounter, last, actor, new=False)
                return _signed(last, False)
            # One signer per patient at a time, and never an older consultation once a newer
            # one exists (PATHWAY.md section 9): its decision would not be the one in force.
            Patient.objects.select_for_update().filter(pk=encounter.patient_id).first()
            refused = sign_refusal(consultation_standing(encounter.patient), encounter.pk)
            if refused is not None:
                raise Conflict(refused.sentence, code=refused.code)
            if encounter.is_locked:
                raise Conflict(
                    "This consultation is signed and locked; amend it, with a reason, to sign "
                    "a new decision."
                )
            signed = CandidacyDecision.objects.create(
                encounter=encounter,
                patient=encounter.patient,
                decision=review.decision.decision,
                decision_json=review.decision.to_dict(),
                workup_json=review.workup.to_json_dict(),
                policy_name=review.policy.name,
                policy_version=review.policy.version,
                signed_by=actor.user,
                signature_token=token,
                fingerprint=review.fingerprint,
            )
            _close_amendment(encounter, signed, actor, new=True)
    except IntegrityError:
        # A concurrent submission with the same token won the race: same signature.
        return _signed(CandidacyDecision.objects.get(signature_token=token), False)
    audit_record(
        actor=actor,
        action=AuditEvent.SIGN,
        what=f"candidacy decision: {signed.decision} ({fingerprint[:12]})",
        patient=encounter.patient,
    )
    return _signed(signed, True)


def _close_amendment(
    encounter: Encounter, signed: CandidacyDecision, actor: Actor, *, new: bool
) -> None:
    """The consultation is signed (again): locked, and any open amendment closed by it. A new
    signature names its clinician; confirming the last one changes nothing else."""
    # Saved one by one (not a bulk update), so the audit event holds each closed amendment.
    for amendment in Amendment.objects.filter(encounter=encounter, closed_by__isnull=True):
        amendment.closed_by = signed
        amendment.save(update_fields=["closed_by"])
    if encounter.status == Encounter.FINISHED and not new:
        return
    encounter.status = Encounter.FINISHED
    if new:
        encounter.clinician = actor.user
    encounter._history_user = actor.user  # type: ignore[attr-defined]
    encounter.save(update_fields=["status", "clinician", "updated_at"])
