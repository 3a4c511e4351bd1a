"""Follow-up writes: the schedule after an injection, questionnaire links and answers, reminders.

Scores always come from the domain instruments (spinepath.pathway.instruments).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from spinepath.accounts.roles import is_staff_member
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.followup.models import (
    OutcomeMeasurement,
    QuestionnaireLink,
    ReassessmentVisit,
    ReminderSent,
)
from spinepath.pathway.instruments import odi_score, pain_from_nrs, pain_from_vas
from spinepath.pathway.schedule import reassessment_schedule
from spinepath.plans.models import Procedure
from spinepath.web.policy import clinic_policy


def schedule_after_procedure(procedure: Procedure) -> list[ReassessmentVisit]:
    """Create the plan's reassessment visits, or move them to the plan's last injection.
    Visits already measured keep their dates (what was measured stays where it was)."""
    plan = procedure.plan
    last = Procedure.objects.filter(plan=plan).order_by("-performed_on", "-id").first() or procedure
    visits = []
    for position, planned in enumerate(reassessment_schedule(last.performed_on, clinic_policy())):
        visit = ReassessmentVisit.objects.filter(plan=plan, key=planned.key).first()
        if visit is None:
            visit = ReassessmentVisit(patient=plan.patient, plan=plan, key=planned.key)
        elif OutcomeMeasurement.objects.filter(visit=visit).exists():
            visits.append(visit)
            continue
        visit.anchor = last
        _course_facts(visit, plan)
        visit.label = planned.label
        visit.position = position
        visit.due, visit.opens, visit.closes = planned.due, planned.opens, planned.closes
        visit.optional = planned.optional
        visit.save()
        visits.append(visit)
    return visits


def _course_facts(visit: ReassessmentVisit, plan: Any) -> None:
    """The treatment course a visit belongs to, for the outcomes dashboard's filters."""
    procedures = list(Procedure.objects.filter(plan=plan).order_by("performed_on", "id"))
    generators = {p.generator for p in procedures}
    targets = {(p.generator, p.level, p.side) for p in procedures}
    visit.injected_on = procedures[0].performed_on if procedures else None
    visit.generator = generators.pop() if len(generators) == 1 else "multiple"
    visit.prognosis_tier = (plan.decision.decision_json.get("prognosis") or {}).get("tier", "")
    visit.target_count = max(1, len(targets))
    visit.material = procedures[0].material if procedures else ""
    visit.clinician_id = procedures[0].operator_id if procedures else None


# --- Questionnaire links --------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def questionnaire_link_create(*, visit: ReassessmentVisit, user: Any = None) -> str:
    """A new single-use link for ``visit``; returns the token (shown once, never stored)."""
    if user is not None and not is_staff_member(user):
        raise PermissionDenied("Only clinic staff send questionnaires.")
    token = secrets.token_urlsafe(32)
    QuestionnaireLink.objects.create(
        visit=visit,
        token_hash=_hash(token),
        expires_at=timezone.now() + timedelta(days=clinic_policy().questionnaire_link_days),
        created_by=user,
    )
    return token


class LinkProblem(Exception):
    """Why a questionnaire link cannot be used, in words for the person holding it."""


def link_for(token: str) -> QuestionnaireLink:
    if not token or len(token) > 100:
        raise LinkProblem("This link is not valid. Please use the link in your latest message.")
    link = (
        QuestionnaireLink.objects.select_related("visit", "visit__patient")
        .filter(token_hash=_hash(token))
        .first()
    )
    if link is None:
        raise LinkProblem("This link is not valid. Please use the link in your latest message.")
    if link.used_at is not None or OutcomeMeasurement.objects.filter(visit=link.visit).exists():
        raise LinkProblem("Thank you - your answers for this check-in are already in.")
    if link.expires_at < timezone.now():
        raise LinkProblem("This link has expired. The clinic will send you a new one.")
    return link


