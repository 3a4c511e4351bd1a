"""Patients as users: sign-in by link and date of birth, their own pages and nobody else's,
the plan accepted at home, injection sessions on the calendar."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from treatment_helpers import accepted_plan_for, released, reviewed_patient, treated
from web_helpers import acting

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.errors import Conflict
from spinepath.patients.models import Patient
from spinepath.plans.models import CarePlan
from spinepath.plans.selectors import plan_content_hash, plan_sessions
from spinepath.plans.services import plan_create, plan_item_add, plan_revise
from spinepath.portal.models import SignInLink
from spinepath.portal.services import link_send
from spinepath.public.bookings import appointment_book, session_book
from spinepath.public.models import Appointment, ChangeRequest, Room

BIRTH = date(1961, 4, 30)


def with_contact(patient: Patient, email: str = "maria@example.org") -> Patient:
    Patient.objects.filter(pk=patient.pk).update(email=email, birth_date=BIRTH)
    patient.refresh_from_db()
    return patient


def candidate(clinician: Any, pid: str = "portal-1", **kw: Any) -> Patient:
    review = timezone.localdate() - timedelta(days=2)
    return with_contact(reviewed_patient(clinician, review, pid, **kw))


def link_token(user: Any, patient: Patient) -> str:
    mail.outbox.clear()
    link_send(actor=acting(user), patient=patient)
    # The link is sent after the commit; tests run inside a transaction, so send it here.
    from django.db import connection

    for _, callback, _ in connection.run_on_commit:
        callback()
    connection.run_on_commit.clear()
    body = mail.outbox[-1].body
    found = re.search(r"/my/in/([A-Za-z0-9_-]+)/", body)
    assert found, body
    return found.group(1)


def sign_in(client: Client, token: str, birth: date = BIRTH) -> Any:
    return client.post(f"/my/in/{token}/", {"birth_date": birth.isoformat()})


def patient_client(coordinator: Any, patient: Patient) -> Client:
    client = Client()
    response = sign_in(client, link_token(coordinator, patient))
    assert response.status_code == 302 and response["Location"] == "/my/"
    return client


# --- Sign-in --------------------------------------------------------------------------------


def test_a_link_and_the_date_of_birth_open_the_patients_pages(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)
    token = link_token(coordinator, patient)
    assert not SignInLink.objects.filter(token_hash=token).exists()  # only the hash is stored
    client = Client()
    page = client.get(f"/my/in/{token}/")
    assert page.status_code == 200
    assert b"Lopez" not in page.content and b"Maria" not in page.content  # nothing before checks
    wrong = sign_in(client, token, date(1970, 1, 1))
    assert wrong.status_code == 400
    assert b"That date of birth does not match our record." in wrong.content
    right = sign_in(client, token)
    assert right.status_code == 302
    home = client.get("/my/")
    assert b"Hello Maria" in home.content
    # Single use: the same link again is refused.
    again = Client().post(f"/my/in/{token}/", {"birth_date": BIRTH.isoformat()})
    assert again.status_code == 410 and b"already used" in again.content


def test_an_expired_link_is_refused(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    token = link_token(coordinator, patient)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        page = Client().get(f"/my/in/{token}/")
        assert page.status_code == 410 and b"expired" in page.content
        assert sign_in(Client(), token).status_code == 410


def test_a_made_up_or_oversized_token_is_refused(db: Any) -> None:
    assert Client().get("/my/in/not-a-token/").status_code == 410
    assert Client().get(f"/my/in/{'a' * 300}/").status_code == 410


def test_five_wrong_dates_close_the_patients_links(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    token = link_token(coordinator, patient)
    other = link_token(coordinator, patient)
    for day in range(1, 6):
        assert sign_in(Client(), token, date(1970, 1, day)).status_code == 400
    # Now even the right date fails, on this link and on the patient's other open link.
    assert sign_in(Client(), token).status_code in (410, 429)
    assert sign_in(Client(), other).status_code in (410, 429)
    assert Client().get("/my/").status_code != 200
    assert (
        AuditEvent.objects.filter(action=AuditEvent.SIGN_IN_FAILED, patient_id=patient.pk).count()
        == 5
    )


def test_wrong_dates_from_one_address_are_throttled_across_patients(
    clinician: Any, coordinator: Any
) -> None:
    patients = [candidate(clinician, f"portal-{i}") for i in range(5)]
    tokens = [link_token(coordinator, p) for p in patients for _ in range(1)]
    for i in range(20):
        token = tokens[i % 5] if i < 20 else tokens[0]
        response = sign_in(Client(), token, date(1970, 1, 1 + i % 28))
        assert response.status_code in (400, 410)
    fresh = link_token(coordinator, patients[0])
    blocked = sign_in(Client(), fresh)
    assert blocked.status_code in (410, 429)
    assert b"Too many wrong dates of birth" in blocked.content


def test_the_public_sign_in_page_says_the_same_for_any_address(
    clinician: Any, settings: Any
) -> None:
    candidate(clinician)
    known = Client().post("/my/sign-in/", {"email": "MARIA@example.org"})
    unknown = Client().post("/my/sign-in/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    text = b"If this address is on a patient record"
    assert text in known.content and text in unknown.content
    assert SignInLink.objects.count() == 1  # only the known address got a link


def test_the_public_sign_in_page_is_limited_per_client(db: Any) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/my/sign-in/", {"email": "x@example.org"}).status_code == 200
    limited = client.post("/my/sign-in/", {"email": "x@example.org"})
    assert limited.status_code == 429 and b"try again in" in limited.content


def test_a_bad_email_or_date_is_named_and_kept(clinician: Any, coordinator: Any) -> None:
    page = Client().post("/my/sign-in/", {"email": "not-an-email"})
    assert page.status_code == 400 and b"not-an-email" in page.content
    token = link_token(coordinator, candidate(clinician))
    bad = Client().post(f"/my/in/{token}/", {"birth_date": "30/30/1961"})
    assert bad.status_code == 400 and b"Enter your date of birth" in bad.content


def test_the_session_ends_after_fifteen_idle_minutes(clinician: Any, coordinator: Any) -> None:
    client = patient_client(coordinator, candidate(clinician))
    assert client.get("/my/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        ended = client.get("/my/plan/")
        assert ended.status_code == 302 and "ended=1" in ended["Location"]
        assert client.get("/my/").status_code == 302


# --- Access control -------------------------------------------------------------------------

STAFF_URLS = [
    "/patients/",
    "/worklist/",
    "/bookings/",
    "/requests/",
    "/outcomes/",
    "/audit/",
    "/prices/",
    "/accounts/staff/",
]


def test_a_patient_session_reaches_no_staff_page(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    client = patient_client(coordinator, patient)
    urls = [*STAFF_URLS, f"/patients/{patient.pk}/", f"/patients/{patient.pk}/plans/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    refused = client.post(f"/patients/{patient.pk}/sign-in-link/")
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/login/")


def test_another_patients_ids_answer_404(clinician: Any, coordinator: Any) -> None:
    mine = candidate(clinician, "portal-mine")
    theirs = candidate(clinician, "portal-theirs")
    their_plan = plan_create(patient=theirs, actor=acting(clinician))
    room = Room.objects.get_or_create(name="Consultation room 1")[0]
    start = timezone.make_aware(datetime.combine(date(2026, 11, 26), time(9)))
    their_appointment = appointment_book(
        actor=acting(coordinator),
        clinician=clinician,
        room=room,
        start=start,
        minutes=60,
        patient=theirs,
    )
    client = patient_client(coordinator, mine)
    assert client.get(f"/my/plan/{their_plan.pk}/plan.pdf").status_code == 404
    assert client.get(f"/my/appointments/{their_appointment.pk}/calendar.ics").status_code == 404
    change = client.post(f"/my/appointments/{their_appointment.pk}/change/", {"kind": "cancel"})
    assert change.status_code == 404
    assert not ChangeRequest.objects.exists()
    assert client.get("/my/check-ins/999999/calendar.ics").status_code == 404


def test_a_staff_sign_in_is_never_a_patient_session(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    client = patient_client(coordinator, patient)
    client.force_login(coordinator)
    assert client.get("/my/").status_code == 302  # the patient's session ended


def test_patient_pages_are_audited_under_the_patient(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    client = patient_client(coordinator, patient)
    client.get("/my/consultation/")
    event = AuditEvent.objects.filter(patient_id=patient.pk, action=AuditEvent.VIEW).last()
    assert event is not None and event.username == f"patient {patient.mrn} (own pages)"


# --- My consultation ------------------------------------------------------------------------


def test_the_decision_in_the_patients_words(clinician: Any, coordinator: Any) -> None:
    client = patient_client(coordinator, candidate(clinician))
    page = client.get("/my/consultation/").content.decode()
    assert "Regenerative injections are a reasonable option for you" in page
    assert "Has a clinician reviewed your MRI?" in page
    assert "Is the check for serious warning signs clear?" in page
    assert "What the clinic recommends" in page


# --- My plan: acceptance at home ------------------------------------------------------------


def test_the_patient_accepts_the_plan_they_read(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    client = patient_client(coordinator, patient)
    page = client.get("/my/plan/")
    assert page.status_code == 200 and b"Accept the plan" in page.content
    shown = plan_content_hash(plan)
    unticked = client.post("/my/plan/", {"shown": shown, "typed_name": "Maria Lopez"})
    assert unticked.status_code == 400 and b"Tick the statement" in unticked.content
    accepted = client.post(
        "/my/plan/",
        {"shown": shown, "typed_name": "  maría   LÓPEZ ", "consent": "on"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert accepted.status_code == 302
    plan.refresh_from_db()
    assert plan.status == CarePlan.ACCEPTED
    assert plan.accepted_by == CarePlan.BY_PATIENT and plan.accepted_witness is None
    assert plan.accepted_content_hash == shown and len(plan.accepted_pdf_sha256) == 64
    assert plan.accepted_address == "203.0.113.9"
    assert "I accept this plan" in plan.accepted_consent
    # A second click is the same acceptance.
    again = client.post("/my/plan/", {"shown": shown, "typed_name": "Maria Lopez", "consent": "on"})
    assert again.status_code in (302, 409)
    assert (
        AuditEvent.objects.filter(action=AuditEvent.SIGN, patient_id=patient.pk)
        .filter(what__contains="accepted")
        .count()
        == 1
    )
    pdf = client.get(f"/my/plan/{plan.pk}/plan.pdf")
    assert pdf.content == bytes(plan.accepted_pdf)


def test_a_plan_changed_while_read_is_not_accepted(clinician: Any, coordinator: Any) -> None:
    """The patient reads version 1; meanwhile the clinic writes version 2 with another line and
    releases it: the acceptance of what they read is refused, and nothing is accepted."""
    patient = candidate(clinician)
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    client = patient_client(coordinator, patient)
    shown = plan_content_hash(plan)
    from spinepath.plans.models import PriceItem

    newer = plan_revise(plan=plan, actor=acting(coordinator))
    plan_item_add(
        plan=newer,
        actor=acting(coordinator),
        item=PriceItem.objects.filter(category="visit").first(),
        quantity=1,
        phase="follow",
    )
    released(newer, clinician)
    refused = client.post(
        "/my/plan/", {"shown": shown, "typed_name": "Maria Lopez", "consent": "on"}
    )
    assert refused.status_code == 409
    assert b"The plan changed since this page was opened" in refused.content
    assert CarePlan.objects.get(pk=plan.pk).status == CarePlan.SUPERSEDED  # withdrawn
    assert CarePlan.objects.get(pk=newer.pk).status == CarePlan.RELEASED
    assert not CarePlan.objects.filter(patient=patient, status=CarePlan.ACCEPTED).exists()


def test_a_wrong_name_is_refused_and_kept(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    client = patient_client(coordinator, patient)
    refused = client.post(
        "/my/plan/",
        {"shown": plan_content_hash(plan), "typed_name": "Maria", "consent": "on"},
    )
    assert refused.status_code == 400 and b'value="Maria"' in refused.content
    assert CarePlan.objects.get(pk=plan.pk).status == CarePlan.RELEASED


def test_a_superseded_plan_cannot_be_accepted(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    first = accepted_plan_for(patient, clinician, timezone.localdate())
    second = plan_revise(plan=first, actor=acting(clinician))
    shown = plan_content_hash(second)
    from spinepath.plans.acceptance import plan_accept

    second = released(second, clinician)

    plan_accept(plan=second, typed_name="Maria Lopez", actor=acting(coordinator), shown=shown)
    first.refresh_from_db()
    assert first.status == CarePlan.SUPERSEDED
    from spinepath.plans.acceptance import plan_accept_by_patient

    with pytest.raises(Conflict):
        plan_accept_by_patient(
            actor=Actor.for_patient(patient.pk, "patient (own pages)", address=None, path="/my/"),
            plan_id=first.pk,
            typed_name="Maria Lopez",
            shown=first.accepted_content_hash,
            consent_given=True,
        )


def test_staff_cannot_accept_as_the_patient_by_any_route(clinician: Any, coordinator: Any) -> None:
    """The patient's own acceptance takes the patient's own actor: a staff session, an API
    client or the command line calling it is refused, and the plan stays a draft."""
    from spinepath.errors import NotAllowed
    from spinepath.plans.acceptance import plan_accept_by_patient
    from spinepath.plans.selectors import plan_content_hash
    from spinepath.plans.services import plan_create

    patient = candidate(clinician)
    plan = plan_create(patient=patient, actor=acting(clinician))
    for actor in (
        acting(coordinator),
        acting(clinician),
        Actor.for_api("ehr", address=None, path="/fhir/"),
        Actor.at_command_line("shell", "root"),
    ):
        with pytest.raises(NotAllowed):
            plan_accept_by_patient(
                actor=actor,
                plan_id=plan.pk,
                typed_name="Maria Lopez",
                shown=plan_content_hash(plan),
                consent_given=True,
            )
    plan.refresh_from_db()
    assert plan.status == CarePlan.DRAFT and plan.accepted_at is None


def test_staff_acceptance_is_marked_in_person_witnessed(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    plan = accepted_plan_for(patient, clinician, timezone.localdate())
    assert plan.accepted_by == CarePlan.IN_PERSON and plan.accepted_witness == clinician


# --- Injection sessions ---------------------------------------------------------------------


def _room() -> Room:
    return Room.objects.get_or_create(name="Procedure room", defaults={"kind": "fluoroscopy"})[0]


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


THURSDAY = date(2026, 11, 26)


def test_sessions_are_booked_from_an_accepted_plan_only(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    draft = plan_create(patient=patient, actor=acting(clinician))
    key = plan_sessions(draft)[0].session.key
    with pytest.raises(Conflict, match="accepted"):
        session_book(
            actor=acting(coordinator),
            plan_id=draft.pk,
            session_key=key,
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 9),
            minutes=60,
        )
    from spinepath.plans.acceptance import plan_accept

    draft = released(draft, clinician)

    plan_accept(plan=draft, typed_name="Maria Lopez", actor=acting(coordinator))
    mail.outbox.clear()
    booked = session_book(
        actor=acting(coordinator),
        plan_id=draft.pk,
        session_key=key,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=60,
    )
    assert booked.kind == Appointment.INJECTION and booked.patient == patient
    with pytest.raises(Conflict, match="already booked"):
        session_book(
            actor=acting(coordinator),
            plan_id=draft.pk,
            session_key=key,
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 14),
            minutes=60,
        )


def test_a_session_never_double_books_clinician_or_room(clinician: Any, coordinator: Any) -> None:
    from spinepath.errors import Invalid

    patient = candidate(clinician)
    plan = accepted_plan_for(patient, clinician, timezone.localdate())
    key = plan_sessions(plan)[0].session.key
    appointment_book(
        actor=acting(coordinator),
        clinician=clinician,
        room=Room.objects.create(name="Room A"),
        start=_at(THURSDAY, 9),
        minutes=60,
        patient=Patient.objects.create(given_name="Someone", family_name="Else"),
    )
    with pytest.raises(Conflict, match="clinician is already booked"):
        session_book(
            actor=acting(coordinator),
            plan_id=plan.pk,
            session_key=key,
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 9),
            minutes=60,
        )
    with pytest.raises(Invalid, match="working hours"):
        session_book(
            actor=acting(coordinator),
            plan_id=plan.pk,
            session_key=key,
            clinician=clinician,
            room=_room(),
            start=_at(
                THURSDAY,
                17,
            ),
            minutes=90,
        )


def test_a_renamed_patient_is_named_anew_in_the_sessions_to_book(
    clinician: Any, coordinator: Any, coordinator_client: Client
) -> None:
    """The sessions still to book are kept under the versions of the tables they show, the
    patients' among them: a new name, by the app or by SQL typed by hand, shows at once."""
    from django.db import connection

    from spinepath.patients.services import patient_update

    patient = candidate(clinician)
    accepted_plan_for(patient, clinician, timezone.localdate())
    name = f"{patient.family_name}, {patient.given_name}"
    for page in ("/worklist/", "/bookings/"):
        assert name in coordinator_client.get(page).content.decode()
    patient_update(actor=acting(coordinator), patient=patient, details={"family_name": "Novak"})
    for page in ("/worklist/", "/bookings/"):
        shown = coordinator_client.get(page).content.decode()
        assert f"Novak, {patient.given_name}" in shown and name not in shown
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET family_name = 'Horvat' WHERE id = %s", [patient.pk]
        )
    for page in ("/worklist/", "/bookings/"):
        assert f"Horvat, {patient.given_name}" in coordinator_client.get(page).content.decode()


