"""Follow-up writes: the schedule after the injections, questionnaire links and answers,
reminders.

Scores always come from the domain instruments (spinepath.pathway.instruments), windows from
the schedule (spinepath.pathway.schedule). A reassessment counts in the clinic's outcomes only
when measured inside its window: a link is issued only for a window it can reach and answers
only inside it; what staff enter outside it is kept and flagged (PATHWAY.md section 7).
Emails leave after the commit (:func:`spinepath.actions.after_commit`): a mail failure never
undoes a write, and a rolled-back write sends nothing.

Every write takes ``actor=``: staff need the fact of the authority table (a questionnaire link,
a paper questionnaire, a visit's notes); a patient issues a link only for their own visit; the
clinic's own reminders and an app writing through the FHIR API issue links too; answers are
stored by whoever holds the single-use link.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from spinepath.actions import action, after_commit, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAllowed, Refused
from spinepath.followup.models import (
    OutcomeMeasurement,
    QuestionnaireLink,
    ReassessmentVisit,
    ReminderStep,
)
from spinepath.followup.schedule import response_values, visit_response
from spinepath.followup.selectors import answered_after_step
from spinepath.pathway.ichom import LbpAnswers, lbp_problems
from spinepath.pathway.instruments import (
    odi_score,
    pain_from_nrs,
    pain_from_vas,
)
from spinepath.pathway.safety import safety_problem
from spinepath.pathway.schedule import (
    answer_window_problem,
    link_window_problem,
)
from spinepath.patients.services import contact_hold_problem
from spinepath.safety.models import SafetyReport
from spinepath.safety.services import answers_entered, answers_from_patient
from spinepath.web.policy import clinic_policy

logger = logging.getLogger(__name__)

ALREADY_IN = "Thank you - your answers for this check-in are already in."
NOT_VALID = "This link is not valid. Please use the link in your latest message."
NO_COURSE_LINK = (
    "This check-in is no longer needed: the clinic corrected its records. Please call the "
    "clinic if you have questions."
)


# --- Questionnaire links --------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_problem(visit: ReassessmentVisit, today: date | None = None) -> str | None:
    """Why no link may be issued for ``visit`` today; None when one may."""
    if OutcomeMeasurement.objects.filter(visit=visit).exists():
        return "This visit already has its measurement."
    if visit.injected_on is None:
        return "This visit belongs to no course of treatment: its injection was voided."
    return link_window_problem(
        visit.window,
        visit.label,
        today or today_of_write(),
        clinic_policy().questionnaire_link_days,
    )


def _may_issue_link(actor: Actor, visit: ReassessmentVisit) -> None:
    """Who may issue a questionnaire link: staff whose role may (the authority table), the
    patient for their own visit, the clinic's own reminders (a job, the command line) and an
    app storing answers through the FHIR API (its token granted write)."""
    if actor.channel == "patient":
        if actor.patient_id != visit.patient_id:
            raise NotAllowed("Only your own check-ins have links here.", code="not_own_visit")
    elif actor.channel not in ("system", "command_line", "api"):
        actor.require("questionnaire_link")


def _new_link(
    visit: ReassessmentVisit,
    created_by: User | None,
    today: date | None,
    expires_at: datetime | None = None,
) -> str:
    """A new single-use link for ``visit``; returns the token (shown once, never stored).
    Only for a window that is open or opens within the link's lifetime. A letter's link lasts
    until the window closes (``expires_at``): the post takes days."""
    problem = link_problem(visit, today)
    if problem is not None:
        raise Conflict(problem)
    token = secrets.token_urlsafe(32)
    QuestionnaireLink.objects.create(
        visit=visit,
        token_hash=_hash(token),
        expires_at=expires_at
        or timezone.now() + timedelta(days=clinic_policy().questionnaire_link_days),
        created_by=created_by,
    )
    return token


@action(None)
def questionnaire_link_create(
    *, actor: Actor, visit: ReassessmentVisit, today: date | None = None
) -> str:
    """A new single-use link for ``visit``, shown once to hand over; returns the token (never
    stored). Only for a window that is open or opens within the link's lifetime."""
    _may_issue_link(actor, visit)
    if actor.channel == "staff":
        # A link handed over by staff answers as the patient: not while a change of the
        # patient's contact details made by staff waits for the patient's confirmation.
        held = contact_hold_problem(visit.patient)
        if held is not None:
            raise Conflict(held, code="contact_held")
    token = _new_link(visit, actor.user, today)
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"questionnaire link {visit.label} created",
        patient=visit.patient_id,
    )
    return token


