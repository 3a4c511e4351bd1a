"""Plan, price and procedure reads: what a plan costs, what changed, what the gates read."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from spinepath.accounts.roles import ROLES
from spinepath.consultations.models import CandidacyDecision
from spinepath.consultations.selectors import candidate_odds
from spinepath.pathway.biologics import (
    NOT_STATED,
    PRODUCT_KINDS,
    REGULATORY_ROUTES,
    regulatory_route,
)
from spinepath.pathway.plans import (
    Financing,
    PlanTotals,
    PricedLine,
    Target,
    coverage_for,
    financing_offer,
    plan_totals,
)
from spinepath.pathway.portal import InjectionSession, SessionLine, injection_sessions
from spinepath.pathway.standing import signed_targets
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan, FinancingTerms, PlanLine, Procedure
from spinepath.web.policy import clinic_policy


def current_financing() -> FinancingTerms:
    return FinancingTerms.objects.first() or FinancingTerms()


def decision_targets(signed: CandidacyDecision) -> frozenset[Target]:
    """The confirmed, eligible injection targets of a signed decision, as stored."""
    return signed_targets(signed.decision_json)


@dataclass(frozen=True)
class PlanFigures:
    lines: list[tuple[PlanLine, PricedLine]]
    totals: PlanTotals
    financing: Financing | None


def plan_figures(plan: CarePlan) -> PlanFigures:
    """Per line what the patient pays and what a payer is expected to pay; totals; financing."""
    priced = []
    for line in plan.lines.select_related("price_item"):
        coverage = coverage_for(line.price_item.category, plan.payer or None)
        priced.append(
            (line, PricedLine(line.description, line.quantity, line.unit_price, coverage))
        )
    totals = plan_totals(p for _, p in priced)
    financing = (
        financing_offer(totals.self_pay, plan.financing_term_months, plan.financing_rate_pct)
        if totals.self_pay > 0
        else None
    )
    return PlanFigures(priced, totals, financing)


@dataclass(frozen=True)
class LineProduct:
    """What an injection line of a written plan gives and under which regulatory route
    (PATHWAY.md section 10): the kind ('' when the line does not state it), the route under
    the clinic's policy, and the IND number where there is one."""

    line: PlanLine
    kind: str
    route: str
    ind_number: str

    @property
    def kind_label(self) -> str:
        return PRODUCT_KINDS.get(self.kind, NOT_STATED)

    @property
    def route_label(self) -> str:
        return REGULATORY_ROUTES.get(self.route, "regulatory route not stated")


def plan_products(plan: CarePlan) -> list[LineProduct]:
    """Each injection line's product and regulatory route, in the plan's order."""
    policy = clinic_policy()
    return [
        LineProduct(
            line,
            line.product_kind,
            regulatory_route(line.product_kind or None, policy) or "",
            line.ind_number,
        )
        for line in plan.lines.filter(phase="inject").order_by("position", "id")
    ]


def plan_changes(plan: CarePlan) -> list[str]:
    """What changed from the version this plan supersedes, in words."""
    if plan.supersedes is None:
        return []
    before = {(ln.description, ln.quantity): ln.unit_price for ln in plan.supersedes.lines.all()}
    after = {(ln.description, ln.quantity): ln.unit_price for ln in plan.lines.all()}
    changes = []
    for key in after.keys() - before.keys():
        changes.append(f"Added: {key[0]} x{key[1]} at {after[key]}")
    for key in before.keys() - after.keys():
        changes.append(f"Removed: {key[0]} x{key[1]}")
    for key in after.keys() & before.keys():
        if after[key] != before[key]:
            changes.append(f"Price of {key[0]}: {before[key]} -> {after[key]}")
    return sorted(changes)


def accepted_plan(patient: Patient) -> CarePlan | None:
    return CarePlan.objects.filter(patient=patient, status=CarePlan.ACCEPTED).first()


def planned_targets(plan: CarePlan) -> list[Target]:
    """One entry per planned injection: each inject line's target, times its quantity."""
    return [
        Target(line.generator, line.level or None, line.side or None)
        for line in plan.lines.filter(phase="inject")
        for _ in range(line.quantity)
    ]


def plan_course(plan: CarePlan) -> list[int]:
    """The plan and the versions it supersedes (one course of treatment), as ids.

    A new version of a plan is the same course at new terms: what was injected under the
    earlier version counts against what the new one holds."""
    ids = []
    current: CarePlan | None = plan
    while current is not None and current.pk not in ids:
        ids.append(current.pk)
        current = current.supersedes
    # Every plan written from the same signed decision is the same course too, however it was
    # started ("write a plan" again instead of "revise"): one decision, one count.
    same_decision = CarePlan.objects.filter(decision_id=plan.decision_id).exclude(pk__in=ids)
    ids.extend(same_decision.values_list("pk", flat=True))
    return ids


def _at(target: Target) -> dict[str, str]:
    return {"generator": target.generator, "level": target.level or "", "side": target.side or ""}


def recorded_injections(plan: CarePlan, target: Target) -> int:
    return (
        Procedure.objects.not_voided().filter(plan_id__in=plan_course(plan), **_at(target)).count()
    )


def patient_procedures(patient: Patient) -> QuerySet[Procedure]:
    """Every injection recorded for ``patient``, voided ones included (they stay on the record)."""
    return Procedure.objects.filter(patient=patient).select_related(
        "operator", "voided_by", "plan", "time_out_by", "lot__product"
    )


