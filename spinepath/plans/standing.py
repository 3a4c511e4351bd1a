"""The standing of a patient (PATHWAY.md section 9), gathered once for every gate.

:func:`patient_standing` reads what the consultations tell
(:func:`spinepath.consultations.selectors.consultation_standing`) and adds the plans, the
injections recorded in the accepted plan's course and its booked sessions: eleven queries,
whatever the length of the patient's history. The gates themselves are pure
(:mod:`spinepath.pathway.gates`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

from django.utils import timezone

from spinepath.consultations.selectors import ConsultationRecords, consultation_standing
from spinepath.pathway import gates
from spinepath.pathway.gates import Refusal
from spinepath.pathway.plans import Target
from spinepath.pathway.standing import BookedSession, Plan, PlannedProduct, Standing
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan, PlanLine, Procedure
from spinepath.web.policy import clinic_policy


def _course(plans: list[CarePlan], accepted: CarePlan) -> set[int]:
    """The accepted plan, the versions it supersedes and every plan of its decision: one
    course of treatment, whose injections count against what the accepted plan holds."""
    by_id = {p.pk: p for p in plans}
    ids: set[int] = set()
    current: CarePlan | None = accepted
    while current is not None and current.pk not in ids:
        ids.add(current.pk)
        current = by_id.get(current.supersedes_id) if current.supersedes_id else None
    ids.update(p.pk for p in plans if p.decision_id == accepted.decision_id)
    return ids


def _target(row: PlanLine | Procedure) -> Target:
    return Target(row.generator, row.level or None, row.side or None)


def patient_standing(
    patient: Patient,
    today: date | None = None,
    *,
    read: ConsultationRecords | None = None,
    plans: list[CarePlan] | None = None,
) -> Standing:
    """What holds for ``patient`` today: consultations, decision, MRIs, plans, injections.
    A page that shows those records too (the chart) passes what it read (``read``: see
    :func:`spinepath.consultations.selectors.consultation_records`; ``plans``: every plan of
    the patient's) in the same request, so they are read once."""
    standing = consultation_standing(patient, today, read)
    plans = sorted(
        plans if plans is not None else CarePlan.objects.filter(patient=patient),
        key=lambda p: (p.version, p.pk),
    )
    accepted = next((p for p in plans if p.status == CarePlan.ACCEPTED), None)
    injections: dict[int, list[Target]] = {}
    products: dict[int, list[PlannedProduct]] = {}
    for line in PlanLine.objects.filter(
        plan__patient=patient,
        plan__status__in=[CarePlan.ACCEPTED, CarePlan.RELEASED, CarePlan.DRAFT],
        phase="inject",
    ).order_by("position", "id"):
        injections.setdefault(line.plan_id, []).extend([_target(line)] * line.quantity)
        products.setdefault(line.plan_id, []).append(
            PlannedProduct(
                line_id=line.pk,
                description=line.description,
                target=_target(line),
                material=line.material,
                kind=line.product_kind or None,
                ind_number=line.ind_number,
            )
        )
    recorded: Counter[Target] = Counter()
    sessions: tuple[BookedSession, ...] = ()
    if accepted is not None:
        for procedure in Procedure.objects.not_voided().filter(
            patient=patient, plan_id__in=_course(plans, accepted)
        ):
            recorded[_target(procedure)] += 1
        sessions = tuple(
            BookedSession(accepted.pk, a.session_key, timezone.localtime(a.start).date())
            for a in accepted.sessions.filter(kind="injection", status="booked")
        )
    return dataclasses.replace(
        standing,
        plans=tuple(
            Plan(
                id=p.pk,
                version=p.version,
                status=p.status,
                decision_id=p.decision_id,
                accepted_on=timezone.localdate(p.accepted_at) if p.accepted_at else None,
                injections=tuple(injections.get(p.pk, ())),
                products=tuple(products.get(p.pk, ())),
            )
            for p in plans
        ),
        recorded=dict(recorded),
        sessions=sessions,
    )


def prices_refusal(patient: Patient, today: date | None = None) -> Refusal | None:
    """The price gate for ``patient`` now (see :func:`spinepath.pathway.gates.prices_refusal`)."""
    return gates.prices_refusal(patient_standing(patient, today), clinic_policy())