class LinkProblem(Refused):
    """Why a questionnaire link cannot be used, in words for the person holding it (the
    patient's page shows it; 410 once the link or its window is over, 409 before it opens)."""

    title = "Check-in"

    def __init__(self, message: str, status: int = 410) -> None:
        super().__init__(message)
        self.status = status


def link_unused(token: str) -> bool:
    """Whether ``token`` names a link not used yet: one small read, so that answers posted to a
    made-up or used link never begin a write (a write takes the database's write lock, and
    the page answers anyone). :func:`link_for` says why a link cannot be used."""
    if not token or len(token) > 100:
        return False
    return QuestionnaireLink.objects.filter(token_hash=_hash(token), used_at__isnull=True).exists()


def link_for(token: str, *, lock: bool = False) -> QuestionnaireLink:
    """The link behind ``token``, usable today; otherwise why not. Outside its visit's window a
    link answers nothing: the page says when the window is. One query, with its visit, the
    patient and whether the visit is answered; ``lock``: the link's row is locked until the
    transaction ends (a write that uses it), so two submissions of one link run one after the
    other and the second finds it used."""
    if not token or len(token) > 100:
        raise LinkProblem(NOT_VALID)
    links = (
        QuestionnaireLink.objects.select_related("visit", "visit__patient")
        .annotate(answered=Exists(OutcomeMeasurement.objects.filter(visit=OuterRef("visit"))))
        .filter(token_hash=_hash(token))
    )
    if lock:
        links = links.select_for_update(of=("self",))
    link = next(iter(links[:1]), None)
    if link is None:
        raise LinkProblem(NOT_VALID)
    if link.used_at is not None or link.answered:
        raise LinkProblem(ALREADY_IN)
    if link.visit.injected_on is None:
        raise LinkProblem(NO_COURSE_LINK, status=410)
    if link.expires_at < timezone.now() and today_of_write() <= link.visit.closes:
        phone = settings.SPINEPATH_CLINIC_PHONE
        raise LinkProblem(
            "This link has expired. You can still answer: sign in to your page at the clinic "
            "(My questionnaires), or call the clinic"
            + (f" on {phone}" if phone else "")
            + " and answer on the phone."
        )
    today = today_of_write()
    problem = answer_window_problem(link.visit.window, today)
    if problem is not None:
        raise LinkProblem(problem, status=409 if today < link.visit.opens else 410)
    return link


@dataclass(frozen=True)
class Answers:
    pain: float | None
    pain_scale: str
    odi_sections: list[int | None]
    # The safety questions' answers by key (PATHWAY.md section 10); None: not asked (a
    # client of the API that does not send them, an old paper form).
    safety: Mapping[str, bool | None] | None = None
    # The ICHOM low back pain measures (PATHWAY.md section 11); None: not asked. Each value
    # may be None (not answered): the patient's own page asks every one, a paper form keeps
    # what was written.
    lbp: LbpAnswers | None = None


