"""The reminder ladder's writes (PATHWAY.md section 11): ``spinepath send-reminders`` climbs
every open visit's ladder by one move at a time, and staff record a call's outcome and print
the letters.

The rules are pure (:mod:`spinepath.pathway.reminders`); here each move is recorded as a
:class:`ReminderStep`, whose unique (visit, step) row is the claim: two runners at once, or a
run repeated, take each step once. A message leaves after its claim is committed, and its
outcome is written back: a text the provider refused, or that timed out, is ``failed`` and the
ladder moves on; a mail server or provider that was busy leaves the step to try again until
the next step's day. Every move is audited.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from spinepath.actions import action, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid
from spinepath.followup.models import ReassessmentVisit, ReminderStep
from spinepath.followup.services import _may_issue_link, _new_link
from spinepath.followup.sms import send_sms, sms_configured
from spinepath.pathway import reminders as ladder
from spinepath.patients.models import Patient
from spinepath.patients.phones import readable
from spinepath.web.policy import clinic_policy

logger = logging.getLogger(__name__)


def _day(day: date) -> str:
    return f"{day:%d %B %Y}".lstrip("0")


@dataclass
class LadderRun:
    """What one run did, counted by step key and by what became of it."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, what: str) -> None:
        self.counts[what] += 1

    @property
    def text(self) -> str:
        if not self.counts:
            return "nothing to do"
        return ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))


# --- The job --------------------------------------------------------------------------------


def _reach(patient: Patient) -> ladder.Reach:
    reach = ladder.reach(
        email=patient.email,
        phone_e164=patient.phone if patient.phone.startswith("+") else "",
        phone_wrong=patient.phone_wrong_at is not None,
        has_address=patient.has_postal_address,
        chosen=patient.reminder_choices,
    )
    if not sms_configured() and ladder.SMS not in reach.refusals:
        reach = ladder.Reach({**reach.refusals, ladder.SMS: "the clinic sends no text messages"})
    return reach


def _state(visit: ReassessmentVisit, rows: list[ReminderStep], today: date) -> ladder.VisitLadder:
    tried = [r.acted_on for r in rows if r.status in ladder.TRIED or r.status == ladder.RETRY]
    return ladder.VisitLadder(
        opens=visit.opens,
        closes=visit.closes,
        answered=False,
        done={r.step: r.status for r in rows},
        last_tried_on=max(tried) if tried else None,
        stopped=bool(visit.reminders_stopped),
    )


def _ladder_visits(today: date) -> list[ReassessmentVisit]:
    """The visits whose ladder runs today: open, unanswered, contact details not held; one per
    patient (when a clinic's windows overlap, the earlier visit rolls into the later one, so
    the patient is asked once)."""
    open_now = (
        ReassessmentVisit.objects.filter(
            opens__lte=today, closes__gte=today, measurement__isnull=True
        )
        .exclude(reminders_stopped__gt="")
        .select_related("patient")
        .order_by("patient_id", "-due", "-id")
    )
    chosen: dict[int, ReassessmentVisit] = {}
    for visit in open_now:
        if visit.patient.contact_held_at is not None:
            continue  # links wait for the patient to confirm details staff changed
        chosen.setdefault(visit.patient_id, visit)
    return list(chosen.values())


def send_reminders(
    *,
    actor: Actor,
    base_url: str,
    today: date | None = None,
    now: datetime | None = None,
) -> LadderRun:
    """Climb every open visit's ladder as far as today allows. Safe to run as often as you
    like and in parallel: each move is its own write, claimed by its unique row."""
    today = today or today_of_write()
    moment = timezone.localtime(now) if now is not None else timezone.localtime()
    policy = clinic_policy()
    quiet = policy.quiet_hours.contains(moment.time())
    visits = _ladder_visits(today)
    rows: dict[int, list[ReminderStep]] = defaultdict(list)
    for row in ReminderStep.objects.filter(visit__in=[v.pk for v in visits]).order_by(
        "position", "id"
    ):
        rows[row.visit_id].append(row)
    run = LadderRun()
    for visit in visits:
        reach = _reach(visit.patient)
        for _ in range(len(policy.reminder_steps) + 1):
            move = ladder.next_move(
                _state(visit, rows[visit.pk], today),
                policy.reminder_steps,
                reach,
                today,
                quiet,
                policy.reminder_max_steps,
            )
            if move is None:
                break
            row = _take(actor, visit, move, today, base_url)
            if row is None:
                run.add("already taken by another run")
                break
            rows[visit.pk] = [r for r in rows[visit.pk] if r.step != row.step] + [row]
            run.add(f"{move.step.key} {row.status}")
            if move.action == "send":
                break
    return run


