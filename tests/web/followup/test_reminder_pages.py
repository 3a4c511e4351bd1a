"""The reminder ladder as staff and patients see it: calls to make and letters to print on the
worklist, a call's outcome, answers taken on the phone, the printed letter, the patient's
choices (asked when accepting the plan, changed on My questionnaires), phone numbers in
E.164."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from portal_helpers import signed_in_portal
from treatment_helpers import treated
from web_helpers import NOTHING_WORRYING, acting

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.errors import Invalid, NotAllowed
from spinepath.followup import reminders
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit, ReminderStep
from spinepath.pathway.reminders import step_day
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_update, reminder_choices_set
from spinepath.web.policy import clinic_policy


def ladder_until(patient: Any, step: str) -> ReassessmentVisit:
    """Run the ladder (at 10:00, the suite's hour) on each step's day until ``step`` is taken
    (it moves only on those days: the year-long test runs it every day)."""
    visit = ReassessmentVisit.objects.get(patient=patient, key="6w")
    for rung in clinic_policy().reminder_steps:
        day = max(step_day(visit.opens, rung), timezone.localdate())
        reminders.send_reminders(actor=Actor.system(), base_url="https://clinic.example", today=day)
        if ReminderStep.objects.filter(visit=visit, step=step).exists():
            return visit
    raise AssertionError(f"{step} never came")


@pytest.fixture
def reachable(clinician: Any, coordinator: Any) -> Patient:
    patient = treated(clinician, 28)  # the 6-week window opens today
    patient = patient_update(
        actor=acting(coordinator),
        patient=patient,
        details={
            "phone": "(212) 555-0111",
            "address_line": "1 Main Street",
            "address_city": "New York",
            "address_state": "ny",
            "postcode": "10027",
        },
    )
    # The patient confirmed the new number (links wait until then).
    Patient.objects.filter(pk=patient.pk).update(contact_held_at=None)
    patient.refresh_from_db()
    return patient


def test_the_chart_keeps_numbers_in_e164_and_names_a_bad_one(
    reachable: Patient, coordinator_client: Client
) -> None:
    assert reachable.phone == "+12125550111" and reachable.address_state == "NY"
    page = coordinator_client.post(
        f"/patients/{reachable.pk}/edit/",
        {
            "given_name": reachable.given_name,
            "family_name": reachable.family_name,
            "birth_date": reachable.birth_date.isoformat(),
            "sex": reachable.sex,
            "email": reachable.email,
            "phone": "12",
            "address_line": "1 Main Street",
            "address_city": "",
            "postcode": "1002",
            "payer": reachable.payer,
        },
    )
    text = page.content.decode()
    assert page.status_code == 400
    assert "not a complete phone number" in text
    assert "Give the city too" in text and "ZIP code of five digits" in text
    assert 'value="12"' in text  # what was typed is kept
    reachable.refresh_from_db()
    assert reachable.phone == "+12125550111"


def test_a_call_task_is_on_the_worklist_and_its_outcome_recorded(
    reachable: Patient, coordinator: Any, coordinator_client: Client
) -> None:
    visit = ladder_until(reachable, "call")
    worklist = coordinator_client.get("/worklist/").content.decode()
    assert "Reminder calls to make (1)" in worklist and "(212) 555-0111" in worklist
    page = coordinator_client.get(f"/visits/{visit.pk}/").content.decode()
    assert "Call the patient" in page and "Answered: enter the answers from the call" in page
    step = ReminderStep.objects.get(visit=visit, channel="call")
    missing = coordinator_client.post(
        f"/visits/{visit.pk}/", {"action": "call", "call-step": step.pk, "call-note": "rang"}
    )
    assert missing.status_code == 400
    assert "Choose what happened on the call" in missing.content.decode()
    assert 'value="rang"' in missing.content.decode()
    done = coordinator_client.post(
        f"/visits/{visit.pk}/",
        {"action": "call", "call-step": step.pk, "call-outcome": "wrong_number"},
        follow=True,
    )
    text = done.content.decode()
    assert "The call&#x27;s outcome is recorded" in text or "The call's outcome is recorded" in text
    assert "wrong number" in text and "the phone number was found wrong" in text
    assert "Reminder calls to make" not in coordinator_client.get("/worklist/").content.decode()
    reachable.refresh_from_db()
    assert reachable.phone_wrong_at is not None
    # A new number clears the mark.
    patient_update(actor=acting(coordinator), patient=reachable, details={"phone": "2125550122"})
    reachable.refresh_from_db()
    assert reachable.phone_wrong_at is None and reachable.phone == "+12125550122"


def test_answers_taken_on_the_phone_close_the_call(
    reachable: Patient, coordinator: Any, coordinator_client: Client
) -> None:
    visit = ladder_until(reachable, "call")
    form = coordinator_client.get(f"/visits/{visit.pk}/?source=phone").content.decode()
    assert 'value="phone" checked' in form or 'value="phone"\n' in form or "checked" in form
    answered = coordinator_client.post(
        f"/visits/{visit.pk}/",
        {
            "action": "paper",
            "paper-measured_on": timezone.localdate().isoformat(),
            "paper-scale": "nrs",
            "paper-pain": "4",
            "paper-source": "phone",
            **{f"paper-odi_{i}": "1" for i in range(1, 11)},
            **{f"paper-{k}": v for k, v in NOTHING_WORRYING.items()},
        },
        follow=True,
    )
    assert "Answers from the call saved" in answered.content.decode()
    measured = OutcomeMeasurement.objects.get(visit=visit)
    assert measured.source == "phone" and measured.entered_by == coordinator
    assert ReminderStep.objects.get(visit=visit, channel="call").call_outcome == "answered"
    assert AuditEvent.objects.filter(what__contains="telephone questionnaire 6 weeks").exists()


def test_letters_print_with_a_link_and_the_questions(
    reachable: Patient, coordinator_client: Client
) -> None:
    visit = ladder_until(reachable, "letter")
    worklist = coordinator_client.get("/worklist/").content.decode()
    assert "Reminder letters to print (1)" in worklist
    step = ReminderStep.objects.get(visit=visit, channel="letter")
    nothing = coordinator_client.post("/worklist/letters.pdf", {}, follow=True)
    assert "tick the letters to print" in nothing.content.decode()
    pdf = coordinator_client.post("/worklist/letters.pdf", {"letter": [step.pk]})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    step.refresh_from_db()
    assert step.printed_at is not None
    link = visit.links.order_by("-created_at").first()
    assert timezone.localtime(link.expires_at).date() == visit.closes  # the post takes days
    assert "Reminder letters to print" not in coordinator_client.get("/worklist/").content.decode()
    again = coordinator_client.post("/worklist/letters.pdf", {"letter": [step.pk]}, follow=True)
    assert "No letters printed" in again.content.decode()


def test_the_patient_chooses_how_to_be_reminded(clinician: Any, coordinator: Any) -> None:
    patient = treated(clinician, 28)
    patient.birth_date = patient.birth_date or timezone.localdate().replace(year=1970)
    patient.save()
    client = signed_in_portal(patient, coordinator)
    page = client.get("/my/questionnaires/").content.decode()
    assert "How we remind you" in page and "between 8 pm and 9 am" in page
    saved = client.post("/my/questionnaires/", {"email": "on", "asked": "1"}, follow=True)
    assert "We will remind you only in the ways you ticked" in saved.content.decode()
    patient.refresh_from_db()
    assert patient.reminder_choices == {"email": True, "sms": False, "call": False, "letter": False}
    assert AuditEvent.objects.filter(
        what__startswith="reminder choices (sms no, call no, letter no)"
    ).exists()
    # A post without the choices on it (an old page) changes nothing.
    client.post("/my/questionnaires/", {})
    patient.refresh_from_db()
    assert patient.remind_by_email and not patient.remind_by_sms


def test_only_the_patient_or_staff_set_the_choices(clinician: Any, coordinator: Any) -> None:
    patient = treated(clinician, 28)
    other = treated(clinician, 29, email="other@example.org")
    as_other = Actor.for_patient(other.pk, "x", address=None, path="/")
    with pytest.raises(NotAllowed):
        reminder_choices_set(actor=as_other, patient=patient, choices={"sms": False})
    with pytest.raises(Invalid, match="Not a reminder channel: pigeon"):
        reminder_choices_set(actor=acting(coordinator), patient=patient, choices={"pigeon": True})
    reminder_choices_set(actor=acting(coordinator), patient=patient, choices={"letter": False})
    patient.refresh_from_db()
    assert not patient.remind_by_letter and patient.reminder_choices_at is not None


def test_the_kept_worklist_carries_each_readers_own_form_token(
    reachable: Patient, coordinator: Any
) -> None:
    """The worklist is kept for whoever opens it next (issue 29); its letters form must still
    carry the token of the browser that shows it, or printing is refused."""
    import re

    from web_helpers import signed_in

    visit = ladder_until(reachable, "letter")
    step = ReminderStep.objects.get(visit=visit, channel="letter")
    assert (
        "Reminder letters to print (1)" in signed_in(coordinator).get("/worklist/").content.decode()
    )
    browser = signed_in(coordinator)
    browser.handler.enforce_csrf_checks = True
    page = browser.get("/worklist/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None and "kept-part" not in page
    pdf = browser.post(
        "/worklist/letters.pdf", {"letter": [step.pk], "csrfmiddlewaretoken": token.group(1)}
    )
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # Printed: the next reader, served straight after, no longer sees the letter.
    assert "Reminder letters to print" not in browser.get("/worklist/").content.decode()


def test_voiding_the_injection_keeps_what_was_sent_and_stops_the_ladder(
    reachable: Patient, clinician: Any
) -> None:
    """A wrong entry is voided even after its check-in's reminders went out (found by an
    attack: a 500). What was sent stays on record; the visit leaves the course, the worklist and
    the ladder, and its link answers nothing."""
    from web_helpers import signed_in

    from spinepath.followup.services import questionnaire_link_create
    from spinepath.plans.models import Procedure

    visit = ladder_until(reachable, "letter")
    steps = set(ReminderStep.objects.filter(visit=visit).values_list("pk", flat=True))
    token = questionnaire_link_create(actor=Actor.system(), visit=visit, today=timezone.localdate())
    injection = Procedure.objects.get(patient=reachable)
    client = signed_in(clinician)
    response = client.post(f"/procedures/{injection.pk}/void/", {"reason": "Wrong patient"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.injected_on is None and "voided" in visit.reminders_stopped
    assert set(ReminderStep.objects.filter(visit=visit).values_list("pk", flat=True)) == steps
    # The other visits (no reminder sent) are gone; this one is off the worklist.
    assert list(ReassessmentVisit.objects.filter(patient=reachable)) == [visit]
    worklist = client.get(f"/worklist/?state=open&patient={reachable.pk}").content.decode()
    assert "Nothing here today." in worklist
    # The menu's count of open visits does not count it either (found by an attack).
    from spinepath.followup.services import open_item_count

    assert open_item_count(timezone.localdate()) == 0
    assert "Reminder letters to print" not in client.get("/worklist/").content.decode()
    # Nothing more is sent for it, and no link answers it.
    before = ReminderStep.objects.count()
    reminders.send_reminders(
        actor=Actor.system(), base_url="https://clinic.example", today=timezone.localdate()
    )
    assert ReminderStep.objects.count() == before
    closed = Client().get(f"/q/{token}/")
    assert closed.status_code == 410 and "no longer needed" in closed.content.decode()
