"""Issue 25: the patient's acceptance is the patient's - staff cannot obtain a patient
session. A coordinator who set the chart's email to their own, sent a link and signed in with
the birth date shown on the chart could accept the plan and answer questionnaires as the
patient. A change of the email or phone by staff now closes the open links and holds new ones
until the patient confirms from the address on file before it, or another staff member
confirms it in person; the change and the hold are audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from test_portal import BIRTH, candidate, link_token, sign_in
from web_helpers import acting, signed_in

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.errors import Conflict, NotAllowed
from spinepath.patients.models import Patient
from spinepath.patients.services import contact_change_confirm, patient_update
from spinepath.portal.models import SignInLink
from spinepath.portal.services import link_send


def _commit() -> None:
    """Run what waits for the commit (emails); tests run inside a transaction."""
    for _, callback, _ in connection.run_on_commit:
        callback()
    connection.run_on_commit.clear()


def _change_email(user: Any, patient: Patient, email: str) -> Patient:
    mail.outbox.clear()
    patient = patient_update(actor=acting(user), patient=patient, details={"email": email})
    _commit()
    return patient


def _token(message: Any) -> str:
    found = re.search(r"/my/in/([A-Za-z0-9_-]+)/", message.body)
    assert found, message.body
    return found.group(1)


def test_a_coordinator_who_changes_the_email_cannot_get_a_link_there(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)  # maria@example.org on file
    earlier = link_token(coordinator, patient)  # an open link the patient has
    patient = _change_email(coordinator, patient, "insider@example.org")
    # The open link is closed, and the patient is asked at the address on file before.
    assert sign_in(Client(), earlier).status_code == 410
    assert [m.to for m in mail.outbox] == [["maria@example.org"]]
    assert "confirm your new contact details" in mail.outbox[0].subject.lower()
    assert "i***@example.org" in mail.outbox[0].body  # the new address, masked
    # No link goes to the new address: not from the chart...
    with pytest.raises(Conflict, match="held until the patient confirms"):
        link_send(actor=acting(coordinator), patient=patient)
    staff = signed_in(coordinator)
    chart = staff.get(f"/patients/{patient.pk}/").content.decode()
    assert "Links held" in chart and "Email a sign-in link" not in chart
    assert "The patient confirmed it in person" not in chart  # not by the one who changed it
    posted = staff.post(
        f"/patients/{patient.pk}/sign-in-link/", {"submission": "s" * 32}, follow=True
    )
    assert "held until the patient confirms" in posted.content.decode()
    # ...nor from the public sign-in page.
    mail.outbox.clear()
    Client().post("/my/sign-in/", {"email": "insider@example.org"})
    _commit()
    assert mail.outbox == []
    assert not SignInLink.objects.filter(patient=patient, sent_to="insider@example.org").exists()
    # The change and the hold are in the audit log.
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, what__contains="email changed: links to the patient's own pages"
    ).exists()


def test_the_patient_confirms_by_signing_in_from_the_address_on_file(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)
    patient = _change_email(coordinator, patient, "maria.new@example.org")
    token = _token(mail.outbox[0])
    client = Client()
    page = client.get(f"/my/in/{token}/")
    assert page.status_code == 200
    assert sign_in(client, token, BIRTH).status_code == 302
    patient.refresh_from_db()
    assert patient.contact_held_at is None and patient.contact_previous_email == ""
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, what__startswith="change of contact details confirmed by the patient"
    ).exists()
    # Links go to the new address again.
    mail.outbox.clear()
    assert link_send(actor=acting(coordinator), patient=patient)
    _commit()
    assert mail.outbox[-1].to == ["maria.new@example.org"]


def test_a_wrong_birth_date_on_the_confirmation_link_confirms_nothing(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)
    patient = _change_email(coordinator, patient, "insider@example.org")
    token = _token(mail.outbox[0])
    refused = Client().post(f"/my/in/{token}/", {"birth_date": "1970-01-01"})
    assert refused.status_code == 400
    patient.refresh_from_db()
    assert patient.contact_held_at is not None


def test_in_person_confirmation_needs_another_staff_member(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)
    patient = _change_email(coordinator, patient, "maria.new@example.org")
    with pytest.raises(NotAllowed, match="cannot confirm them"):
        contact_change_confirm(actor=acting(coordinator), patient=patient, how="in person")
    answer = signed_in(coordinator).post(f"/patients/{patient.pk}/contact/confirm/", follow=True)
    assert "cannot confirm them" in answer.content.decode()
    patient.refresh_from_db()
    assert patient.contact_held_at is not None
    clinicians = signed_in(clinician)
    chart = clinicians.get(f"/patients/{patient.pk}/").content.decode()
    assert "The patient confirmed it in person (identity checked)" in chart
    done = clinicians.post(
        f"/patients/{patient.pk}/contact/confirm/",
        {"shown": patient.contact_version},
        follow=True,
    )
    assert "links to the patient&#x27;s own pages can be sent again" in done.content.decode()
    patient.refresh_from_db()
    assert patient.contact_held_at is None


def test_a_second_change_keeps_the_address_on_file_before_the_first(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)
    patient = _change_email(coordinator, patient, "first@example.org")
    patient = _change_email(coordinator, patient, "second@example.org")
    assert patient.contact_previous_email == "maria@example.org"
    assert [m.to for m in mail.outbox] == [["maria@example.org"]]
    # The patient asks for a link at the address they know: it confirms the change.
    mail.outbox.clear()
    Client().post("/my/sign-in/", {"email": "maria@example.org"})
    _commit()
    assert [m.to for m in mail.outbox] == [["maria@example.org"]]
    assert "confirm your new contact details" in mail.outbox[0].subject.lower()


def test_a_phone_change_holds_links_too(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    patient = patient_update(
        actor=acting(coordinator), patient=patient, details={"phone": "+1 212 555 0100"}
    )
    with pytest.raises(Conflict):
        link_send(actor=acting(coordinator), patient=patient)


def test_no_questionnaire_link_or_reminder_goes_to_an_unconfirmed_address(
    clinician: Any, coordinator: Any
) -> None:
    from django.utils import timezone
    from treatment_helpers import treated

    from spinepath.followup.models import ReassessmentVisit, ReminderStep
    from spinepath.followup.reminders import send_reminders
    from spinepath.followup.services import questionnaire_link_send

    patient = treated(clinician, days_ago=45)  # the 6-week window is open
    visit = ReassessmentVisit.objects.get(patient=patient, key="6w")
    patient = _change_email(coordinator, patient, "insider@example.org")
    visit.refresh_from_db()
    with pytest.raises(Conflict, match="held until the patient confirms"):
        questionnaire_link_send(actor=acting(coordinator), visit=visit)
    assert send_reminders(actor=Actor.system(), base_url="http://x").counts == {}
    assert not ReminderStep.objects.filter(visit__patient=patient).exists()
    # Once the patient confirms, the ladder goes on.
    assert timezone.localdate() >= visit.opens


def test_no_one_who_changed_the_details_confirms_them_after_another_change(
    clinician: Any, coordinator: Any, admin_user: Any
) -> None:
    """Found by the attack: the coordinator changed the email, a clinician then changed the
    phone, and the coordinator - no longer the latest author - confirmed in person, sent a
    link to their own address and accepted the plan as the patient."""
    patient = candidate(clinician)
    patient = _change_email(coordinator, patient, "insider@example.org")
    patient = patient_update(
        actor=acting(clinician), patient=patient, details={"phone": "+1 212 555 0100"}
    )
    for author in (coordinator, clinician):
        with pytest.raises(NotAllowed, match="cannot confirm them"):
            contact_change_confirm(actor=acting(author), patient=patient, how="in person")
        chart = signed_in(author).get(f"/patients/{patient.pk}/").content.decode()
        assert "The patient confirmed it in person" not in chart
    patient.refresh_from_db()
    assert patient.contact_held_at is not None
    with pytest.raises(Conflict):
        link_send(actor=acting(coordinator), patient=patient)
    # Someone who made no change confirms it (the clinic admin, with the patient in front of
    # them); the list of authors starts again with the next change.
    contact_change_confirm(
        actor=acting(admin_user), patient=patient, how="in person", shown=patient.contact_version
    )
    patient.refresh_from_db()
    assert patient.contact_held_at is None and patient.contact_changed_by == []


def test_no_hand_over_questionnaire_link_while_the_details_are_held(
    clinician: Any, coordinator: Any
) -> None:
    from treatment_helpers import treated

    from spinepath.followup.models import ReassessmentVisit
    from spinepath.followup.services import questionnaire_link_create

    patient = treated(clinician, days_ago=45)
    visit = ReassessmentVisit.objects.get(patient=patient, key="6w")
    _change_email(coordinator, patient, "insider@example.org")
    visit.refresh_from_db()
    with pytest.raises(Conflict, match="held until the patient confirms"):
        questionnaire_link_create(actor=acting(coordinator), visit=visit)
    page = signed_in(coordinator).post(f"/visits/{visit.pk}/link/", follow=True)
    assert "held until the patient confirms" in page.content.decode()
    assert "/q/" not in page.content.decode()


def test_a_confirmation_from_a_page_shown_before_another_change_is_refused(
    clinician: Any, coordinator: Any
) -> None:
    """Found by the second attack: a clinician opened the chart (its confirm button), the
    coordinator changed the email again, and the clinician's click confirmed an address
    nobody had checked with the patient."""
    patient = candidate(clinician)
    patient = _change_email(coordinator, patient, "first@example.org")
    clinicians = signed_in(clinician)
    chart = clinicians.get(f"/patients/{patient.pk}/").content.decode()
    assert "first@example.org" in chart  # what the clinician checks with the patient
    shown = chart.split('name="shown" value="')[1].split('"')[0]
    _change_email(coordinator, patient, "second@example.org")
    answer = clinicians.post(
        f"/patients/{patient.pk}/contact/confirm/", {"shown": shown}, follow=True
    )
    assert "changed since this page was opened" in answer.content.decode()
    patient.refresh_from_db()
    assert patient.contact_held_at is not None
    with pytest.raises(Conflict):
        link_send(actor=acting(coordinator), patient=patient)