def _measurement(
    visit: ReassessmentVisit,
    answers: Answers,
    measured_on: date,
    source: str,
    entered_by: User | None,
    outside_window: bool = False,
) -> OutcomeMeasurement:
    policy = clinic_policy()
    errors: dict[str, str] = {}
    pain = None
    if answers.pain is not None:
        try:
            pain = (pain_from_nrs if answers.pain_scale == "nrs" else pain_from_vas)(answers.pain)
        except ValueError as exc:
            errors["pain"] = str(exc)
    odi = None
    try:
        odi = odi_score(answers.odi_sections, policy)
    except ValueError as exc:
        errors["odi"] = str(exc)
    if pain is None and "pain" not in errors:
        errors["pain"] = "Please give your pain score."
    if answers.safety is not None:
        errors.update(safety_problem(answers.safety))
    lbp = answers.lbp or LbpAnswers()
    errors.update(lbp_problems(lbp))
    if errors or pain is None or odi is None:
        raise Invalid(list(errors.values()), fields=errors)
    return OutcomeMeasurement.objects.create(
        **response_values(visit_response(visit, pain, odi)),
        patient=visit.patient,
        visit=visit,
        measured_on=measured_on,
        pain_scale=pain.scale,
        pain_raw=pain.raw,
        pain_vas=pain.value_mm,
        odi_sections=answers.odi_sections,
        odi_score=odi.score,
        back_pain_nrs=lbp.back_pain_nrs,
        leg_pain_nrs=lbp.leg_pain_nrs,
        work_status=lbp.work_status or "",
        analgesic_use=lbp.analgesic_use or "",
        opioid_use=lbp.opioid_use,
        source=source,
        outside_window=outside_window,
        entered_by=entered_by,
        answered_after_step=answered_after_step(visit, measured_on),
    )


# How the audit log names where a patient's answers came from, by who sent them.
ANSWERED_THROUGH = {"api": "FHIR API", "patient": "patient's own pages"}


@action(None)
def questionnaire_submit(*, actor: Actor, token: str, answers: Answers) -> OutcomeMeasurement:
    """Save a patient's answers once, inside the visit's window: whoever holds the single-use
    link may. A second submission of the same link, or one outside the window, is refused and
    nothing is stored."""
    link = link_for(token, lock=True)
    try:
        with transaction.atomic():
            measurement = _measurement(
                link.visit, answers, today_of_write(), OutcomeMeasurement.PATIENT_LINK, None
            )
    except IntegrityError:
        raise LinkProblem(ALREADY_IN) from None
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    if answers.safety is not None:
        answers_from_patient(
            actor=actor,
            patient=link.visit.patient,
            answers=answers.safety,
            source=SafetyReport.API if actor.channel == "api" else SafetyReport.QUESTIONNAIRE,
            visit_label=link.visit.label,
        )
    through = ANSWERED_THROUGH.get(actor.channel, "patient link")
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"questionnaire {link.visit.label} ({through})",
        patient=link.visit.patient_id,
    )
    return measurement


@action("paper_questionnaire")
def paper_form_enter(
    *,
    actor: Actor,
    visit: ReassessmentVisit,
    answers: Answers,
    measured_on: date,
    outside_window_confirmed: bool = False,
    source: str = OutcomeMeasurement.PAPER,
) -> OutcomeMeasurement:
    """Staff enter a paper form, or the answers a patient gave on a reminder call (``source``
    phone: the call's task closes as answered). Answers dated outside the visit's window (a
    late arrival) are kept only when that is confirmed, flagged, and left out of the clinic's
    outcomes."""
    if source not in (OutcomeMeasurement.PAPER, OutcomeMeasurement.PHONE):
        message = "Choose how the answers were given: on paper or on the phone."
        raise Invalid(message, fields={"source": message})
    visit = ReassessmentVisit.objects.select_for_update().get(pk=visit.pk)
    if OutcomeMeasurement.objects.filter(visit=visit).exists():
        raise Conflict("This visit already has its measurement.")
    if measured_on > today_of_write():
        message = "The date is in the future."
        raise Invalid(message, fields={"measured_on": message})
    injected = visit.anchor.performed_on
    if measured_on < injected:
        message = f"The date is before the injection of {injected} this visit follows."
        raise Invalid(message, fields={"measured_on": message})
    outside = not visit.window.contains(measured_on)
    if outside and not outside_window_confirmed:
        message = (
            f"{measured_on} is outside the {visit.label} window ({visit.window.text}). To keep "
            "these answers anyway, confirm it below: they are stored flagged 'outside window' "
            "and do not count in the clinic's outcomes."
        )
        raise Invalid(message, fields={"confirm_outside_window": message})
    try:
        with transaction.atomic():
            measurement = _measurement(
                visit,
                answers,
                measured_on,
                source,
                actor.user,
                outside_window=outside,
            )
    except IntegrityError:
        # The patient's own answers arrived meanwhile (their link does not lock the visit).
        raise Conflict("This visit already has its measurement.") from None
    if answers.safety is not None:
        answers_entered(
            actor=actor,
            patient=visit.patient,
            answers=answers.safety,
            answered_on=measured_on,
            visit_label=visit.label,
        )
    if source == OutcomeMeasurement.PHONE:
        # The reminder call that got these answers is done.
        ReminderStep.objects.filter(visit=visit, channel=ReminderStep.CALL, call_outcome="").update(
            call_outcome=ReminderStep.ANSWERED,
            call_by=actor.user,
            call_at=timezone.now(),
            updated_at=timezone.now(),
        )
    flag = " (outside window)" if outside else ""
    how = "paper" if source == OutcomeMeasurement.PAPER else "telephone"
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"{how} questionnaire {visit.label}{flag}",
        patient=visit.patient_id,
    )
    return measurement