@dataclass(frozen=True)
class Answers:
    pain: float | None
    pain_scale: str
    odi_sections: list[int | None]


def _measurement(
    visit: ReassessmentVisit, answers: Answers, measured_on: date, source: str, user: Any
) -> OutcomeMeasurement:
    policy = clinic_policy()
    errors = {}
    pain = None
    if answers.pain is not None:
        try:
            pain = (pain_from_nrs if answers.pain_scale == "nrs" else pain_from_vas)(answers.pain)
        except ValueError as exc:
            errors["pain"] = str(exc)
    try:
        odi = odi_score(answers.odi_sections, policy)
    except ValueError as exc:
        errors["odi"] = str(exc)
    if pain is None and "pain" not in errors:
        errors["pain"] = "Please give your pain score."
    if errors:
        raise ValidationError(errors)
    assert pain is not None
    from spinepath.followup.selectors import baseline_for, first_injection
    from spinepath.pathway.instruments import classify_response

    start = first_injection(visit.plan_id)
    baseline = baseline_for(visit.patient_id, start) if start else None
    response = (
        classify_response(baseline.pain, pain, baseline.odi, odi, policy, visit.key)
        if baseline is not None
        else None
    )
    return OutcomeMeasurement.objects.create(
        pain_change_mm=response.pain_change_mm if response else None,
        pain_change_pct=response.pain_change_pct if response else None,
        pain_responder=response.pain_responder if response else None,
        any_pain_reduction=response.any_pain_reduction if response else None,
        odi_change_points=response.odi_change_points if response else None,
        odi_responder=response.odi_responder if response else None,
        patient=visit.patient,
        visit=visit,
        measured_on=measured_on,
        pain_scale=pain.scale,
        pain_raw=pain.raw,
        pain_vas=pain.value_mm,
        odi_sections=answers.odi_sections,
        odi_score=odi.score,
        source=source,
        entered_by=user,
    )


def questionnaire_submit(*, token: str, answers: Answers) -> OutcomeMeasurement:
    """Save a patient's answers once. A second submission of the same link is refused."""
    with transaction.atomic():
        link = link_for(token)
        link = QuestionnaireLink.objects.select_for_update().get(pk=link.pk)
        if link.used_at is not None:
            raise LinkProblem("Thank you - your answers for this check-in are already in.")
        try:
            with transaction.atomic():
                measurement = _measurement(
                    link.visit, answers, timezone.localdate(), OutcomeMeasurement.PATIENT_LINK, None
                )
        except IntegrityError:
            raise LinkProblem(
                "Thank you - your answers for this check-in are already in."
            ) from None
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    audit_record(
        request=None,
        action=AuditEvent.CREATE,
        what=f"questionnaire {link.visit.label} (patient link)",
        patient=link.visit.patient,
    )
    return measurement


@transaction.atomic
def paper_form_enter(
    *, visit: ReassessmentVisit, user: Any, answers: Answers, measured_on: date, request: Any = None
) -> OutcomeMeasurement:
    if not is_staff_member(user):
        raise PermissionDenied("Only clinic staff enter paper forms.")
    visit = ReassessmentVisit.objects.select_for_update().get(pk=visit.pk)
    if OutcomeMeasurement.objects.filter(visit=visit).exists():
        raise ValidationError("This visit already has its measurement.")
    if measured_on > timezone.localdate():
        raise ValidationError({"measured_on": "The date is in the future."})
    measurement = _measurement(visit, answers, measured_on, OutcomeMeasurement.PAPER, user)
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.CREATE,
        what=f"paper questionnaire {visit.label}",
        patient=visit.patient,
    )
    return measurement