def time_out_leaders() -> QuerySet[User]:
    """Who may be named as having led a procedure's time-out: active members of staff, people
    rather than names on records only."""
    return (
        User.objects.filter(is_active=True, groups__name__in=ROLES)
        .exclude(staff_account__record_only=True)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def plan_odds(plan: CarePlan) -> dict[str, Any] | None:
    """ "Patients like you" on the written plan: as the patient read them when they accepted
    it, else as they stand today (the data of the day before)."""
    if plan.accepted_odds is not None:
        return dict(plan.accepted_odds)
    # A page asks twice (the document it shows and the content hash it carries): counted once
    # per plan object and day.
    today = timezone.localdate()
    kept = getattr(plan, "_odds_of_the_day", None)
    if kept is not None and kept[0] == today:
        return dict(kept[1]) if kept[1] is not None else None
    signed = plan.decision
    odds = candidate_odds(
        decision_json=signed.decision_json,
        workup_json=signed.workup_json,
        born=plan.patient.birth_date,
        on=today,
    )
    plan._odds_of_the_day = (today, odds)  # type: ignore[attr-defined]
    return dict(odds) if odds is not None else None


def plan_content_hash(plan: CarePlan) -> str:
    """SHA-256 of what the written plan shows: its version, payer, every line with its price,
    coverage and planned date, each injection's product, regulatory route and IND number, the
    totals and the financing, and the "patients like you" figures. An acceptance carries the
    hash of the page the patient read; a plan changed meanwhile (a policy that moved a kind to
    another route too, figures of a new day) is not accepted."""
    figures = plan_figures(plan)
    document = {
        "plan": plan.pk,
        "version": plan.version,
        "payer": plan.payer,
        "lines": [
            [
                line.phase,
                line.description,
                line.quantity,
                str(line.unit_price),
                priced.coverage.status,
                line.planned_on.isoformat() if line.planned_on else None,
            ]
            for line, priced in figures.lines
        ],
        "products": [
            [product.line.pk, product.kind, product.route, product.ind_number]
            for product in plan_products(plan)
        ],
        "totals": [str(v) for v in dataclasses.astuple(figures.totals)],
        "financing": (
            [str(v) for v in dataclasses.astuple(figures.financing)] if figures.financing else None
        ),
        "odds": plan_odds(plan),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SessionState:
    """An injection session of a plan: its booked appointment, if any, and whether every
    injection it holds is already recorded."""

    session: InjectionSession
    appointment: Any  # public.Appointment (booked), or None
    done: bool


def plan_sessions(plan: CarePlan) -> list[SessionState]:
    lines = list(plan.lines.filter(phase="inject").order_by("position", "id"))
    sessions = injection_sessions(
        SessionLine(line.id, line.description, line.planned_on) for line in lines
    )
    by_id = {line.id: line for line in lines}
    # The session's appointment: the booked one, else the one it was done in.
    booked: dict[str, Any] = {}
    for a in plan.sessions.filter(kind="injection", status__in=["booked", "done"]).select_related(
        "clinician", "room"
    ):
        if a.status == "booked" or a.session_key not in booked:
            booked[a.session_key] = a
    out = []
    for session in sessions:
        done = all(
            recorded_injections(plan, _target(by_id[i])) >= by_id[i].quantity
            for i in session.line_ids
        )
        out.append(SessionState(session, booked.get(session.key), done))
    return out


@dataclass(frozen=True)
class VisitState:
    """A visit of a plan's prepare phase (the pre-procedure visit): one per unit of its line,
    keyed ``visit-1``, ``visit-2``... in the plan's order (a new version keeps the keys)."""

    key: str
    label: str
    appointment: Any  # public.Appointment (booked or done), or None

    @property
    def done(self) -> bool:
        return self.appointment is not None and self.appointment.status == "done"


def plan_visits(plan: CarePlan) -> list[VisitState]:
    lines = plan.lines.filter(phase="prepare", price_item__category="visit").order_by(
        "position", "id"
    )
    booked: dict[str, Any] = {}
    for a in plan.sessions.filter(kind="visit", status__in=["booked", "done"]).select_related(
        "clinician", "room"
    ):
        if a.status == "booked" or a.session_key not in booked:
            booked[a.session_key] = a
    out: list[VisitState] = []
    for line in lines:
        for _ in range(line.quantity):
            key = f"visit-{len(out) + 1}"
            out.append(VisitState(key, line.description, booked.get(key)))
    return out


def _target(line: PlanLine) -> Target:
    return Target(line.generator, line.level or None, line.side or None)


def sessions_to_book(limit: int = 50) -> list[tuple[CarePlan, InjectionSession]]:
    """Injection sessions of accepted plans with no booking and injections still to do (the
    coordinator's worklist), oldest acceptance first."""
    out: list[tuple[CarePlan, InjectionSession]] = []
    # Only plans with injections still to record can have a session to book (the exact
    # check, per session and across the plan's earlier versions, follows).
    planned = (
        PlanLine.objects.filter(plan=OuterRef("pk"), phase="inject")
        .values("plan")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    recorded = (
        Procedure.objects.not_voided()
        .filter(plan=OuterRef("pk"))
        .values("plan")
        .annotate(n=Count("id"))
        .values("n")
    )
    plans = (
        CarePlan.objects.filter(status=CarePlan.ACCEPTED)
        .annotate(planned=Coalesce(Subquery(planned), 0), recorded=Coalesce(Subquery(recorded), 0))
        .filter(planned__gt=F("recorded"))
        .select_related("patient")
    )
    for plan in plans.order_by("accepted_at", "id").iterator(chunk_size=200):
        for state in plan_sessions(plan):
            if state.appointment is None and not state.done:
                out.append((plan, state.session))
                if len(out) >= limit:
                    return out
    return out