def _take(
    actor: Actor, visit: ReassessmentVisit, move: ladder.Move, today: date, base_url: str
) -> ReminderStep | None:
    """Record one move and, for a message, send it once the claim is committed. None when
    another runner took the step first."""
    try:
        if move.action == "skip":
            return step_skip(actor=actor, visit=visit, move=move, today=today)
        if move.action == "give_up":
            return step_give_up(actor=actor, visit=visit, move=move)
        claimed, message = step_claim(
            actor=actor, visit=visit, move=move, today=today, base_url=base_url
        )
    except (IntegrityError, Conflict):
        return None
    if message is None:
        return claimed
    return _deliver(actor, claimed, message)


def _position(step: ladder.Step) -> int:
    keys = [s.key for s in clinic_policy().reminder_steps]
    return keys.index(step.key) if step.key in keys else len(keys)


@action(None)
def step_skip(
    *, actor: Actor, visit: ReassessmentVisit, move: ladder.Move, today: date
) -> ReminderStep:
    _may_issue_link(actor, visit)
    row = ReminderStep.objects.create(
        visit=visit,
        step=move.step.key,
        position=_position(move.step),
        channel=move.step.channel,
        status=ReminderStep.SKIPPED,
        detail=move.reason[:300],
        acted_on=today,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.CREATE,
        what=f"reminder {visit.label} {move.step.words} skipped: {move.reason}",
        patient=visit.patient_id,
    )
    return row


