"""A realistic synthetic cohort for demos and benchmarks (`spinepath demo-data --patients N`).

Each synthetic patient has a consultation with baseline pain and ODI, a signed candidate
decision (made by the real engine from one of a few typical workups), an accepted plan, the
injections, the reassessment visits, and follow-ups with plausible trajectories and drop-out.
Rows go in with bulk inserts, and every score and response comes from the domain instruments.

The rows are history, so each carries the day it happened: the decision is signed on the
consultation day, the plan accepted a week before the injection, not on the day the cohort was
generated. The cohort's clinicians are records for the dashboard only: they cannot sign in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.models import CandidacyDecision, Encounter
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.schedule import course_visits
from spinepath.pathway.decision import Decision
from spinepath.pathway.engine import decide
from spinepath.pathway.instruments import classify_response, odi_score, pain_from_vas
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import workup_from_dict
from spinepath.patients.models import SYNTHETIC_ID_PREFIX, Patient, name_key
from spinepath.plans.models import CarePlan, PlanLine, PriceItem, PriceVersion, Procedure
from spinepath.web.policy import clinic_policy

# First names by the sex recorded for the patient, so that a chart's name and sex agree.
FIRST = {
    "female": ["Anna", "Carla", "Eva", "Gina", "Iris", "Kara", "Mona", "Olga", "Rita"],
    "male": ["Ben", "David", "Frank", "Hugo", "Jon", "Leo", "Nick", "Paul", "Sam"],
}
LAST = [
    "Adler",
    "Brook",
    "Costa",
    "Dunn",
    "Ellis",
    "Fox",
    "Grant",
    "Hayes",
    "Ivers",
    "Jain",
    "Klein",
    "Lund",
    "Marsh",
    "Nash",
    "Ortiz",
]

_LEVEL = {
    "modic": 0,
    "herniation": "none",
    "nerve_root_compression": False,
    "facet_arthropathy": 0,
    "ligament_injury": False,
    "endplate_bone_on_bone": False,
    "disc_height_loss_pct": 0,
    "pfirrmann": 1,
}

# (name, weight, changes to the typical workup, material, expected pain reduction at 12m)
PROFILES: list[tuple[str, float, dict[str, Any], str, float]] = [
    (
        "single disc, axial",
        0.45,
        {"L4-L5": {"pfirrmann": 3, "disc_height_loss_pct": 20}},
        "msc",
        0.45,
    ),
    (
        "single disc, mixed",
        0.15,
        {"L5-S1": {"pfirrmann": 4, "disc_height_loss_pct": 30}, "pattern": "mixed"},
        "msc",
        0.32,
    ),
    ("facet", 0.2, {"L5-S1": {"facet_arthropathy": 2}, "facet": True}, "prp", 0.35),
    ("ligament", 0.1, {"L4-L5": {"ligament_injury": True}, "ligament": True}, "prp", 0.38),
    (
        "three targets",
        0.1,
        {
            "L3-L4": {"pfirrmann": 3, "disc_height_loss_pct": 15, "ligament_injury": True},
            "L4-L5": {"pfirrmann": 3, "disc_height_loss_pct": 20},
            "ligament": True,
        },
        "msc",
        0.25,
    ),
]


def _workup(profile: dict[str, Any], review: date) -> dict[str, Any]:
    levels = []
    for level in ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"):
        levels.append({"level": level, **_LEVEL, **profile.get(level, {})})
    blocks = []
    if profile.get("facet"):
        blocks.append(
            {
                "kind": "medial_branch",
                "date": (review - timedelta(days=20)).isoformat(),
                "levels": ["L5-S1"],
                "side": "bilateral",
                "relief_pct": 90,
            }
        )
    return {
        "schema": "spinepath.workup/1",
        "patient": {"id": "synthetic"},
        "assessed_on": review.isoformat(),
        "history": {
            "pain_duration_months": 24,
            "pattern": profile.get("pattern", "axial"),
            "conservative_care": {
                "physical_therapy_weeks": 10,
                "nsaid_trial": True,
                "status": "plateaued",
            },
            "prior_procedures": [],
        },
        "red_flags": {
            "cauda_equina": False,
            "infection": False,
            "malignancy": False,
            "fracture": False,
        },
        "exam": {
            "motor_deficit": "none",
            "facet_pattern": bool(profile.get("facet")),
            "si_provocation_positive": 0,
            "ligament_tenderness": bool(profile.get("ligament")),
        },
        "imaging": [
            {
                "modality": "MRI",
                "date": (review - timedelta(days=40)).isoformat(),
                "reviewed": True,
                "levels": levels,
            }
        ],
        "diagnostic_blocks": blocks,
    }


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@contextmanager
def _timestamps_as_given(model: type[models.Model], *names: str) -> Iterator[None]:
    """Bulk inserts keep the timestamps set on the rows instead of stamping them now.

    The fields are ``auto_now_add`` for everything the clinic records live; a generated
    history is dated when it happened. Not thread-safe: a command or a test, never a request.
    """
    fields = [model._meta.get_field(name) for name in names]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


def _odi_sections(rng: random.Random, target: float) -> list[int | None]:
    sections: list[int | None] = [
        max(0, min(5, round(target / 20 + rng.gauss(0, 0.7)))) for _ in range(10)
    ]
    if rng.random() < 0.1:
        sections[7] = None  # the section people most often leave blank
    return sections


@transaction.atomic
def generate_cohort(
    patients: int, seed: int = 2026, today: date | None = None, *, synthetic: bool = True
) -> int:
    """Add ``patients`` synthetic treated patients; returns how many were added.

    ``synthetic=False`` (tests only) gives them ordinary record ids and external ids, so that
    they count as the clinic's own patients (the clinic's model never counts synthetic ones)."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    policy = clinic_policy()
    # The clinic's own process makes the cohort's clinicians (names on records only).
    actor = Actor.system("(synthetic cohort)", path="(command line) spinepath demo-data")
    clinicians = [
        staff_user_create(
            actor=actor,
            username=f"synthetic.clinician{i}" if synthetic else f"cohort{seed}.clinician{i}",
            password=None,  # a record for the dashboard, never an account that signs in
            role="clinician",
            first_name=["Lee", "Ana", "Raj"][i],
            last_name="Synthetic",
        )
        for i in range(3)
    ]
    start = Patient.objects.count()
    item = PriceItem.objects.filter(category="regenerative", generator="discogenic").first()
    version = item.current_version() if item else None
    weights = [p[1] for p in PROFILES]
    chunk = 2000
    for offset in range(0, patients, chunk):
        size = min(chunk, patients - offset)
        batch = []
        for i in range(size):
            n = start + offset + i + 1
            sex = rng.choice(["female", "male"])
            given, family = rng.choice(FIRST[sex]), rng.choice(LAST)
            batch.append(
                Patient(
                    mrn=f"SY{n:07d}" if synthetic else f"MR{n:07d}",
                    external_id=f"{SYNTHETIC_ID_PREFIX}{n}" if synthetic else f"P{n:07d}",
                    given_name=given,
                    family_name=family,
                    birth_date=date(1945, 1, 1) + timedelta(rng.randrange(20000)),
                    sex=sex,
                    payer="self_pay",
                    family_key=name_key(family, given),
                    given_key=name_key(given, family),
                )
            )
        created = Patient.objects.bulk_create(batch)
        if created[0].pk is None:
            created = list(Patient.objects.filter(mrn__in=[p.mrn for p in batch]))
        _courses(rng, created, clinicians, today, policy, weights, item, version)
    return patients


