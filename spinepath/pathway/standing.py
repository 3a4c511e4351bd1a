"""What stands now for one patient (PATHWAY.md section 9): one snapshot every gate reads.

A patient moves through the pathway over months and several consultations. At every moment one
answer holds for each question a gate asks - which decision is in force, whether a warning
recorded since stops injections, which MRI counts, which plan is accepted and what of it is
done - and every gate (:mod:`spinepath.pathway.gates`) reads the same answer from a
:class:`Standing`. The web layer gathers it once (a bounded number of queries, whatever the
length of the patient's history); nothing here touches a database, a file or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from spinepath.pathway.plans import TARGET_OPTIONS, Target
from spinepath.pathway.workup import Workup

ConsultationStatus = Literal["in-progress", "finished", "amending"]
# A plan is the clinic's working draft until a clinician releases it to the patient; only the
# released version is offered and may be accepted (PATHWAY.md section 4).
PlanStatus = Literal["draft", "released", "accepted", "superseded"]

# The parts of a workup the candidacy decision reads. A change in any of them after signing
# means the signed decision no longer describes the consultation as it stands; demographics
# and the payer do not change a decision.
CLINICAL_KEYS = ("assessed_on", "history", "red_flags", "exam", "imaging", "diagnostic_blocks")


def clinical_facts(workup_json: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a workup (in its interchange form) that a signature binds."""
    return {key: workup_json.get(key) for key in CLINICAL_KEYS}


def advised_kinds(decision_json: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(r.get("kind", "") for r in decision_json.get("recommendations", []))


def signed_targets(decision_json: Mapping[str, Any]) -> frozenset[Target]:
    """The confirmed, eligible injection targets of a signed decision (its stored form)."""
    return frozenset(
        Target(g["generator"], g.get("level"), g.get("side"))
        for g in decision_json.get("generators", [])
        if g["status"] == "confirmed" and g["eligible"] and g["generator"] in TARGET_OPTIONS
    )


@dataclass(frozen=True, slots=True)
class Signature:
    """A consultation's latest signed decision, as it was signed."""

    decision_id: int
    kind: str  # candidate, not_candidate, needs_workup, ...
    signed_on: date
    signed_by: str
    signed_at: datetime | None
    # The confirmed, eligible targets of the decision (what a plan may hold).
    targets: frozenset[Target]
    # The clinical facts of the workup the clinician saw (see :func:`clinical_facts`).
    facts_as_signed: Mapping[str, Any]
    # The kinds of what the decision recommends (a diagnostic block, an MRI...).
    advised: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Consultation:
    """One consultation as it stands: its review date, state, latest signature, and its workup
    as recorded now (``None`` when it was not read - it is older than the decision in force -
    or cannot be read; ``readable`` tells which)."""

    id: int
    review_date: date
    status: ConsultationStatus
    signature: Signature | None
    workup: Workup | None = None
    readable: bool = True
    created_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"the consultation of {self.review_date}"


@dataclass(frozen=True, slots=True)
class Mri:
    """An MRI on the patient's record: its date and whether a clinician reviewed it."""

    performed_on: date
    reviewed: bool
    # Arrived after a signature and filed into a later consultation (PATHWAY.md section 9):
    # until a clinician reviews it, nothing is offered or injected, whatever its date.
    late: bool = False


@dataclass(frozen=True, slots=True)
class PlannedProduct:
    """The product of one injection line of a plan (PATHWAY.md section 10): its kind (None on
    lines written before plans named it: not stated) and the IND number it is given under
    ('' without one)."""

    line_id: int
    description: str
    target: Target
    material: str
    kind: str | None = None
    ind_number: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """A written plan of the patient's, as the gates read it."""

    id: int
    version: int
    status: PlanStatus
    decision_id: int
    accepted_on: date | None
    # One entry per planned injection: a line of quantity 2 at a target counts twice.
    injections: tuple[Target, ...] = ()
    # One entry per injection line, in the plan's order.
    products: tuple[PlannedProduct, ...] = ()


@dataclass(frozen=True, slots=True)
class BookedSession:
    plan_id: int
    key: str
    day: date


@dataclass(frozen=True, slots=True)
class Standing:
    """What holds for one patient on ``today``, across all their consultations, signed or not.

    ``consultations`` are in review order (the last is the most recent by review date, then by
    creation). ``recorded`` counts the injections recorded, and not voided, per target in the
    course of the accepted plan (its earlier versions and every plan of its decision).
    """

    patient_id: int
    today: date
    consultations: tuple[Consultation, ...] = ()
    mris: tuple[Mri, ...] = ()
    plans: tuple[Plan, ...] = ()
    recorded: Mapping[Target, int] = field(default_factory=dict)
    sessions: tuple[BookedSession, ...] = ()

    @property
    def latest_consultation(self) -> Consultation | None:
        return self.consultations[-1] if self.consultations else None

    def consultation(self, consultation_id: int) -> Consultation | None:
        return next((c for c in self.consultations if c.id == consultation_id), None)

    def latest_mri(self, on: date) -> Mri | None:
        """The most recent MRI on or before ``on`` (older studies are history)."""
        earlier = [m for m in self.mris if m.performed_on <= on]
        return max(earlier, key=lambda m: m.performed_on) if earlier else None

    @property
    def accepted_plan(self) -> Plan | None:
        return next((p for p in self.plans if p.status == "accepted"), None)

    @property
    def draft_plan(self) -> Plan | None:
        return next((p for p in self.plans if p.status == "draft"), None)

    @property
    def released_plan(self) -> Plan | None:
        """The version a clinician released to the patient, not yet accepted (at most one)."""
        return next((p for p in self.plans if p.status == "released"), None)

    def plan(self, plan_id: int) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)


def consultations_in_review_order(
    consultations: list[Consultation],
) -> tuple[Consultation, ...]:
    """Most recent last: by review date, then by creation (the id)."""
    return tuple(sorted(consultations, key=lambda c: (c.review_date, c.id)))


def needs_reading(consultations: tuple[Consultation, ...]) -> frozenset[int]:
    """The consultations whose workup the gates read: the latest signed one (by review date)
    and every one after it (with nothing signed, the latest), and every consultation still open
    (not signed, or being amended) that was started after that signature, whatever its review
    date. Older ones are history."""
    signed = [i for i, c in enumerate(consultations) if c.signature is not None]
    start = signed[-1] if signed else max(len(consultations) - 1, 0)
    ids = {c.id for c in consultations[start:]}
    ids.update(c.id for c in recorded_since(consultations))
    return frozenset(ids)


def recorded_since(consultations: tuple[Consultation, ...]) -> list[Consultation]:
    """Open consultations (not signed, or being amended) started after the latest signature
    of the most recent signed consultation: new work, whatever review date it carries."""
    signed = [c for c in consultations if c.signature is not None]
    if not signed:
        return []
    signature = signed[-1].signature
    assert signature is not None
    since = signature.signed_at
    return [
        c
        for c in consultations
        if c is not signed[-1]
        and c.status != "finished"
        and since is not None
        and c.created_at is not None
        and c.created_at > since
    ]