def test_the_coordinator_books_from_the_worklist_and_the_patient_sees_it(
    clinician: Any,
    coordinator: Any,
    coordinator_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    patient = candidate(clinician)
    plan = accepted_plan_for(patient, clinician, timezone.localdate())
    key = plan_sessions(plan)[0].session.key
    worklist = coordinator_client.get("/worklist/")
    assert b"Injection sessions not yet booked" in worklist.content
    url = f"/bookings/sessions/{plan.pk}/{key}/"
    assert url.encode() in worklist.content
    form = coordinator_client.get(url).content.decode()
    submission = form.split('name="submission" value="')[1].split('"')[0]
    bad = coordinator_client.post(
        url,
        {
            "submission": submission,
            "clinician": clinician.pk,
            "room": _room().pk,
            "date": "2026-11-26",
            "time": "25:00",
            "minutes": "60",
        },
    )
    assert bad.status_code == 400 and b"2026-11-26" in bad.content
    with django_capture_on_commit_callbacks(execute=True):
        done = coordinator_client.post(
            url,
            {
                "submission": submission,
                "clinician": clinician.pk,
                "room": _room().pk,
                "date": "2026-11-26",
                "time": "09:00",
                "minutes": "60",
            },
        )
    assert done.status_code == 302
    assert b"Injection sessions not yet booked" not in coordinator_client.get("/worklist/").content
    confirmation = next(m for m in mail.outbox if "Injection session" in m.subject)
    assert confirmation.to == ["maria@example.org"]
    assert "BEGIN:VEVENT" in str(confirmation.attachments[0][1])
    client = patient_client(coordinator, patient)
    page = client.get("/my/appointments/")
    assert b"Injection session" in page.content
    appointment = Appointment.objects.get(plan=plan)
    ics = client.get(f"/my/appointments/{appointment.pk}/calendar.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content and b"Injection session" in ics.content
    asked = client.post(f"/my/appointments/{appointment.pk}/change/", {"kind": "reschedule"})
    client.post(f"/my/appointments/{appointment.pk}/change/", {"kind": "reschedule"})
    assert asked.status_code == 302 and ChangeRequest.objects.count() == 1
    assert b"asks to move" in coordinator_client.get("/bookings/").content


def test_a_procedure_links_to_its_booked_session(clinician: Any, coordinator: Any) -> None:
    from treatment_helpers import inject

    patient = candidate(clinician)
    plan = accepted_plan_for(patient, clinician, timezone.localdate())
    key = plan_sessions(plan)[0].session.key
    booked = session_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        session_key=key,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=60,
    )
    with time_machine.travel(_at(THURSDAY, 11), tick=False):
        procedure = inject(patient, clinician, THURSDAY)
    booked.refresh_from_db()
    assert booked.procedure_id == procedure.pk  # the appointment names the injection done in it


# --- Questionnaires and progress ------------------------------------------------------------


def test_a_due_questionnaire_is_answered_from_the_patients_pages(
    clinician: Any, coordinator: Any
) -> None:
    patient = with_contact(treated(clinician, 40))
    client = patient_client(coordinator, patient)
    page = client.get("/my/questionnaires/")
    assert b"6 weeks check-in" in page.content or b"check-in" in page.content
    visit = patient.visits.filter(key="6w").get()
    started = client.post(f"/my/questionnaires/{visit.pk}/start/")
    assert started.status_code == 302 and started["Location"].startswith("/q/")
    assert client.get(started["Location"]).status_code == 200
    progress = client.get("/my/progress/")
    assert b"Too early to judge" in progress.content


def test_a_new_plan_version_takes_over_its_booked_sessions(
    clinician: Any, coordinator: Any, coordinator_client: Client
) -> None:
    from spinepath.plans.acceptance import plan_accept

    patient = candidate(clinician)
    first = accepted_plan_for(patient, clinician, timezone.localdate())
    key = plan_sessions(first)[0].session.key
    booked = session_book(
        actor=acting(coordinator),
        plan_id=first.pk,
        session_key=key,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=60,
    )
    second = plan_revise(plan=first, actor=acting(clinician))
    second = released(second, clinician)
    plan_accept(plan=second, typed_name="Maria Lopez", actor=acting(coordinator))
    booked.refresh_from_db()
    assert booked.plan_id == second.pk and booked.status == Appointment.BOOKED
    assert plan_sessions(second)[0].appointment == booked
    assert b"Injection sessions not yet booked" not in coordinator_client.get("/worklist/").content


def test_signing_in_rotates_the_csrf_token_and_closes_older_links(
    clinician: Any, coordinator: Any
) -> None:
    patient = candidate(clinician)
    older = link_token(coordinator, patient)
    token = link_token(coordinator, patient)
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "A" * 32
    page = client.get(f"/my/in/{token}/")
    form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    response = client.post(
        f"/my/in/{token}/",
        {"birth_date": BIRTH.isoformat(), "csrfmiddlewaretoken": form_token.decode()},
    )
    assert response.status_code == 302
    assert client.cookies["csrftoken"].value != "A" * 32
    assert sign_in(Client(), older).status_code == 410  # the older email's link is closed


def test_a_second_click_after_acceptance_says_thank_you(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    client = patient_client(coordinator, patient)
    form = {"shown": plan_content_hash(plan), "typed_name": "Maria Lopez", "consent": "on"}
    assert client.post("/my/plan/", form).status_code == 302
    second = client.post("/my/plan/", form, follow=True)
    assert second.status_code == 200 and b"You accepted your plan" in second.content
    assert b"can no longer be accepted" not in second.content


def test_invisible_characters_are_no_signature(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    client = patient_client(coordinator, patient)
    form = {"shown": plan_content_hash(plan), "typed_name": "Maria\u202e Lopez", "consent": "on"}
    assert client.post("/my/plan/", form).status_code == 400
    assert CarePlan.objects.get(pk=plan.pk).status == CarePlan.RELEASED


def test_the_patient_keeps_the_pdf_of_a_plan_they_accepted_before(
    clinician: Any, coordinator: Any
) -> None:
    from spinepath.plans.acceptance import plan_accept

    patient = candidate(clinician)
    first = accepted_plan_for(patient, clinician, timezone.localdate())
    second = plan_revise(plan=first, actor=acting(clinician))
    second = released(second, clinician)
    plan_accept(plan=second, typed_name="Maria Lopez", actor=acting(coordinator))
    client = patient_client(coordinator, patient)
    page = client.get("/my/plan/")
    assert b"Plans you accepted before" in page.content
    first.refresh_from_db()
    assert client.get(f"/my/plan/{first.pk}/plan.pdf").content == bytes(first.accepted_pdf)
