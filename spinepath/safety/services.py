"""Adverse events: the patients' safety answers, their review, and the events clinicians record
(PATHWAY.md section 10).

- :func:`answers_from_patient` and :func:`answers_entered` keep a patient's answers to the
  safety questions, once per form; a worrying answer waits for a clinician's review.
- :func:`answers_review` is a clinician's review of worrying answers that found no event;
  :func:`event_record` records an event (from the answers or not), which reviews them too.
- :func:`event_amend` adds a version (never edits one), :func:`event_in_error` marks an event
  entered in error; nothing is deleted.
- :func:`filing_record` records the report sent to the FDA for a reportable reaction.
- :func:`reintervention_record` records a surgery or an injection elsewhere at a treated level
  (it fails the trials' composite endpoint), :func:`reintervention_in_error` marks one entered
  in error.

Grading, seriousness and relatedness are a clinician's (the ``adverse_event`` fact); the rules
of what a version must say are :func:`spinepath.pathway.safety.event_problems`. Any staff member
records a re-intervention (the ``reintervention`` fact).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from spinepath.actions import action, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.consultations.models import SIDE_CHOICES
from spinepath.errors import Conflict, Invalid, NotAllowed, NotAvailable
from spinepath.pathway.authority import kept_by_clinician, may_change
from spinepath.pathway.safety import (
    QUESTION_BY_KEY,
    EventFacts,
    event_problems,
    reportable,
    safety_advice,
    safety_problem,
)
from spinepath.pathway.safety_outcomes import reintervention_problems
from spinepath.patients.models import Patient
from spinepath.plans.models import Procedure
from spinepath.safety.models import (
    AdverseEvent,
    EventFiling,
    EventVersion,
    Reintervention,
    SafetyReport,
)
from spinepath.safety.selectors import site_of

SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
TEXT_MAX = 4000
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./_-]{2,79}")


def checked_key(submission_key: str | None) -> str | None:
    if submission_key is None:
        return None
    if not SUBMISSION_KEY.fullmatch(submission_key):
        raise Invalid("This form has no valid submission key: reload the page and try again.")
    return submission_key


def _text(value: str, field: str, label: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        message = f"Enter {label}."
        raise Invalid(message, fields={field: message})
    if len(value) > TEXT_MAX:
        message = f"Keep {label} under {TEXT_MAX} characters."
        raise Invalid(message, fields={field: message})
    return value


# --- The patient's answers --------------------------------------------------------------------


def _answers_keep(
    *,
    actor: Actor,
    patient: Patient,
    answers: Mapping[str, bool | None],
    source: str,
    answered_on: date,
    visit_label: str,
    details: str,
    submission_key: str | None,
    entered_by: object = None,
) -> SafetyReport:
    key = checked_key(submission_key)
    problems = safety_problem(answers)
    if problems:
        raise Invalid(list(problems.values()), fields=problems)
    details = _text(details, "safety_details", "what you would like to add")
    if key is not None:
        earlier = SafetyReport.objects.filter(submission_key=key).first()
        if earlier is not None:
            if earlier.patient_id != patient.pk:
                raise Conflict("This form was already used for another patient: open a new form.")
            return earlier
    advice = safety_advice(answers)
    kept = {k: bool(answers[k]) for k in QUESTION_BY_KEY}
    try:
        with transaction.atomic():
            report = SafetyReport.objects.create(
                patient=patient,
                answered_on=answered_on,
                answers=kept,
                worrying=advice is not None,
                urgency=advice.urgency if advice else "",
                source=source,
                visit_label=visit_label,
                details=details,
                submission_key=key,
                entered_by=entered_by,
            )
    except IntegrityError:
        # The same form committed in parallel: its answers are the ones.
        return SafetyReport.objects.get(submission_key=key)
    said = ", ".join(advice.findings) if advice else "nothing worrying"
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"safety answers ({report.get_source_display()}): {said}",
        patient=patient,
    )
    return report


@action(None)
def answers_from_patient(
    *,
    actor: Actor,
    patient: Patient,
    answers: Mapping[str, bool | None],
    source: str,
    visit_label: str = "",
    details: str = "",
    submission_key: str | None = None,
) -> SafetyReport:
    """A patient's own answers, from a follow-up questionnaire, their own pages or the API.
    The caller has established that the patient (or their single-use link) is acting."""
    if source not in (SafetyReport.QUESTIONNAIRE, SafetyReport.OWN_PAGES, SafetyReport.API):
        raise Invalid("Unknown source of safety answers.")
    return _answers_keep(
        actor=actor,
        patient=patient,
        answers=answers,
        source=source,
        answered_on=today_of_write(),
        visit_label=visit_label,
        details=details,
        submission_key=submission_key,
    )


@action("safety_answers")
def answers_entered(
    *,
    actor: Actor,
    patient: Patient,
    answers: Mapping[str, bool | None],
    answered_on: date,
    visit_label: str = "",
    details: str = "",
    submission_key: str | None = None,
) -> SafetyReport:
    """Answers a patient gave on paper or by telephone, entered by staff."""
    if answered_on > today_of_write():
        message = "The date is in the future."
        raise Invalid(message, fields={"answered_on": message})
    return _answers_keep(
        actor=actor,
        patient=patient,
        answers=answers,
        source=SafetyReport.PAPER,
        answered_on=answered_on,
        visit_label=visit_label,
        details=details,
        submission_key=submission_key,
        entered_by=actor.user,
    )


def _open_report(report_id: int, patient: Patient | None = None) -> SafetyReport:
    report = SafetyReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None or (patient is not None and report.patient_id != patient.pk):
        raise NotAvailable("There are no such safety answers for this patient.")
    return report


@action("safety_review")
def answers_review(*, actor: Actor, report_id: int, note: str) -> SafetyReport:
    """A clinician reviewed worrying answers and found no adverse event (the note says what was
    done: a call, advice). Reviewing twice reviews once."""
    note = _text(note, "note", "what you found and did", required=True)
    report = _open_report(report_id)
    if report.reviewed_at is not None:
        return report
    if not report.worrying:
        raise Conflict("These answers hold nothing worrying: there is nothing to review.")
    report.reviewed_at = timezone.now()
    report.reviewed_by = actor.user
    report.review_outcome = SafetyReport.NO_EVENT
    report.review_note = note
    report.save(update_fields=["reviewed_at", "reviewed_by", "review_outcome", "review_note"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what="safety answers reviewed: no adverse event",
        patient=report.patient_id,
    )
    return report


# --- Adverse events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventInput:
    """What the event form says: the facts, and the free-text description."""

    facts: EventFacts
    description: str = ""


def _version_values(entry: EventInput) -> dict[str, object]:
    facts = entry.facts
    return {
        "term": facts.term.strip(),
        "description": _text(entry.description, "description", "the description"),
        "onset_on": facts.onset_on,
        "grade": facts.grade,
        "serious_criteria": sorted(facts.serious_criteria),
        "related_procedure": facts.related_procedure,
        "related_product": facts.related_product,
        "expected": facts.expected,
        "action": facts.action,
        "outcome": facts.outcome,
        "resolved_on": facts.resolved_on,
    }


def _check(entry: EventInput, procedure: Procedure | None) -> None:
    problems = event_problems(
        entry.facts,
        today=today_of_write(),
        injected_on=procedure.performed_on if procedure is not None else None,
    )
    if problems:
        raise Invalid(list(dict.fromkeys(problems.values())), fields=problems)


@action("adverse_event")
def event_record(
    *,
    actor: Actor,
    patient: Patient,
    entry: EventInput,
    aware_on: date,
    procedure_id: int | None = None,
    report_id: int | None = None,
    submission_key: str | None = None,
) -> AdverseEvent:
    """A clinician records an adverse event: after which injection, found from which answers,
    graded. Answers it was found from are reviewed by it. Once per form."""
    key = checked_key(submission_key)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if key is not None:
        earlier = AdverseEvent.objects.filter(submission_key=key).first()
        if earlier is not None:
            if earlier.patient_id != patient.pk:
                raise Conflict("This form was already used for another patient: open a new form.")
            return earlier
    procedure = None
    if procedure_id is not None:
        procedure = Procedure.objects.filter(pk=procedure_id, patient=patient).first()
        if procedure is None or procedure.is_voided:
            message = "Choose one of this patient's injections (not a voided entry)."
            raise Invalid(message, fields={"procedure": message})
    if aware_on > today_of_write():
        message = "The day the clinic learned of the event cannot be in the future."
        raise Invalid(message, fields={"aware_on": message})
    _check(entry, procedure)
    if entry.facts.onset_on is not None and aware_on < entry.facts.onset_on:
        message = "The clinic cannot learn of the event before it began."
        raise Invalid(message, fields={"aware_on": message})
    report = _open_report(report_id, patient) if report_id is not None else None
    event = AdverseEvent.objects.create(
        patient=patient,
        procedure=procedure,
        report=report,
        aware_on=aware_on,
        reportable_since=aware_on if reportable(entry.facts) else None,
        created_by=actor.user,
        submission_key=key,
    )
    EventVersion.objects.create(
        event=event, number=1, recorded_by=actor.user, **_version_values(entry)
    )
    if report is not None and report.reviewed_at is None:
        report.reviewed_at = timezone.now()
        report.reviewed_by = actor.user
        report.review_outcome = SafetyReport.EVENT
        report.review_note = f"Recorded as adverse event #{event.pk}: {entry.facts.term.strip()}"
        report.save(update_fields=["reviewed_at", "reviewed_by", "review_outcome", "review_note"])
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"adverse event #{event.pk} {entry.facts.term.strip()} (grade {entry.facts.grade})",
        patient=patient,
    )
    return event


def _event_for_change(event_id: int) -> tuple[AdverseEvent, EventVersion]:
    event = AdverseEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotAvailable("There is no such adverse event.")
    Patient.objects.select_for_update().filter(pk=event.patient_id).first()
    event = (
        AdverseEvent.objects.select_for_update(of=("self",))
        .select_related("procedure")
        .get(pk=event_id)
    )
    latest = event.versions.order_by("-number").first()
    assert latest is not None
    return event, latest


@action("adverse_event")
def event_amend(
    *, actor: Actor, event_id: int, entry: EventInput, based_on: int, reason: str
) -> EventVersion:
    """A new version of an event, with the reason. ``based_on`` is the version the clinician
    read: a version added since is not overwritten. The same version twice adds one."""
    event, latest = _event_for_change(event_id)
    if event.in_error:
        raise Conflict("This event was marked entered in error: it is no longer changed.")
    values = _version_values(entry)
    same = all(getattr(latest, k) == v for k, v in values.items())
    if based_on == latest.number - 1 and same:
        return latest  # the second click of a double submission
    if based_on != latest.number:
        raise Conflict(
            f"Version {latest.number} of this event was recorded since this page was opened: "
            "read it, then make your change.",
            code="event_changed",
        )
    if same:
        message = "Nothing was changed: this is the event as recorded."
        raise Invalid(message, fields={"reason": message})
    reason = _text(reason, "reason", "the reason for the change", required=True)
    _check(entry, event.procedure)
    if entry.facts.onset_on is not None and event.aware_on < entry.facts.onset_on:
        message = f"The clinic learned of the event on {event.aware_on}, before this onset."
        raise Invalid(message, fields={"onset_on": message})
    version = EventVersion.objects.create(
        event=event,
        number=latest.number + 1,
        recorded_by=actor.user,
        change_reason=reason,
        **values,
    )
    if event.reportable_since is None and reportable(entry.facts):
        # The day a clinician first judged it a reportable reaction starts the clock.
        event.reportable_since = today_of_write()
        event.save(update_fields=["reportable_since"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"adverse event #{event.pk} version {version.number}: {reason}",
        patient=event.patient_id,
    )
    return version


@action("adverse_event")
def event_in_error(*, actor: Actor, event_id: int, reason: str) -> AdverseEvent:
    """Mark an event entered in error, with the reason: it stays on the record, struck
    through, and leaves the safety figures. Twice marks once."""
    reason = _text(reason, "reason", "why this event was entered in error", required=True)
    event, _latest = _event_for_change(event_id)
    if event.in_error:
        return event
    if event.filings.exists():
        raise Conflict(
            "A report of this event was filed with the FDA: record a follow-up report that "
            "withdraws it rather than marking the event entered in error."
        )
    event.in_error_at = timezone.now()
    event.in_error_by = actor.user
    event.in_error_reason = reason
    event.save(update_fields=["in_error_at", "in_error_by", "in_error_reason"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"adverse event #{event.pk} entered in error: {reason}",
        patient=event.patient_id,
    )
    return event


@action("safety_filing")
def filing_record(
    *, actor: Actor, event_id: int, kind: str, filed_on: date, method: str, reference: str
) -> EventFiling:
    """Record the report filed with the FDA for a reportable reaction (MedWatch 3500A)."""
    event, latest = _event_for_change(event_id)
    if event.in_error:
        raise Conflict("This event was marked entered in error.")
    if event.reportable_since is None:
        raise NotAllowed(
            "This event is not a reportable adverse reaction (serious and related to the "
            "product): there is no report to file."
        )
    problems: dict[str, str] = {}
    if kind not in dict(EventFiling.KINDS):
        problems["kind"] = "Choose an initial or a follow-up report."
    if method not in dict(EventFiling.METHODS):
        problems["method"] = "Choose how the report was filed."
    if filed_on > today_of_write():
        problems["filed_on"] = "The date is in the future."
    elif filed_on < event.aware_on:
        problems["filed_on"] = f"The clinic learned of the event on {event.aware_on}."
    reference = reference.strip()
    if not REFERENCE.fullmatch(reference):
        problems["reference"] = (
            "Enter the report or acknowledgement number (3-80 letters, digits, '-', '/' or '.')."
        )
    if problems:
        raise Invalid(list(problems.values()), fields=problems)
    same = event.filings.filter(kind=kind, reference=reference, filed_on=filed_on).first()
    if same is not None:
        return same  # the second click of a double submission
    initial = event.filings.filter(kind=EventFiling.INITIAL).first()
    if kind == EventFiling.INITIAL and initial is not None:
        raise Conflict(f"The initial report was recorded already, on {initial.filed_on}.")
    if kind == EventFiling.FOLLOW_UP and initial is None:
        message = "Record the initial report first."
        raise Invalid(message, fields={"kind": message})
    filing = EventFiling.objects.create(
        event=event,
        kind=kind,
        filed_on=filed_on,
        method=method,
        reference=reference,
        version_number=latest.number,
        recorded_by=actor.user,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"adverse event #{event.pk}: {filing.get_kind_display().lower()} filed {filed_on}",
        patient=event.patient_id,
    )
    return filing


# --- Re-interventions at a treated level ------------------------------------------------------


@action("reintervention")
def reintervention_record(
    *,
    actor: Actor,
    patient: Patient,
    procedure_id: int | None,
    kind: str,
    performed_on: date | None,
    level: str,
    side: str,
    description: str,
    source: str,
    submission_key: str | None = None,
) -> Reintervention:
    """Record a spine surgery or an injection elsewhere at the level the injection
    ``procedure_id`` treated (PATHWAY.md section 10), as a document says or the patient
    reports it. Once per form. The rules of what it must say are
    :func:`spinepath.pathway.safety_outcomes.reintervention_problems`; the clinic's own
    injections are never typed here (they count from the procedure records)."""
    key = checked_key(submission_key)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if key is not None:
        earlier = Reintervention.objects.filter(submission_key=key).first()
        if earlier is not None:
            if earlier.patient_id != patient.pk:
                raise Conflict("This form was already used for another patient: open a new form.")
            return earlier
    procedure = None
    if procedure_id is not None:
        procedure = (
            Procedure.objects.select_related("plan")
            .filter(pk=procedure_id, patient=patient)
            .first()
        )
    if procedure is None or procedure.is_voided:
        message = "Choose the treated injection (one of this patient's, not a voided entry)."
        raise Invalid(message, fields={"procedure": message})
    problems = reintervention_problems(
        site_of(procedure),
        kind=kind,
        performed_on=performed_on,
        level=level or None,
        today=today_of_write(),
    )
    if source not in dict(Reintervention.SOURCES):
        problems["source"] = "Say where this comes from: a document, or the patient's report."
    if side and side not in dict(SIDE_CHOICES):
        problems["side"] = "Choose left, right or both sides (or leave it empty)."
    if not description.strip():
        problems["description"] = "Say what was done, where and by whom, as far as known."
    elif len(description.strip()) > TEXT_MAX:
        problems["description"] = f"Keep the description under {TEXT_MAX} characters."
    if (
        kind == Reintervention.INJECTION
        and performed_on is not None
        and not {"kind", "performed_on"} & problems.keys()
    ):
        ours = Procedure.objects.not_voided().filter(patient=patient, performed_on=performed_on)
        ours = ours.filter(level=level) if level else ours.filter(generator=procedure.generator)
        if ours.exists():
            problems["kind"] = (
                f"The clinic's own injection of {performed_on} is in its procedure records: it "
                "counts as a re-intervention by itself. Record here only surgery, or an "
                "injection given elsewhere."
            )
    if problems:
        raise Invalid(list(dict.fromkeys(problems.values())), fields=problems)
    assert performed_on is not None  # reintervention_problems named it otherwise
    try:
        with transaction.atomic():
            record = Reintervention.objects.create(
                patient=patient,
                procedure=procedure,
                kind=kind,
                performed_on=performed_on,
                level=level,
                side=side,
                description=description.strip(),
                source=source,
                recorded_by=actor.user,
                recorded_role=actor.stating_role,
                submission_key=key,
            )
    except IntegrityError:
        # The same form committed in parallel: its record is the one.
        return Reintervention.objects.get(submission_key=key)
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=(
            f"re-intervention #{record.pk}: {record.get_kind_display().lower()} {performed_on}"
            f"{' at ' + level if level else ''} after the injection of {procedure.performed_on}"
        ),
        patient=patient,
    )
    return record


@action("reintervention")
def reintervention_in_error(*, actor: Actor, reintervention_id: int, reason: str) -> Reintervention:
    """Mark a re-intervention entered in error, with the reason: it stays on the record, struck
    through, and no longer fails the composite. What a clinician recorded only a clinician
    marks. Twice marks once."""
    reason = _text(reason, "reason", "why this was entered in error", required=True)
    record = Reintervention.objects.filter(pk=reintervention_id).first()
    if record is None:
        raise NotAvailable("There is no such re-intervention.")
    Patient.objects.select_for_update().filter(pk=record.patient_id).first()
    record = Reintervention.objects.select_for_update().get(pk=reintervention_id)
    if record.in_error:
        return record
    if not may_change(actor.roles, "reintervention", record.recorded_role):
        raise NotAllowed(kept_by_clinician("reintervention"), code="kept_by_clinician")
    record.in_error_at = timezone.now()
    record.in_error_by = actor.user
    record.in_error_reason = reason
    record.save(update_fields=["in_error_at", "in_error_by", "in_error_reason"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"re-intervention #{record.pk} entered in error: {reason}",
        patient=record.patient_id,
    )
    return record
