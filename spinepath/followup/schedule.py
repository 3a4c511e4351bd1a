"""The reassessment schedule of a course of injections: its visits, windows and each visit's
response, recomputed inside the write that recorded or voided an injection (plans announces it:
:data:`spinepath.plans.events.injections_changed`)."""

from __future__ import annotations

import logging

from spinepath.followup.models import (
    OutcomeMeasurement,
    ReassessmentVisit,
)
from spinepath.followup.selectors import baseline_for, first_injection
from spinepath.pathway.completion import age_band
from spinepath.pathway.instruments import (
    OdiScore,
    PainScore,
    Response,
    classify_response,
    odi_score,
    pain_from_vas,
)
from spinepath.pathway.odds import course_features
from spinepath.pathway.policy import Policy
from spinepath.pathway.schedule import reassessment_schedule
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan, Procedure
from spinepath.web.policy import clinic_policy

logger = logging.getLogger(__name__)


# Why a visit left standing by a voided course is reminded no more.
NO_COURSE = "its injection was voided: it belongs to no course of treatment"


def reschedule_on_injections_changed(sender: object, *, plan: CarePlan, **kwargs: object) -> None:
    """Listener of :data:`spinepath.plans.events.injections_changed`."""
    schedule_for_plan(plan)


def schedule_for_plan(plan: CarePlan) -> list[ReassessmentVisit]:
    """Create the plan's reassessment visits, or move them to its last injection that stands
    (voided entries do not count). Visits already measured keep their dates: what was measured
    stays where it was. With no injection left, the visits not measured go, and the measured
    ones leave the outcomes (they belong to no course of treatment). A visit not measured whose
    reminders went out stays too, with what was sent (its steps): it leaves the course, its
    reminders stop, and no link answers it.

    Not a door of its own: it runs inside the write that changed the injections (a procedure
    recorded or voided), whose actor and audit event it is part of."""
    injections = list(
        Procedure.objects.not_voided().filter(plan=plan).order_by("performed_on", "id")
    )
    if not injections:
        ReassessmentVisit.objects.filter(
            plan=plan, measurement__isnull=True, steps__isnull=True
        ).delete()
        for visit in ReassessmentVisit.objects.filter(plan=plan).exclude(injected_on=None):
            visit.injected_on = None  # saved one by one: the write's audit event holds each
            fields = ["injected_on"]
            if not OutcomeMeasurement.objects.filter(visit=visit).exists():
                visit.reminders_stopped = NO_COURSE
                fields.append("reminders_stopped")
            visit.save(update_fields=fields)
        return []
    existing = {visit.key: visit for visit in ReassessmentVisit.objects.filter(plan=plan)}
    measured = set(
        OutcomeMeasurement.objects.filter(visit__plan=plan).values_list("visit__key", flat=True)
    )
    visits = course_visits(plan, injections, clinic_policy(), existing=existing, measured=measured)
    for visit in visits:
        visit.save()
    _refresh_responses(plan)
    return visits


def course_visits(
    plan: CarePlan,
    injections: list[Procedure],
    policy: Policy,
    *,
    existing: dict[str, ReassessmentVisit] | None = None,
    measured: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[ReassessmentVisit]:
    """The reassessment visits of a course of injections (those that stand, in date order),
    unsaved: the schedule of PATHWAY.md section 7 from the last injection, each visit with
    the course it belongs to. ``existing`` visits (by key) are updated in place; those in
    ``measured`` keep their dates, since what was measured stays where it was.

    The one way visits are laid out: the clinic's writes save them one by one (above), the
    synthetic cohort in bulk."""
    existing = existing or {}
    last = injections[-1]
    visits = []
    for position, planned in enumerate(reassessment_schedule(last.performed_on, policy)):
        visit = existing.get(planned.key) or ReassessmentVisit(
            patient=plan.patient, plan=plan, key=planned.key
        )
        visit.anchor = last
        _course_facts(visit, plan, injections)
        if planned.key not in measured:
            visit.label = planned.label
            visit.position = position
            visit.due, visit.opens, visit.closes = planned.due, planned.opens, planned.closes
            visit.optional = planned.optional
        visits.append(visit)
    return visits


def _course_facts(visit: ReassessmentVisit, plan: CarePlan, injections: list[Procedure]) -> None:
    """The treatment course a visit belongs to, for the outcomes dashboard's filters: the
    injections that stand, in date order."""
    targets = {(p.generator, p.level, p.side) for p in injections}
    visit.injected_on = injections[0].performed_on
    visit.prognosis_tier = (plan.decision.decision_json.get("prognosis") or {}).get("tier", "")
    features = course_features(
        plan.decision.workup_json or {},
        visit.prognosis_tier,
        [(p.generator, p.level) for p in injections],
        plan.patient.birth_date,
        visit.injected_on,
    )
    visit.generator = features.kind
    visit.treated_grade = features.grade
    visit.pain_pattern = features.pattern
    visit.age_band = features.age_band
    visit.target_count = max(1, len(targets))
    visit.material = injections[0].material
    visit.clinician_id = injections[0].operator_id


def visit_response(visit: ReassessmentVisit, pain: PainScore, odi: OdiScore) -> Response | None:
    start = first_injection(visit.plan_id)
    baseline = baseline_for(visit.patient_id, start) if start else None
    if baseline is None:
        return None
    return classify_response(baseline.pain, pain, baseline.odi, odi, clinic_policy(), visit.key)


RESPONSE_FIELDS = (
    "pain_change_mm",
    "pain_change_pct",
    "pain_responder",
    "any_pain_reduction",
    "odi_change_points",
    "odi_responder",
)


def response_values(response: Response | None) -> dict[str, float | bool | None]:
    return {name: getattr(response, name) if response else None for name in RESPONSE_FIELDS}


def _refresh_responses(plan: CarePlan) -> None:
    """Recompute the stored change from baseline of the plan's measurements: voiding the first
    injection moves the baseline those changes are measured from."""
    policy = clinic_policy()
    for measurement in OutcomeMeasurement.objects.filter(visit__plan=plan).select_related("visit"):
        if measurement.pain_vas is None or measurement.visit is None:
            continue
        odi = odi_score(measurement.odi_sections or [None] * 10, policy)
        values = response_values(
            visit_response(measurement.visit, pain_from_vas(measurement.pain_vas), odi)
        )
        if any(getattr(measurement, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(measurement, name, value)
            measurement.save(update_fields=list(values))


def age_bands_on_birth_date_changed(sender: object, *, patient: Patient, **_: object) -> None:
    """A corrected date of birth: each of the patient's treated courses in its right age band
    (at its first injection), in the same transaction as the correction."""
    visits = list(ReassessmentVisit.objects.filter(patient=patient, injected_on__isnull=False))
    for visit in visits:
        visit.age_band = age_band(patient.birth_date, visit.injected_on)
    ReassessmentVisit.objects.bulk_update(visits, ["age_band"])