@transaction.atomic
def visit_notes_save(
    *,
    visit: ReassessmentVisit,
    user: Any,
    functional_notes: str,
    repeat_imaging: bool,
    request: Any = None,
) -> ReassessmentVisit:
    if not is_staff_member(user):
        raise PermissionDenied("Only clinic staff change a visit.")
    visit.functional_notes = functional_notes
    visit.repeat_imaging = repeat_imaging
    visit.save(update_fields=["functional_notes", "repeat_imaging"])
    audit_record(
        request=request,
        user=user,
        action=AuditEvent.UPDATE,
        what=f"reassessment {visit.label}: notes",
        patient=visit.patient,
    )
    return visit


# --- Reminders -----------------------------------------------------------------------------


def _reminder_text(visit: ReassessmentVisit, url: str, kind: str, closes: date) -> str:
    # No name, diagnosis or treatment in the message: only what the person needs to act.
    clinic = settings.SPINEPATH_CLINIC_NAME
    first = (
        "It is time for your check-in questionnaire."
        if kind == ReminderSent.WINDOW_OPEN
        else f"A reminder: your check-in questionnaire is open until {closes:%d %B %Y}."
    )
    return (
        f"Hello,\n\n{first} It takes about five minutes: how much pain you have and how it "
        f"affects daily activities.\n\n{url}\n\nThe link works once and expires in "
        f"{clinic_policy().questionnaire_link_days} days.\n\n{clinic}\n"
    )


def questionnaire_link_send(*, visit: ReassessmentVisit, user: Any, base_url: str) -> str:
    """Email the patient a new link for ``visit``; returns the address it went to."""
    if not is_staff_member(user):
        raise PermissionDenied("Only clinic staff send questionnaires.")
    if not visit.patient.email:
        raise ValidationError("The patient has no email address on file.")
    token = questionnaire_link_create(visit=visit, user=user)
    url = base_url.rstrip("/") + reverse("followup:questionnaire", args=[token])
    EmailMessage(
        subject=f"Your check-in questionnaire - {settings.SPINEPATH_CLINIC_NAME}",
        body=_reminder_text(visit, url, ReminderSent.WINDOW_OPEN, visit.closes),
        to=[visit.patient.email],
    ).send()
    return visit.patient.email


def reminders_due(today: date) -> list[tuple[ReassessmentVisit, str]]:
    policy = clinic_policy()
    open_now = ReassessmentVisit.objects.filter(
        opens__lte=today, closes__gte=today, measurement__isnull=True
    ).select_related("patient")
    due = []
    for visit in open_now:
        if not visit.patient.email:
            continue
        due.append((visit, ReminderSent.WINDOW_OPEN))
        if (visit.closes - today).days <= policy.reminder_before_close_days:
            due.append((visit, ReminderSent.CLOSING_SOON))
    return due


def send_reminders(*, today: date | None = None, base_url: str) -> tuple[int, int]:
    """Send every reminder that is due and not sent yet. Safe to run as often as you like and
    in parallel: a reminder is claimed by inserting its unique row before the email is sent, in
    one transaction, so a second runner either waits and finds it or fails to insert it."""
    today = today or timezone.localdate()
    sent = skipped = 0
    for visit, kind in reminders_due(today):
        if ReminderSent.objects.filter(visit=visit, kind=kind).exists():
            skipped += 1
            continue
        try:
            with transaction.atomic():
                ReminderSent.objects.create(visit=visit, kind=kind, to_address=visit.patient.email)
                token = questionnaire_link_create(visit=visit)
                url = base_url.rstrip("/") + reverse("followup:questionnaire", args=[token])
                EmailMessage(
                    subject=f"Your check-in questionnaire - {settings.SPINEPATH_CLINIC_NAME}",
                    body=_reminder_text(visit, url, kind, visit.closes),
                    to=[visit.patient.email],
                ).send()
        except IntegrityError:
            skipped += 1
            continue
        sent += 1
    return sent, skipped


def open_item_count(today: date) -> int:
    """Visits in their window without a measurement: what coordinators still have to chase."""
    return ReassessmentVisit.objects.filter(
        opens__lte=today, closes__gte=today, measurement__isnull=True
    ).count()
