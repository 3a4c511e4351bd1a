"""What the patient's own pages read: always one patient's records, never anyone else's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from spinepath.consultations.selectors import candidate_odds, latest_signed_decision
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.selectors import baseline_for, first_injection, response_at
from spinepath.followup.services import link_problem
from spinepath.pathway.instruments import odi_responder_text, pain_responder_text
from spinepath.pathway.portal import DECISION_WORDS, OUTCOME_WORDS, plain_words, rule_question
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan
from spinepath.plans.standing import prices_refusal
from spinepath.public.models import Appointment
from spinepath.web.policy import clinic_policy


@dataclass(frozen=True)
class RuleInWords:
    question: str
    answer: str
    outcome: str
    sentence: str


def decision_in_words(patient: Patient) -> dict[str, Any] | None:
    """The latest signed decision, as the patient reads it: what it means, every rule as a
    question with its answer and sentence, what the clinic recommends or suggests instead."""
    signed = latest_signed_decision(patient)
    if signed is None:
        return None
    d = signed.decision_json
    headline, meaning = DECISION_WORDS.get(d["decision"], (d.get("label", ""), ""))
    # A candidate decision that cannot be acted on now (a warning recorded since, the decision
    # being amended, the MRI too old): the patient is told it is on hold, never "go ahead".
    on_hold = d["decision"] == "candidate" and prices_refusal(patient) is not None
    rules = [
        RuleInWords(
            rule_question(r["id"]),
            OUTCOME_WORDS.get(r["outcome"], r["outcome"]),
            r["outcome"],
            plain_words(r["text"]),
        )
        for r in d["rules"]
    ]
    prognosis = d.get("prognosis")
    if prognosis:
        prognosis = {**prognosis, "reasons": [plain_words(t) for t in prognosis.get("reasons", [])]}
    return {
        "signed": signed,
        "kind": d["decision"],
        "on_hold": on_hold,
        "headline": headline,
        "meaning": meaning,
        "summary": plain_words(d.get("summary", "")),
        "rules": rules,
        "recommendations": [
            {**r, "text": plain_words(r.get("text", ""))} for r in d.get("recommendations", [])
        ],
        "missing": d.get("missing", []),
        "prognosis": prognosis,
        "generators": [g for g in d.get("generators", []) if g.get("status") == "confirmed"],
        # How patients like them did here: only while the candidate decision can be acted on.
        "odds": None
        if on_hold
        else candidate_odds(
            decision_json=d,
            workup_json=signed.workup_json,
            born=patient.birth_date,
            on=timezone.localdate(),
        ),
    }


def plan_for_patient(patient: Patient) -> CarePlan | None:
    """The plan the patient is asked to read: the version a clinician released to them, else
    the accepted one. The clinic's working draft is never shown, and a superseded version is
    history, not shown as current."""
    released = (
        CarePlan.objects.filter(patient=patient, status=CarePlan.RELEASED)
        .filter(lines__phase="inject")
        .distinct()
        .first()
    )
    return released or CarePlan.objects.filter(patient=patient, status=CarePlan.ACCEPTED).first()


def appointments_for(patient: Patient) -> list[Appointment]:
    return list(
        Appointment.objects.filter(patient=patient)
        .select_related("room", "clinician")
        .prefetch_related("change_requests")
        .order_by("start")
    )


def visits_for(patient: Patient) -> list[ReassessmentVisit]:
    """The reassessment windows of the patient's current course (visits of superseded plans
    were moved onto the new one)."""
    return list(
        ReassessmentVisit.objects.filter(patient=patient, injected_on__isnull=False)
        .select_related("measurement")
        .order_by("due", "position")
    )


def questionnaires_due(patient: Patient, today: date) -> list[ReassessmentVisit]:
    """Visits whose window is open today and that have no answers yet."""
    return [
        v
        for v in ReassessmentVisit.objects.filter(
            patient=patient, opens__lte=today, closes__gte=today, injected_on__isnull=False
        ).order_by("due")
        if link_problem(v, today) is None
    ]


@dataclass(frozen=True)
class ProgressRow:
    visit: ReassessmentVisit
    measurement: OutcomeMeasurement
    words: str
    verdict: str
    status: str


def progress(patient: Patient) -> dict[str, Any]:
    policy = clinic_policy()
    visits = [v for v in visits_for(patient) if hasattr(v, "measurement")]
    rows = []
    baseline = None
    for visit in visits:
        m = visit.measurement
        if m.outside_window:
            continue
        base, response = response_at(visit)
        baseline = baseline or base
        parts = []
        if m.pain_vas is not None:
            was = (
                f" (at the start: {base.pain.value_mm:.0f})"
                if base is not None and base.pain is not None
                else ""
            )
            parts.append(f"pain {m.pain_vas:.0f} out of 100{was}")
        if m.odi_score is not None:
            was = (
                f" (at the start: {base.odi.score:.0f}%)"
                if base is not None and base.odi is not None and base.odi.score is not None
                else ""
            )
            parts.append(f"daily-activity difficulty (ODI) {m.odi_score:.0f}%{was}")
        if response is None:
            verdict, status = "Not compared: there is no starting measurement.", "not_measured"
        elif response.too_early and response.status != "responder":
            verdict, status = (
                "Too early to judge: the spine responds slowly, and the result is judged at "
                "6 months.",
                "too_early_to_judge",
            )
        else:
            verdict, status = _verdict(response.status), response.status
        rows.append(ProgressRow(visit, m, "; ".join(parts).capitalize() + ".", verdict, status))
    start = None
    course = [v for v in visits_for(patient)]
    if course:
        start = first_injection(course[0].plan_id)
    judged_from = None
    if start is not None:
        judged = [v for v in course if v.key == policy.non_response_judged_from_visit]
        judged_from = judged[0].due if judged else None
    return {
        "rows": rows,
        "first_injection": start,
        "judged_from": judged_from,
        "before_judgement": judged_from is None or timezone.localdate() < judged_from,
        "thresholds": f"{pain_responder_text(policy)}; {odi_responder_text(policy)}",
        "baseline": baseline_for(patient.pk, start) if start else None,
    }


def _verdict(status: str) -> str:
    return {
        "responder": "A meaningful improvement: your pain is down by at least the amount that "
        "counts as a response.",
        "partial": "Some improvement, less than what counts as a full response.",
        "non_responder": "No meaningful improvement yet. Your clinician will talk with you about "
        "what to do next.",
        "not_measured": "Not compared: the pain score is missing.",
    }.get(status, status)