def _courses(
    rng: random.Random,
    patients: list[Patient],
    clinicians: list[User],
    today: date,
    policy: Policy,
    weights: list[float],
    item: PriceItem | None,
    version: PriceVersion | None,
) -> None:
    decided: dict[tuple[str, date], tuple[Decision, dict[str, Any], dict[str, Any]]] = {}
    encounters, plans_data = [], []
    for patient in patients:
        profile = rng.choices(PROFILES, weights)[0]
        injected = today - timedelta(days=rng.randrange(10, 800))
        review = injected - timedelta(days=14)
        key = (profile[0], review)
        if key not in decided:
            workup = workup_from_dict(_workup(profile[2], review))
            decided[key] = (decide(workup, policy), workup.to_json_dict(), profile[2])
        baseline_pain = rng.uniform(45, 90)
        baseline_odi_sections = _odi_sections(rng, rng.uniform(30, 60))
        encounters.append(
            Encounter(
                patient=patient,
                assessed_on=review,
                status=Encounter.FINISHED,
                last_step="review",
                pain_vas=round(baseline_pain),
                odi_sections=baseline_odi_sections,
                pain_duration_months=24,
                pattern=profile[2].get("pattern", "axial"),
            )
        )
        plans_data.append((patient, profile, injected, key, baseline_pain, baseline_odi_sections))
    encounters = Encounter.objects.bulk_create(encounters)
    with _timestamps_as_given(CandidacyDecision, "signed_at"):
        decisions = CandidacyDecision.objects.bulk_create(
            CandidacyDecision(
                encounter=enc,
                patient=enc.patient,
                decision=decided[key][0].decision,
                decision_json=decided[key][0].to_dict() | {"patient_id": enc.patient.external_id},
                workup_json=decided[key][1],
                policy_name=policy.name,
                policy_version=policy.version,
                signed_by=rng.choice(clinicians),
                signature_token=f"synthetic-{enc.patient.pk}",
                signed_at=_at(enc.assessed_on, 11),
            )
            for enc, (_p, _prof, _inj, key, _bp, _bo) in zip(encounters, plans_data, strict=True)
        )
    with _timestamps_as_given(CarePlan, "created_at"):
        plans = CarePlan.objects.bulk_create(
            CarePlan(
                patient=d.patient,
                decision=d,
                version=1,
                status=CarePlan.ACCEPTED,
                payer="self_pay",
                created_by=d.signed_by,
                accepted_name=f"{d.patient.given_name} {d.patient.family_name}",
                # Written on the consultation day, accepted a week before the injection.
                created_at=_at(d.encounter.assessed_on, 15),
                accepted_at=_at(injected - timedelta(days=7), 11),
            )
            for d, (_p, _prof, injected, _key, _bp, _bo) in zip(decisions, plans_data, strict=True)
        )
    if item is not None and version is not None:
        PlanLine.objects.bulk_create(
            PlanLine(
                plan=plan,
                phase="inject",
                description=item.name,
                price_item=item,
                price_version=version,
                unit_price=version.amount,
            )
            for plan in plans
        )
    procedures, visits, pending = [], [], []
    for plan, (patient, profile, injected, key, base_pain, base_odi) in zip(
        plans, plans_data, strict=True
    ):
        decision = decided[key][0]
        operator = plan.decision.signed_by
        for target in decision.targets:
            procedures.append(
                Procedure(
                    patient=patient,
                    plan=plan,
                    performed_on=injected,
                    generator=target.generator,
                    level=target.level or "",
                    side=target.side or "",
                    material=profile[3],
                    guidance="ultrasound"
                    if target.generator == "myoligamentous"
                    else "fluoroscopy",
                    operator=operator,
                    recorded_at=_at(injected, 16),
                )
            )
        pending.append((plan, patient, profile, injected, decision, base_pain, base_odi))
    with _timestamps_as_given(Procedure, "recorded_at"):
        procedures = Procedure.objects.bulk_create(procedures)
    course: dict[int, list[Procedure]] = {}
    for procedure in procedures:
        course.setdefault(procedure.plan_id, []).append(procedure)
    for plan, _patient, profile, _injected, _decision, base_pain, base_odi in pending:
        # Laid out as the clinic's own writes lay them out (followup.schedule), saved in bulk.
        for visit in course_visits(plan, course[plan.pk], policy):
            visits.append((visit, profile, base_pain, base_odi))
    saved = ReassessmentVisit.objects.bulk_create([v for v, *_ in visits])
    measurements = []
    months = {"6w": 1.5, "3m": 3, "6m": 6, "12m": 12, "24m": 24}
    for visit, (_, profile, base_pain, base_odi) in zip(saved, visits, strict=True):
        day = visit.due + timedelta(days=rng.randint(-7, 10))
        if day > today or rng.random() < 0.08 + 0.02 * months[visit.key]:
            continue  # not due yet, or lost to follow-up (more so as time goes on)
        effect = profile[4] * min(1.0, months[visit.key] / 6) + rng.gauss(0, 0.2)
        pain = max(0.0, min(100.0, base_pain * (1 - effect)))
        odi_sections = _odi_sections(
            rng, max(0.0, (odi_score(base_odi, policy).score or 40) * (1 - effect * 0.9))
        )
        follow_odi, start_odi = odi_score(odi_sections, policy), odi_score(base_odi, policy)
        response = classify_response(
            pain_from_vas(round(base_pain)),
            pain_from_vas(round(pain)),
            start_odi,
            follow_odi,
            policy,
            visit.key,
        )
        measurements.append(
            OutcomeMeasurement(
                patient_id=visit.patient_id,
                visit=visit,
                measured_on=day,
                pain_vas=round(pain),
                pain_raw=round(pain),
                odi_sections=odi_sections,
                odi_score=follow_odi.score,
                source=OutcomeMeasurement.PATIENT_LINK,
                pain_change_mm=response.pain_change_mm,
                pain_change_pct=response.pain_change_pct,
                pain_responder=response.pain_responder,
                any_pain_reduction=response.any_pain_reduction,
                odi_change_points=response.odi_change_points,
                odi_responder=response.odi_responder,
                created_at=_at(day, 12),
            )
        )
    with _timestamps_as_given(OutcomeMeasurement, "created_at"):
        OutcomeMeasurement.objects.bulk_create(measurements, batch_size=2000)
