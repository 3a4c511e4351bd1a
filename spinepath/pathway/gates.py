"""The clinic's promises as gates: one pure function per promise, over one :class:`Standing`.

Each gate answers "may this happen now?" with the reasons it may not, each a
:class:`Refusal` with a stable code (for machines: the API, CDS Hooks, tests) and a sentence
(for people). The web layer gathers the standing, calls the gate, and writes only when the
answer is empty; the pages, the FHIR export, CDS Hooks and the patient's own pages call the same
gates to say what may happen. Nothing else decides these questions (a test holds it).

PATHWAY.md: promise 1 (a recent MRI a clinician reviewed), promise 2 (a confirmed target),
promise 4 (no price before ``candidate``, a written plan accepted before anything is booked),
section 7 (what a signature binds) and section 9 (what stands now).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from spinepath.pathway.biologics import PRODUCT_KINDS, needs_ind
from spinepath.pathway.engine import decide
from spinepath.pathway.plans import Target, injection_problem
from spinepath.pathway.policy import Policy
from spinepath.pathway.reading import read_workup, surgery_inside_recovery
from spinepath.pathway.recency import mri_within_window
from spinepath.pathway.standing import (
    Consultation,
    Plan,
    PlannedProduct,
    Signature,
    Standing,
    clinical_facts,
    recorded_since,
)
from spinepath.pathway.workup import Workup

# The decisions that stop injections at once when a newer consultation holds their facts.
WARNING_DECISIONS = {
    "refer_urgent": "facts that call for an urgent referral",
    "refer_surgical": "facts that call for a spine surgeon's assessment",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    sentence: str

    def __str__(self) -> str:
        return self.sentence


def sentences(refusals: Sequence[Refusal]) -> list[str]:
    return [r.sentence for r in refusals]


# --- The decision in force -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InForce:
    """The decision a plan or a procedure may rely on, and why it cannot when it cannot."""

    consultation: Consultation | None
    signature: Signature | None
    problem: Refusal | None

    @property
    def is_candidate(self) -> bool:
        return (
            self.problem is None
            and self.signature is not None
            and self.signature.kind == "candidate"
        )


def facts_changed_since_signing(now: Workup | None, signature: Signature) -> bool:
    """Whether the facts a signature binds (the workup's clinical parts: CLINICAL_KEYS) differ
    now, or can no longer be read. The policy is not one of them: a policy adopted later
    changes no signed decision, which keeps the policy it was made under."""
    return now is None or clinical_facts(now.to_json_dict()) != dict(signature.facts_as_signed)


def decision_in_force(standing: Standing) -> InForce:
    """The signed decision of the patient's most recent signed consultation (by review date),
    provided that consultation still stands as signed: not being amended, no fact changed
    since the signature. A signature given to an older consultation once a newer one existed
    never takes force: the newer consultation's decision does."""
    signed = [c for c in standing.consultations if c.signature is not None]
    if not signed:
        return InForce(None, None, Refusal("no_decision", "No candidacy decision has been signed."))
    consultation = signed[-1]
    signature = consultation.signature
    if consultation.status == "amending":
        return InForce(
            consultation,
            signature,
            Refusal(
                "decision_being_amended",
                f"The consultation of {consultation.review_date} is being amended: a new signed "
                "decision is needed first.",
            ),
        )
    assert signature is not None
    if not consultation.readable or facts_changed_since_signing(consultation.workup, signature):
        return InForce(
            consultation,
            signature,
            Refusal(
                "facts_changed_since_signing",
                f"The facts of the consultation of {consultation.review_date} changed after it "
                "was signed: a clinician amends it and signs a new decision first.",
            ),
        )
    return InForce(consultation, signature, None)


def warning_standing(standing: Standing, policy: Policy) -> Refusal | None:
    """A warning recorded in a consultation newer than the decision in force, not yet signed:
    facts that would give ``refer_urgent`` or ``refer_surgical``, or a spine surgery inside the
    recovery wait. It stops offering, accepting, booking and recording at once, until a
    clinician signs that consultation. A newer consultation that cannot be read fails closed."""
    in_force = decision_in_force(standing)
    after = _after(standing, in_force.consultation)
    # Newer unsigned consultations, and open ones started since the signature whatever review
    # date they carry (a backdated consultation, or a signed one amended and moved back).
    watched = [c for c in after if c.signature is None]
    watched += [c for c in recorded_since(standing.consultations) if c not in watched]
    for consultation in reversed(watched):
        if not consultation.readable or consultation.workup is None:
            return Refusal(
                "newer_consultation_unreadable",
                f"The consultation of {consultation.review_date} (no. {consultation.id}) holds "
                "facts that cannot be read as a workup: a clinician corrects them and signs it "
                "first.",
            )
        found = _warning_facts(consultation, policy)
        if found is not None:
            return Refusal(
                "warning_in_newer_consultation",
                f"The consultation of {consultation.review_date} (no. {consultation.id}), not "
                f"yet signed, holds {found}: nothing is offered, accepted, booked or injected "
                "until a clinician signs it.",
            )
    return None


def _after(standing: Standing, consultation: Consultation | None) -> list[Consultation]:
    if consultation is None:
        return list(standing.consultations)
    index = standing.consultations.index(consultation)
    return list(standing.consultations[index + 1 :])


def _warning_facts(consultation: Consultation, policy: Policy) -> str | None:
    workup = consultation.workup
    assert workup is not None
    kind = decide(workup, policy).decision
    if kind in WARNING_DECISIONS:
        return WARNING_DECISIONS[kind]
    surgery = surgery_inside_recovery(read_workup(workup, policy))
    if surgery:
        last = max(surgery, key=lambda p: p.date)
        return f"a {last.kind.replace('_', ' ')} on {last.date}, inside the recovery wait"
    return None


def sign_refusal(standing: Standing, consultation_id: int) -> Refusal | None:
    """Signing a consultation once a newer one exists (by review date) is refused: the newer
    consultation decides what stands now, and its clinician signs it."""
    consultation = standing.consultation(consultation_id)
    if consultation is None:
        return None
    newer = _after(standing, consultation)
    if not newer:
        return None
    latest = newer[-1]
    return Refusal(
        "newer_consultation_exists",
        f"A newer consultation ({latest.review_date}) exists: it decides what stands now, so "
        f"the consultation of {consultation.review_date} is not signed. Sign the newer one.",
    )


def review_date_refusal(
    standing: Standing, consultation_id: int, review_date: date
) -> Refusal | None:
    """A consultation's review date never moves it before or after another consultation of the
    patient: the order of consultations decides which decision is in force."""
    consultation = standing.consultation(consultation_id)
    if consultation is None:
        return None
    others = [c for c in standing.consultations if c.id != consultation_id]
    moved = [
        c
        for c in others
        if ((c.review_date, c.id) < (review_date, consultation.id))
        != ((c.review_date, c.id) < (consultation.review_date, consultation.id))
    ]
    if not moved:
        return None
    other = moved[0]
    return Refusal(
        "review_date_reorders",
        f"The review date {review_date} would move this consultation past the consultation of "
        f"{other.review_date} (no. {other.id}): the order of consultations decides which "
        "decision is in force. Start a new consultation for new facts instead.",
    )


# --- Promise 1: a recent MRI a clinician reviewed --------------------------------------------


def mri_refusal(standing: Standing, on: date, policy: Policy) -> Refusal | None:
    """The MRI promise on a day: the latest MRI on or before ``on`` was reviewed by a
    clinician and is no older than ``mri_max_age_months`` on that day; and every MRI that
    arrived after a signature (filed into a later consultation) was reviewed, whatever its
    date."""
    late = sorted(m.performed_on for m in standing.mris if m.late and not m.reviewed)
    if late:
        return Refusal(
            "mri_not_reviewed",
            f"The MRI of {late[0]}, which arrived after the decision was signed, has not been "
            "reviewed by a clinician.",
        )
    mri = standing.latest_mri(on)
    if mri is None:
        return Refusal("no_mri", "There is no MRI on file: a plan and an injection need one.")
    if not mri_within_window(mri.performed_on, on, policy):
        return Refusal(
            "mri_too_old",
            f"The MRI of {mri.performed_on} is older than {policy.mri_max_age_months} months on "
            f"{on}: a new MRI and a new review come first.",
        )
    if not mri.reviewed:
        return Refusal(
            "mri_not_reviewed",
            f"The MRI of {mri.performed_on} has not been reviewed by a clinician.",
        )
    return None


# --- Promise 4: no price before candidate -----------------------------------------------------


def prices_refusal(standing: Standing, policy: Policy) -> Refusal | None:
    """Why no plan or price may be shown, written or changed today (None when they may): a
    signed ``candidate`` decision in force, no warning recorded since, and a reviewed MRI inside
    its window today."""
    in_force = decision_in_force(standing)
    if in_force.signature is None or in_force.signature.kind != "candidate":
        return Refusal(
            "not_candidate", "Plans and prices are available only after a candidate decision."
        )
    if in_force.problem is not None:
        return in_force.problem
    warning = warning_standing(standing, policy)
    if warning is not None:
        return warning
    return mri_refusal(standing, standing.today, policy)


def plan_refusal(standing: Standing, plan: Plan | None, policy: Policy) -> Refusal | None:
    """Why ``plan`` may not be written, changed, offered or accepted now: the price gate, and
    the plan rests on the decision in force."""
    refused = prices_refusal(standing, policy)
    if refused is not None:
        return refused
    signature = decision_in_force(standing).signature
    if plan is not None and signature is not None and plan.decision_id != signature.decision_id:
        return Refusal(
            "plan_of_another_decision",
            "A newer decision was signed since this plan was written; start a new plan.",
        )
    return None


def planned_target_refusal(
    standing: Standing, target: Target, material: str, guidance: str, policy: Policy
) -> Refusal | None:
    """Promise 2 for a plan: an injection only at a confirmed, eligible target of the decision
    in force, with a material and guidance that suit it."""
    refused = prices_refusal(standing, policy)
    if refused is not None:
        return refused
    signature = decision_in_force(standing).signature
    assert signature is not None
    if target not in signature.targets:
        return Refusal(
            "target_not_confirmed",
            f"{target.label} is not a confirmed, eligible pain generator in the decision.",
        )
    problem = injection_problem(target, material, guidance)
    if problem is not None:
        return Refusal("injection_not_suited", problem[0].upper() + problem[1:] + ".")
    return None


def regulatory_refusal(plan: Plan, policy: Policy) -> Refusal | None:
    """PATHWAY.md section 10: material the FDA regulates as a drug or biologic (the kinds whose
    route is ``ind`` in the policy) is offered and accepted only under an IND whose number the
    plan records. A line that does not state its kind (written before plans named it) is
    checked again when the lot is scanned at the procedure."""
    missing = [p for p in plan.products if needs_ind(p.kind, policy) and not p.ind_number]
    if not missing:
        return None
    lines = "; ".join(
        f"{p.description} ({PRODUCT_KINDS.get(p.kind or '', p.kind)})" for p in missing
    )
    return Refusal(
        "ind_required",
        f"An IND number is required for material the FDA regulates as a drug or biologic, and "
        f"the plan gives none for: {lines}. Add the injection again with its IND number.",
    )


def release_refusal(standing: Standing, plan: Plan | None, policy: Policy) -> Refusal | None:
    """Why ``plan`` may not be released to the patient now: only a draft with an injection
    session, resting on the decision in force while the price gate holds, every injection
    naming its kind of product and, under an IND, its number."""
    if plan is None or plan.status != "draft":
        said = {
            "released": "this version was released already",
            "accepted": "this version was accepted already; make a new version to change it",
            "superseded": "this version was replaced by a newer one",
        }.get(plan.status if plan else "", "there is no such draft")
        return Refusal("not_a_draft", f"Only a draft is released: {said}.")
    if not plan.injections:
        return Refusal("no_injection", "The plan has no injection session to offer.")
    refused = plan_refusal(standing, plan, policy)
    if refused is not None:
        return refused
    unnamed = [p.description for p in plan.products if p.kind is None]
    if unnamed:
        return Refusal(
            "product_kind_not_stated",
            f"The plan does not say which product is injected in: {'; '.join(unnamed)}. "
            "Add the injection again with its kind of product.",
        )
    return regulatory_refusal(plan, policy)


def acceptance_refusal(standing: Standing, plan: Plan | None, policy: Policy) -> Refusal | None:
    """Promise 4, its second half: the patient accepts only the version a clinician released
    to them - never the clinic's working draft, never a version replaced since - while the
    plan gate holds and every injection under an IND carries its number (a policy may have put
    a kind under an IND since the release). A version released before plans named the kind of
    product stays acceptable: its lots are checked at the procedure."""
    if plan is None or plan.status == "draft":
        return Refusal(
            "not_released",
            "This plan is still the clinic's working draft: a clinician releases it to the "
            "patient before it can be accepted.",
        )
    if plan.status != "released":
        return Refusal(
            "not_offered",
            "This version is no longer the one offered to the patient: read the current one.",
        )
    if not plan.injections:
        return Refusal("no_injection", "The plan has no injection session to accept.")
    refused = plan_refusal(standing, plan, policy)
    if refused is not None:
        return refused
    return regulatory_refusal(plan, policy)


def booking_refusal(standing: Standing, plan_id: int, policy: Policy) -> Refusal | None:
    """A session is booked only from the accepted plan of the decision in force, while the
    price gate holds (no warning, the MRI still inside its window)."""
    plan = standing.plan(plan_id)
    if plan is None or plan.status != "accepted":
        return Refusal(
            "no_accepted_plan",
            "Injection sessions are booked only from a written plan the patient accepted.",
        )
    return plan_refusal(standing, plan, policy)


# --- Promises 1 and 2 on the day: recording a procedure ---------------------------------------


@dataclass(frozen=True, slots=True)
class ProcedureAttempt:
    """What a clinician is about to record."""

    performed_on: date
    target: Target
    material: str
    guidance: str


def procedure_refusals(
    standing: Standing, attempt: ProcedureAttempt, policy: Policy
) -> list[Refusal]:
    """Every reason a procedure may not be recorded; an empty list means it may.

    PATHWAY.md section 7: a procedure is dated on or after the signed decision and the plan's
    acceptance, never in the future, and no target gets more injections than the accepted plan
    holds; promise 1: the MRI is reviewed and inside its window on the day; section 9: no
    warning recorded since, the decision in force is the one the plan rests on.
    """
    reasons: list[Refusal] = []
    day = attempt.performed_on
    if day > standing.today:
        reasons.append(
            Refusal("in_the_future", f"{day} is in the future: a procedure is recorded once done.")
        )
    in_force = decision_in_force(standing)
    signature = in_force.signature
    if signature is None:
        reasons.append(Refusal("no_decision", "No candidacy decision has been signed."))
    elif signature.kind != "candidate":
        reasons.append(
            Refusal(
                "not_candidate",
                f"The decision in force is '{signature.kind}', not 'candidate'.",
            )
        )
    elif in_force.problem is not None:
        reasons.append(in_force.problem)
    warning = warning_standing(standing, policy)
    if warning is not None:
        reasons.append(warning)
    if signature is not None and day < signature.signed_on:
        reasons.append(
            Refusal(
                "before_decision",
                f"{day} is before the candidacy decision signed on {signature.signed_on}.",
            )
        )
    plan = standing.accepted_plan
    if plan is None or (signature is not None and plan.decision_id != signature.decision_id):
        reasons.append(
            Refusal("no_accepted_plan", "There is no written plan accepted by the patient.")
        )
    else:
        if plan.accepted_on is not None and day < plan.accepted_on:
            reasons.append(
                Refusal(
                    "before_acceptance",
                    f"{day} is before the patient accepted the plan on {plan.accepted_on}.",
                )
            )
        planned = sum(1 for t in plan.injections if t == attempt.target)
        done = standing.recorded.get(attempt.target, 0)
        if planned == 0:
            reasons.append(
                Refusal(
                    "target_not_in_plan",
                    f"The accepted plan does not list {attempt.target.label}.",
                )
            )
        elif done >= planned:
            reasons.append(
                Refusal(
                    "plan_injections_used",
                    f"The accepted plan holds {_injections(planned)} at {attempt.target.label} "
                    f"and {_injections(done)} {'is' if done == 1 else 'are'} already recorded.",
                )
            )
    problem = injection_problem(attempt.target, attempt.material, attempt.guidance)
    if problem is not None:
        reasons.append(Refusal("injection_not_suited", problem[0].upper() + problem[1:] + "."))
    mri = mri_refusal(standing, day, policy)
    if mri is not None:
        reasons.append(mri)
    return reasons


def planned_product(standing: Standing, target: Target, kind: str) -> PlannedProduct | None:
    """The accepted plan's injection line at ``target`` that a lot of ``kind`` is given under:
    a line of that kind (one with its IND number first), else a line that does not state its
    kind (written before plans named it)."""
    plan = standing.accepted_plan
    lines = [p for p in plan.products if p.target == target] if plan is not None else []
    stated = sorted((p for p in lines if p.kind == kind), key=lambda p: not p.ind_number)
    return next(iter(stated), None) or next((p for p in lines if p.kind is None), None)


def lot_refusal(standing: Standing, target: Target, kind: str, policy: Policy) -> Refusal | None:
    """PATHWAY.md section 10 at the procedure: the lot scanned is of the kind the accepted plan
    gives at the target, and a kind the policy gives only under an IND is injected only when
    that line carries the IND number. (No accepted plan, or a target it does not list, is
    :func:`procedure_refusals`' to say.)"""
    plan = standing.accepted_plan
    lines = [p for p in plan.products if p.target == target] if plan is not None else []
    if not lines:
        return None
    line = planned_product(standing, target, kind)
    label = PRODUCT_KINDS.get(kind, kind)
    if line is None:
        planned = " or ".join(dict.fromkeys(PRODUCT_KINDS.get(p.kind or "", "") for p in lines))
        return Refusal(
            "lot_not_planned",
            f"This lot is {label}: the accepted plan gives {planned} at {target.label}.",
        )
    if needs_ind(kind, policy) and not line.ind_number:
        return Refusal(
            "ind_required",
            f"This lot is {label}, which the FDA regulates as a drug or biologic: it is "
            f"injected only under an IND, and the accepted plan gives no IND number for it at "
            f"{target.label}.",
        )
    return None


def injections_left(standing: Standing) -> dict[Target, int]:
    """How many injections the accepted plan still holds at each of its targets (what the
    procedure form says before anything is typed; the gate above decides)."""
    plan = standing.accepted_plan
    if plan is None:
        return {}
    planned: dict[Target, int] = {}
    for target in plan.injections:
        planned[target] = planned.get(target, 0) + 1
    return {t: max(0, n - standing.recorded.get(t, 0)) for t, n in planned.items()}


def _injections(count: int) -> str:
    return f"{count} injection" if count == 1 else f"{count} injections"


# --- What others read: the FHIR CarePlan's status and the patient's pages ---------------------


def care_plan_status(standing: Standing, plan: Plan, policy: Policy) -> str:
    """The FHIR CarePlan status of a written plan: ``draft`` until accepted (the clinic's
    working draft, or a version released to the patient for acceptance), ``revoked`` once
    superseded, and an accepted plan is ``active`` only while it may be acted on (its decision
    in force, no warning, the MRI inside its window); otherwise ``on-hold``."""
    if plan.status in ("draft", "released"):
        return "draft"
    if plan.status == "superseded":
        return "revoked"
    return "active" if plan_refusal(standing, plan, policy) is None else "on-hold"


def patient_may_see_plan(standing: Standing, plan: Plan, policy: Policy) -> bool:
    """Whether the patient's own pages show ``plan``: an accepted plan is always theirs to
    read; a released one while the plan gate holds; the clinic's working draft never."""
    if plan.status == "accepted":
        return True
    if plan.status != "released":
        return False
    return plan_refusal(standing, plan, policy) is None
