"""The reminder ladder driven day by day through a whole year with the fixed clock (PATHWAY.md
section 11): patients who answer at each step, who never answer, who opted out of texts, whose
number is wrong, and a text provider that refuses, slows down or does not answer. Each run is
what cron would do at 10:00; every message, call task and letter is counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from sms_helpers import RATE_LIMITED, REJECTED, TIMES_OUT, FakeProvider, sms_provider
from treatment_helpers import accepted_plan_for, inject, reviewed_patient
from web_helpers import acting

from spinepath.actors import Actor
from spinepath.errors import Conflict
from spinepath.followup import reminders, services
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
from spinepath.pathway.policy import Policy

__all__ = ["sms_provider"]

BASE = "https://clinic.example"
ANSWERS = services.Answers(pain=30, pain_scale="vas", odi_sections=[2] * 10, safety=None)
YEAR = 430  # the 12-month window closes 60 days after its due date


def treated(clinician: Any, name: str, email: str) -> Any:
    """A patient injected today (reviewed and planned ten days before)."""
    injected = timezone.localdate()
    review = injected - timedelta(days=10)
    patient = reviewed_patient(clinician, review, f"ladder-{name}")
    patient.email = email
    patient.save()
    accepted_plan_for(patient, clinician, review)
    inject(patient, clinician, injected)
    return patient


def patient_with(clinician: Any, name: str, phone: str, **choices: bool) -> Any:
    patient = treated(clinician, name, f"{name}@example.org")
    patient.phone = phone
    patient.address_line = "1 Main Street"
    patient.address_city = "Springfield"
    patient.address_state = "NY"
    patient.postcode = "10027"
    for channel, chosen in choices.items():
        setattr(patient, f"remind_by_{channel}", chosen)
    patient.save()
    return patient


def run_on(day: Any, hour: int = 10) -> reminders.LadderRun:
    moment = timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))
    with time_machine.travel(moment, tick=False):
        return reminders.send_reminders(actor=Actor.system(), base_url=BASE)


def answer(patient: Any, day: Any, by_phone: Any = None) -> None:
    """The patient answers the visit open on ``day``: from the latest link they were sent, or
    on the phone to a coordinator."""
    visit = ReassessmentVisit.objects.get(
        patient=patient, opens__lte=day, closes__gte=day, measurement__isnull=True
    )
    moment = timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=15))
    with time_machine.travel(moment, tick=False):
        if by_phone is not None:
            services.paper_form_enter(
                actor=acting(by_phone),
                visit=visit,
                answers=ANSWERS,
                measured_on=day,
                source=OutcomeMeasurement.PHONE,
            )
            return
        token = services.questionnaire_link_create(actor=Actor.system(), visit=visit)
        services.questionnaire_submit(actor=Actor.system(), token=token, answers=ANSWERS)


def steps_of(patient: Any) -> Counter[str]:
    return Counter(
        f"{s.channel} {s.status}" for s in ReminderStep.objects.filter(visit__patient=patient)
    )


def emails_to(patient: Any) -> int:
    return sum(1 for m in mail.outbox if m.to == [patient.email])


@pytest.mark.django_db
def test_a_year_of_reminders(clinician: Any, coordinator: Any, sms_provider: FakeProvider) -> None:
    never = patient_with(clinician, "never", "+12125550111")
    no_texts = patient_with(clinician, "notexts", "+12125550112", sms=False)
    wrong = patient_with(clinician, "wrong", "+12125550113")
    rejected = patient_with(clinician, "rejected", REJECTED)
    limited = patient_with(clinician, "limited", RATE_LIMITED)
    timeout = patient_with(clinician, "timeout", TIMES_OUT)
    # Answer the day after this step is taken, at every visit.
    answers_after = {
        step: patient_with(clinician, f"after-{step}", f"+1212555012{i}")
        for i, step in enumerate(["email_1", "email_2", "text", "call", "letter"])
    }
    start = timezone.localdate()
    wrong_number_said = False
    for offset in range(YEAR):
        day = start + timedelta(days=offset)
        run_on(day)
        for step, patient in answers_after.items():
            taken = ReminderStep.objects.filter(
                visit__patient=patient,
                step=step,
                acted_on=day,
                visit__measurement__isnull=True,
            ).first()
            if taken is not None:
                by_phone = coordinator if step == "call" else None
                answer(patient, day + timedelta(days=1), by_phone=by_phone)
        call = ReminderStep.objects.filter(
            visit__patient=wrong, channel="call", call_outcome=""
        ).first()
        if call is not None and not wrong_number_said:
            reminders.call_outcome_record(
                actor=acting(coordinator), step=call, outcome=ReminderStep.WRONG_NUMBER
            )
            wrong_number_said = True

    visits = 4  # 6 weeks, 3, 6 and 12 months close inside the year; 24 months later
    assert steps_of(never) == {
        "email sent": 2 * visits,
        "sms sent": visits,
        "call sent": visits,
        "letter sent": visits,
    }
    assert emails_to(never) == 2 * visits
    assert len(sms_provider.to(never.phone)) == visits
    # Answering stops the ladder at once, at every visit.
    ladder = ["email_1", "email_2", "text", "call", "letter"]
    for step, patient in answers_after.items():
        climbed = ladder[: ladder.index(step) + 1]
        got = Counter(
            ReminderStep.objects.filter(visit__patient=patient).values_list("step", flat=True)
        )
        assert got == {key: visits for key in climbed}, step
        assert OutcomeMeasurement.objects.filter(patient=patient).count() == visits
    assert emails_to(answers_after["email_1"]) == visits
    assert len(sms_provider.to(answers_after["email_2"].phone)) == 0
    assert len(sms_provider.to(answers_after["text"].phone)) == visits
    # A call answered is closed by the answers entered from it.
    assert set(
        ReminderStep.objects.filter(
            visit__patient=answers_after["call"], channel="call"
        ).values_list("call_outcome", flat=True)
    ) == {"answered"}
    # Texts declined: skipped with the reason, the rest of the ladder goes on.
    assert steps_of(no_texts) == {
        "email sent": 2 * visits,
        "sms skipped": visits,
        "call sent": visits,
        "letter sent": visits,
    }
    assert sms_provider.to(no_texts.phone) == []
    assert set(
        ReminderStep.objects.filter(visit__patient=no_texts, channel="sms").values_list(
            "detail", flat=True
        )
    ) == {"the patient chose no text messages"}
    # A wrong number from the first call: no texts or calls to it afterwards.
    assert steps_of(wrong) == {
        "email sent": 2 * visits,
        "sms sent": 1,
        "sms skipped": visits - 1,
        "call sent": 1,
        "call skipped": visits - 1,
        "letter sent": visits,
    }
    assert len(sms_provider.to(wrong.phone)) == 1
    # The provider refused the number: failed, and the ladder moved on to the call.
    assert steps_of(rejected)["sms failed"] == visits
    assert steps_of(rejected)["call sent"] == visits
    # Rate limited: tried again each day until the call's day, then given up, never lost.
    assert steps_of(limited)["sms failed"] == visits
    limited_tries = [m for m in sms_provider.received if m["To"] == RATE_LIMITED]
    assert len(limited_tries) == 4 * visits  # days 10, 11, 12, 13 of each window
    # No answer in time: may have been delivered, so never sent again.
    assert steps_of(timeout)["sms failed"] == visits
    assert len([m for m in sms_provider.received if m["To"] == TIMES_OUT]) == visits


@pytest.mark.django_db
def test_quiet_hours_hold_messages_but_not_staff_tasks(
    clinician: Any, sms_provider: FakeProvider
) -> None:
    patient = patient_with(clinician, "quiet", "+12125550111")
    opens = ReassessmentVisit.objects.get(patient=patient, key="6w").opens
    assert run_on(opens, hour=22).counts == {}
    assert mail.outbox == []
    assert run_on(opens, hour=8).counts == {}
    assert run_on(opens, hour=9).counts == {"email_1 sent": 1}
    # A run repeated the same day, or later that day, does nothing twice.
    assert run_on(opens, hour=11).counts == {}
    assert len(mail.outbox) == 1
    # Missed days: one step a day, not a burst.
    late = opens + timedelta(days=15)
    assert run_on(late, hour=23).counts == {}  # quiet: the email waits
    assert run_on(late).counts == {"email_2 sent": 1}
    assert run_on(late + timedelta(days=1)).counts == {"text sent": 1}
    assert run_on(late + timedelta(days=2), hour=23).counts == {"call sent": 1}


@pytest.mark.django_db
def test_the_cap_and_a_missed_visit_rolling_into_the_next(
    clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    capped = replace(Policy(), reminder_max_steps=2)
    monkeypatch.setattr(reminders, "clinic_policy", lambda: capped)
    patient = treated(clinician, "capped", "capped@example.org")  # email only
    start = timezone.localdate()
    for offset in range(140):
        run_on(start + timedelta(days=offset))
    six_weeks = ReminderStep.objects.filter(visit__patient=patient, visit__key="6w")
    assert Counter(f"{s.step} {s.status}" for s in six_weeks) == {
        "email_1 sent": 1,
        "email_2 sent": 1,
        "text skipped": 1,
        "call skipped": 1,
        "letter skipped": 1,
    }
    assert set(six_weeks.filter(status="skipped").values_list("detail", flat=True)) == {
        "no phone number on file",
        "no postal address on file",
    }
    # The 3-month visit's first email says the 6-week one was missed, and asks once.
    three = [m for m in mail.outbox if "did not hear from you at your 6 weeks" in m.body]
    assert len(three) == 2
    assert len(mail.outbox) == 4


@pytest.mark.django_db
def test_declined_on_the_phone_stops_this_visit_only(clinician: Any, coordinator: Any) -> None:
    patient = patient_with(clinician, "declines", "+12125550111")
    start = timezone.localdate()
    six = ReassessmentVisit.objects.get(patient=patient, key="6w")
    for offset in range((six.opens - start).days, (six.opens - start).days + 15):
        run_on(start + timedelta(days=offset))
    call = ReminderStep.objects.get(visit=six, channel="call")
    reminders.call_outcome_record(
        actor=acting(coordinator), step=call, outcome=ReminderStep.DECLINED, note="busy month"
    )
    # The same press again changes nothing; another outcome afterwards is refused.
    reminders.call_outcome_record(
        actor=acting(coordinator), step=call, outcome=ReminderStep.DECLINED
    )
    with pytest.raises(Conflict, match=r"already recorded by .*: declined"):
        reminders.call_outcome_record(
            actor=acting(coordinator), step=call, outcome=ReminderStep.VOICEMAIL
        )
    for offset in range((six.opens - start).days + 15, 120):
        run_on(start + timedelta(days=offset))
    assert not ReminderStep.objects.filter(visit=six, channel="letter").exists()
    assert ReassessmentVisit.objects.get(pk=six.pk).reminders_stopped.startswith("declined")
    # The next visit climbs its own ladder (no texts here: the clinic configured none).
    assert steps_of_visit(patient, "3m") == [
        "email_1 sent",
        "email_2 sent",
        "text skipped",
        "call sent",
        "letter sent",
    ]


def steps_of_visit(patient: Any, key: str) -> list[str]:
    return [
        f"{s.step} {s.status}"
        for s in ReminderStep.objects.filter(visit__patient=patient, visit__key=key)
    ]