@action(None)
def step_give_up(*, actor: Actor, visit: ReassessmentVisit, move: ladder.Move) -> ReminderStep:
    _may_issue_link(actor, visit)
    row = ReminderStep.objects.select_for_update().get(visit=visit, step=move.step.key)
    if row.status != ReminderStep.RETRY:
        raise Conflict("This step was already settled by another run.")
    row.status = ReminderStep.FAILED
    row.detail = f"{row.detail}; {move.reason}"[:300]
    row.save(update_fields=["status", "detail", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"reminder {visit.label} {move.step.words} failed: {move.reason}",
        patient=visit.patient_id,
    )
    return row


@dataclass(frozen=True)
class Outgoing:
    channel: str
    to: str
    subject: str
    body: str


@action(None)
def step_claim(
    *, actor: Actor, visit: ReassessmentVisit, move: ladder.Move, today: date, base_url: str
) -> tuple[ReminderStep, Outgoing | None]:
    """Claim a step by its row (a second runner's insert fails; a step waiting to be tried
    again is claimed by changing its status from ``retry``) and prepare what leaves: an email
    or a text with a new link; a call task or a letter to print leave nothing now."""
    _may_issue_link(actor, visit)
    step = move.step
    patient = visit.patient
    to = {ladder.EMAIL: patient.email, ladder.SMS: patient.phone}.get(step.channel, "")
    waiting = ReminderStep.objects.filter(visit=visit, step=step.key, status=ReminderStep.RETRY)
    if waiting.exists():
        if not waiting.update(status=ReminderStep.CLAIMED, acted_on=today, to=to):
            raise Conflict("Another run claimed this step.")
        row = ReminderStep.objects.get(visit=visit, step=step.key)
    else:
        row = ReminderStep.objects.create(
            visit=visit,
            step=step.key,
            position=_position(step),
            channel=step.channel,
            status=ReminderStep.SENT
            if step.channel in (ladder.CALL, ladder.LETTER)
            else ReminderStep.CLAIMED,
            to=to,
            acted_on=today,
        )
    outgoing = None
    if step.channel in (ladder.EMAIL, ladder.SMS):
        token = _new_link(visit, actor.user, today)
        url = base_url.rstrip("/") + reverse("followup:questionnaire", args=[token])
        outgoing = _message(visit, step, url)
        what = f"reminder {visit.label} {step.words} with a questionnaire link"
    elif step.channel == ladder.CALL:
        what = f"reminder {visit.label}: a phone call for a coordinator"
    else:
        what = f"reminder {visit.label}: a letter to print and post"
    audit_record(actor=actor, action=AuditEvent.CREATE, what=what, patient=visit.patient_id)
    return row, outgoing


def _missed_before(visit: ReassessmentVisit) -> ReassessmentVisit | None:
    """The patient's visit before this one, if it was missed: this one is where it rolled."""
    earlier = (
        ReassessmentVisit.objects.filter(plan_id=visit.plan_id, due__lt=visit.due)
        .order_by("-due")
        .first()
    )
    if earlier is None or earlier.closes >= visit.opens:
        return None
    return None if hasattr(earlier, "measurement") else earlier


def _message(visit: ReassessmentVisit, step: ladder.Step, url: str) -> Outgoing:
    # No name, diagnosis or treatment in a message: only what the person needs to act.
    clinic = settings.SPINEPATH_CLINIC_NAME
    closes = _day(visit.closes)
    missed = _missed_before(visit)
    if step.channel == ladder.SMS:
        body = (
            f"{clinic}: your check-in questionnaire is open until {closes}. It takes about "
            f"5 minutes: {url}"
        )
        return Outgoing(ladder.SMS, visit.patient.phone, "", body)
    first = (
        "It is time for your check-in questionnaire."
        if step.key == clinic_policy().reminder_steps[0].key
        else f"A reminder: your check-in questionnaire is open until {closes}."
    )
    if missed is not None:
        first += (
            f" We did not hear from you at your {missed.label} check-in; this one counts just "
            "as much, and there is nothing to catch up."
        )
    body = (
        f"Hello,\n\n{first} It takes about five minutes: how much pain you have and how it "
        f"affects daily activities.\n\n{url}\n\nThe link works once and expires in "
        f"{clinic_policy().questionnaire_link_days} days. To change how we remind you, sign "
        f"in to your page at the clinic or tell us.\n\n{clinic}\n"
    )
    return Outgoing(
        ladder.EMAIL,
        visit.patient.email,
        f"Your check-in questionnaire - {clinic}",
        body,
    )


def _deliver(actor: Actor, row: ReminderStep, message: Outgoing) -> ReminderStep:
    """Send a committed claim and write back what became of it."""
    if message.channel == ladder.EMAIL:
        try:
            EmailMessage(subject=message.subject, body=message.body, to=[message.to]).send()
        except Exception as exc:  # the mail server's failure, whatever it is
            logger.exception("reminder %s could not be emailed; it will be tried again", row.pk)
            status, detail = (
                ReminderStep.RETRY,
                f"the mail server refused it ({type(exc).__name__})",
            )
        else:
            status, detail = ReminderStep.SENT, ""
    else:
        result = send_sms(message.to, message.body)
        status = {
            "sent": ReminderStep.SENT,
            "busy": ReminderStep.RETRY,
        }.get(result.outcome, ReminderStep.FAILED)
        detail = result.detail
    return step_settle(actor=actor, step=row, status=status, detail=detail)


@action(None)
def step_settle(*, actor: Actor, step: ReminderStep, status: str, detail: str) -> ReminderStep:
    """Write back what became of a claimed message; a failure is audited with its reason."""
    ReminderStep.objects.filter(pk=step.pk, status=ReminderStep.CLAIMED).update(
        status=status, detail=detail[:300], updated_at=timezone.now()
    )
    step.status, step.detail = status, detail[:300]
    if status != ReminderStep.SENT:
        audit_record(
            actor=actor,
            action=AuditEvent.UPDATE,
            what=f"reminder {step.visit.label} {step.get_channel_display().lower()} "
            f"{step.get_status_display().lower()}: {detail}",
            patient=step.visit.patient_id,
        )
    return step


# --- Staff work: calls and letters ------------------------------------------------------------


@action("reminder_call")
def call_outcome_record(
    *, actor: Actor, step: ReminderStep, outcome: str, note: str = ""
) -> ReminderStep:
    """A coordinator's call: voicemail, no answer, a wrong number (no texts or calls to it
    until the number changes), declined (this check-in's ladder stops). Answers given on the
    phone are entered as the visit's questionnaire, which records the outcome itself."""
    step = (
        ReminderStep.objects.select_for_update()
        .select_related("visit", "visit__patient")
        .get(pk=step.pk)
    )
    if step.channel != ReminderStep.CALL:
        raise Invalid("This reminder is not a phone call.")
    choices = dict(ReminderStep.CALL_OUTCOMES)
    if outcome not in choices or outcome == ReminderStep.ANSWERED:
        message = "Choose what happened on the call."
        raise Invalid(message, fields={"outcome": message})
    if step.call_outcome:
        if step.call_outcome == outcome:
            return step  # the same press twice
        raise Conflict(
            f"This call's outcome was already recorded: {choices[step.call_outcome].lower()}."
        )
    if len(note) > 500:
        message = "Keep the note under 500 characters."
        raise Invalid(message, fields={"note": message})
    visit = step.visit
    step.call_outcome = outcome
    step.call_note = note.strip()
    step.call_by = actor.user
    step.call_at = timezone.now()
    step.save(update_fields=["call_outcome", "call_note", "call_by", "call_at", "updated_at"])
    if outcome == ReminderStep.WRONG_NUMBER:
        Patient.objects.filter(pk=visit.patient_id).update(phone_wrong_at=timezone.now())
    if outcome == ReminderStep.DECLINED:
        visit.reminders_stopped = f"declined on the phone, {_day(today_of_write())}"
        visit.save(update_fields=["reminders_stopped"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"reminder call {visit.label}: {choices[outcome].lower()}",
        patient=visit.patient_id,
    )
    return step


@dataclass(frozen=True)
class Letter:
    step: ReminderStep
    url: str
    closes: date


@action("reminder_letter")
def letters_print(*, actor: Actor, steps: list[ReminderStep], base_url: str) -> list[Letter]:
    """Print the waiting letters: each gets a new link (its QR code) lasting until the
    window closes, and is marked printed. A letter whose visit was answered or whose window
    closed meanwhile is left out."""
    if not steps:
        raise Invalid("No letters were chosen.")
    today = today_of_write()
    letters = []
    for step in (
        ReminderStep.objects.select_for_update()
        .filter(pk__in=[s.pk for s in steps], channel=ReminderStep.LETTER)
        .select_related("visit", "visit__patient")
    ):
        visit = step.visit
        if hasattr(visit, "measurement") or today > visit.closes:
            continue
        if not visit.patient.has_postal_address:
            continue
        token = _new_link(
            visit,
            actor.user,
            today,
            expires_at=timezone.make_aware(datetime.combine(visit.closes, time(23, 59))),
        )
        url = base_url.rstrip("/") + reverse("followup:questionnaire", args=[token])
        step.printed_at = timezone.now()
        step.printed_by = actor.user
        step.save(update_fields=["printed_at", "printed_by", "updated_at"])
        letters.append(Letter(step, url, visit.closes))
        audit_record(
            actor=actor,
            action=AuditEvent.CREATE,
            what=f"reminder letter {visit.label} printed with a questionnaire link",
            patient=visit.patient_id,
        )
    if not letters:
        raise Conflict("None of these letters is still needed: their visits were answered.")
    return letters


def readable_to(step: ReminderStep) -> str:
    return readable(step.to) if step.channel == ReminderStep.SMS else step.to