@action("visit_notes")
def visit_notes_save(
    *,
    actor: Actor,
    visit: ReassessmentVisit,
    functional_notes: str,
    repeat_imaging: bool,
) -> ReassessmentVisit:
    visit.functional_notes = functional_notes
    visit.repeat_imaging = repeat_imaging
    visit.save(update_fields=["functional_notes", "repeat_imaging"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"reassessment {visit.label}: notes",
        patient=visit.patient_id,
    )
    return visit


# --- Emails and reminders -------------------------------------------------------------------


def _questionnaire_email(visit: ReassessmentVisit, token: str, base_url: str) -> EmailMessage:
    # No name, diagnosis or treatment in the message: only what the person needs to act.
    clinic = settings.SPINEPATH_CLINIC_NAME
    url = base_url.rstrip("/") + reverse("followup:questionnaire", args=[token])
    body = (
        f"Hello,\n\nIt is time for your check-in questionnaire. It takes about five minutes: "
        f"how much pain you have and how it affects daily activities.\n\n{url}\n\nThe link "
        f"works once and expires in {clinic_policy().questionnaire_link_days} days.\n\n"
        f"{clinic}\n"
    )
    return EmailMessage(
        subject=f"Your check-in questionnaire - {clinic}", body=body, to=[visit.patient.email]
    )


@action("questionnaire_link")
def questionnaire_link_send(
    *, actor: Actor, visit: ReassessmentVisit, base_url: str | None = None
) -> str:
    """Email the patient a new link for ``visit``; returns the address it goes to. The email
    leaves once the link is stored. The link is on the clinic's configured address
    (SPINEPATH_BASE_URL, or ``base_url`` given by an operator), never a request's host."""
    if not visit.patient.email:
        raise Invalid("The patient has no email address on file.")
    held = contact_hold_problem(visit.patient)
    if held is not None:
        raise Conflict(held, code="contact_held")
    token = _new_link(visit, actor.user, None)
    message = _questionnaire_email(visit, token, base_url or settings.SPINEPATH_BASE_URL)
    after_commit(message.send)
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"questionnaire link {visit.label} emailed",
        patient=visit.patient_id,
    )
    return str(visit.patient.email)


def open_item_count(today: date) -> int:
    """Visits in their window without a measurement: what coordinators still have to chase
    (on every staff page: counted once per change of the visits' tables and per day)."""
    from spinepath.followup.cache import versioned

    return versioned(
        "open-items",
        today,
        # As the worklist counts them: a visit whose injection was voided is no longer chased.
        lambda: ReassessmentVisit.objects.filter(
            opens__lte=today, closes__gte=today, measurement__isnull=True, injected_on__isnull=False
        ).count(),
    )
