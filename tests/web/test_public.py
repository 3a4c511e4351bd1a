"""Public pages, the self-screen, consultation requests and booking."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from web_helpers import REQUEST, SCREEN, acting

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.errors import Conflict, Invalid, NotAllowed
from spinepath.pathway.selfscreen import RED_FLAG_QUESTIONS
from spinepath.patients.models import Patient
from spinepath.public import bookings
from spinepath.public.models import Appointment, ConsultationRequest, PublicSubmission, Room


def test_the_indication_page_is_public_and_shows_no_prices(db: Any) -> None:
    response = Client().get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Back pain has sources" in content and "Worn (degenerated) disc" in content
    assert "78% of patients had less pain at 12 months" in content
    assert "$" not in content and "7,500" not in content and "USD" not in content


def test_an_unknown_protocol_is_404(db: Any) -> None:
    assert Client().get("/public/knee/").status_code == 404


def test_a_likely_candidate_is_told_to_book(db: Any) -> None:
    response = Client().post("/public/screen/", SCREEN)
    assert response.context["result"].outcome == "book_consultation"
    assert b"You may be a candidate - book a consultation" in response.content
    assert b"not a decision" in response.content


@pytest.mark.parametrize("flag", sorted(RED_FLAG_QUESTIONS))
def test_every_red_flag_says_see_a_doctor_today(db: Any, flag: str) -> None:
    response = Client().post("/public/screen/", {**SCREEN, "red_flags": [flag]})
    assert response.context["result"].outcome == "see_doctor_today"
    # Cauda equina signs are an emergency: the title says so (the other flags: today).
    title = (
        b"Go to an emergency department now" if flag == "bladder_bowel" else b"See a doctor today"
    )
    assert title in response.content
    assert b"Request a consultation</a>" not in response.content.split(b"</header>")[1]


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"pain_months": "2"}, "conservative_care_first"),
        ({"therapy_weeks": "3"}, "conservative_care_first"),
        ({"still_improving": "yes"}, "conservative_care_first"),
        ({"where": "leg"}, "conservative_care_first"),
        ({"surgery": "recent"}, "conservative_care_first"),
        ({"mri": "older"}, "mri_first"),
        ({"mri": "none"}, "mri_first"),
        ({"pain_months": "1", "mri": "none"}, "conservative_care_first"),
        ({"stable_weakness": "yes", "pain_months": "1", "mri": "none"}, "mri_first"),
    ],
)
def test_screen_outcomes_mirror_the_rules(db: Any, changes: dict[str, str], outcome: str) -> None:
    response = Client().post("/public/screen/", {**SCREEN, **changes})
    assert response.context["result"].outcome == outcome


def test_the_screen_stores_nothing_personal(db: Any) -> None:
    Client().post("/public/screen/", SCREEN)
    assert not ConsultationRequest.objects.exists()
    assert "127.0.0.1" not in PublicSubmission.objects.get().client


def test_an_incomplete_screen_names_the_question(db: Any) -> None:
    response = Client().post("/public/screen/", {**SCREEN, "mri": ""})
    assert response.status_code == 400
    assert "mri" in response.context["form"].errors


def test_a_request_lands_in_the_inbox_and_is_acknowledged(
    django_capture_on_commit_callbacks: Any, db: Any, coordinator_client: Client
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/public/request/", REQUEST)
    assert b"We received your request" in response.content
    assert ConsultationRequest.objects.get().name == "Maria Lopez"
    assert mail.outbox[0].to == ["maria@example.org"]
    assert b"Maria Lopez" in coordinator_client.get("/requests/").content


def test_a_request_without_consent_keeps_what_was_typed(db: Any) -> None:
    response = Client().post("/public/request/", {**REQUEST, "consent_to_contact": ""})
    assert response.status_code == 400
    assert "consent_to_contact" in response.context["form"].errors
    assert b'value="Tuesday mornings"' in response.content
    assert not ConsultationRequest.objects.exists()


def test_a_request_needs_a_way_to_reach_the_person(db: Any) -> None:
    response = Client().post("/public/request/", {**REQUEST, "email": ""})
    assert response.context["form"].errors["email"] == ["Give an email address or a phone number."]


def test_the_honeypot_stores_nothing(db: Any) -> None:
    response = Client().post("/public/request/", {**REQUEST, "website": "http://spam"})
    assert response.status_code == 200
    assert not ConsultationRequest.objects.exists() and not mail.outbox


def test_the_sixth_request_in_ten_minutes_is_refused(db: Any) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/public/request/", REQUEST).status_code == 200
    response = client.post("/public/request/", REQUEST)
    assert response.status_code == 429
    assert b"Please try again in 10 minutes" in response.content
    assert 540 < int(response["Retry-After"]) <= 600  # when, in seconds, for a client to wait
    assert ConsultationRequest.objects.count() == 5


def test_public_forms_need_the_csrf_token(db: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/public/request/", REQUEST).status_code == 403


def test_an_oversized_field_is_refused(db: Any) -> None:
    response = Client().post("/public/request/", {**REQUEST, "message": "x" * 5000})
    assert "message" in response.context["form"].errors


def test_staff_pages_are_not_public(db: Any) -> None:
    for path in ("/requests/", "/bookings/"):
        assert Client().get(path).status_code == 302


# --- booking ------------------------------------------------------------------------------


def next_weekday(hour: int, minute: int = 0, days: int = 1) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return timezone.make_aware(
        datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute)
    )


@pytest.fixture
def room(db: Any) -> Room:
    return Room.objects.get_or_create(name="Consultation room 1")[0]


def book(
    user: Any,
    clinician: Any,
    room: Room,
    start: datetime,
    minutes: int = 60,
    email: str = "maria@example.org",
) -> Appointment:
    patient = Patient.objects.get_or_create(
        given_name="Maria", family_name="Lopez", defaults={"email": email}
    )[0]
    return bookings.appointment_book(
        actor=acting(user),
        patient=patient,
        clinician=clinician,
        room=room,
        start=start,
        minutes=minutes,
    )


def test_booking_sends_a_confirmation_with_a_calendar_file(
    coordinator: Any, clinician: Any, room: Room, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves on commit
        appointment = book(coordinator, clinician, room, next_weekday(9))
    message = mail.outbox[-1]
    assert "is booked for" in message.body
    name, content, kind = message.attachments[0]
    assert (name, kind) == ("consultation.ics", "text/calendar")
    text = content.decode() if isinstance(content, bytes) else content
    assert "BEGIN:VEVENT" in text and appointment.uid in text


def test_the_clinician_cannot_be_double_booked(
    coordinator: Any, clinician: Any, room: Room
) -> None:
    book(coordinator, clinician, room, next_weekday(9))
    other_room = Room.objects.create(name="Room 2", kind="consultation")
    with pytest.raises(Conflict, match="The clinician is already booked"):
        book(coordinator, clinician, other_room, next_weekday(9, 30))


def test_the_room_cannot_be_double_booked(coordinator: Any, clinician: Any, room: Room) -> None:
    book(coordinator, clinician, room, next_weekday(9))
    second = staff_user_create(
        actor=Actor.system(), username="dr2", password="x" * 12, role="clinician"
    )
    with pytest.raises(Conflict, match="Room Consultation room 1 is already booked"):
        book(coordinator, second, room, next_weekday(9, 45))


def test_back_to_back_bookings_are_fine(coordinator: Any, clinician: Any, room: Room) -> None:
    book(coordinator, clinician, room, next_weekday(9))
    book(coordinator, clinician, room, next_weekday(10))
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(("hour", "minutes"), [(7, 60), (17, 90), (9, 45), (9, 120)])
def test_outside_working_hours_or_length_is_refused(
    coordinator: Any, clinician: Any, room: Room, hour: int, minutes: int
) -> None:
    with pytest.raises(Invalid):
        book(coordinator, clinician, room, next_weekday(hour), minutes)


def test_a_patient_cannot_book_themselves(db: Any, clinician: Any, room: Room) -> None:
    with pytest.raises(NotAllowed):
        book(clinician.__class__.objects.create_user("nobody"), clinician, room, next_weekday(9))


def test_a_clash_on_the_booking_page_keeps_the_form(
    coordinator: Any, coordinator_client: Client, clinician: Any, room: Room
) -> None:
    start = next_weekday(11)
    book(coordinator, clinician, room, start)
    ben = Patient.objects.create(given_name="Ben", family_name="Walsh")
    page = coordinator_client.get(f"/bookings/?patient={ben.pk}").content.decode()
    key = page.split('name="submission" value="')[1].split('"')[0]
    response = coordinator_client.post(
        f"/bookings/?patient={ben.pk}",
        {
            "submission": key,
            "clinician": clinician.pk,
            "room": room.pk,
            "date": start.date().isoformat(),
            "time": "11:30",
            "minutes": "75",
        },
    )
    assert response.status_code == 400
    assert "already booked" in str(response.context["form"].errors["time"])
    assert b'value="11:30"' in response.content
    assert b'<option value="75" selected>' in response.content
    assert "Book a consultation for Ben Walsh" in response.content.decode()


def test_reschedule_and_cancel_tell_the_patient(
    coordinator: Any, clinician: Any, room: Room, django_capture_on_commit_callbacks: Any
) -> None:
    appointment = book(coordinator, clinician, room, next_weekday(9))
    with django_capture_on_commit_callbacks(execute=True):
        bookings.appointment_reschedule(
            actor=acting(coordinator), appointment=appointment, start=next_weekday(14), minutes=90
        )
    assert "has been moved" in mail.outbox[-1].body
    with django_capture_on_commit_callbacks(execute=True):
        bookings.appointment_cancel(actor=acting(coordinator), appointment=appointment)
    ics = mail.outbox[-1].attachments[0][1]
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert "has been cancelled" in mail.outbox[-1].body and "METHOD:CANCEL" in ics
    book(coordinator, clinician, room, next_weekday(14))  # the time is free again


def test_a_mail_failure_never_undoes_a_booking(
    coordinator: Any,
    clinician: Any,
    room: Room,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    from django.core.mail import EmailMessage

    def broken(self: Any, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError("the mail server is down")

    monkeypatch.setattr(EmailMessage, "send", broken)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(coordinator, clinician, room, next_weekday(10))
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_bookings_of_one_slot_give_one_appointment(
    coordinator: Any, clinician: Any
) -> None:
    room = Room.objects.get_or_create(name="Consultation room 1")[0]
    start = next_weekday(13)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            book(coordinator, clinician, room, start, email="")
            outcomes.append("booked")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.filter(status="booked").count() == 1


def test_a_warning_sign_is_answered_at_once_without_the_other_questions(db: Any) -> None:
    response = Client().post("/public/screen/", {"red_flags": ["bladder_bowel"]})
    assert response.status_code == 200
    assert response.context["result"].outcome == "see_doctor_today"
    assert b"Go to an emergency department now" in response.content
    # One instruction: an emergency is never also "see your doctor today".
    assert b"doctor today" not in response.content
    assert b"This field is required" not in response.content
    other = Client().post("/public/screen/", {"red_flags": ["fever"]})
    assert b"See a doctor today" in other.content
    assert b"emergency department" not in other.content


def test_a_request_needs_a_phone_number_that_can_be_called(db: Any) -> None:
    response = Client().post("/public/request/", {**REQUEST, "email": "", "phone": "abc"})
    assert response.status_code == 400
    assert response.context["form"].errors["phone"] == [
        "Enter a phone number we can call, for example (555) 010-0123, or +44 20 7946 0018 abroad."
    ]
    local = Client().post("/public/request/", {**REQUEST, "email": "", "phone": "555 0142"})
    assert local.status_code == 400
    assert "Include the area code" in local.context["form"].errors["phone"][0]
    assert 'value="555 0142"' in local.content.decode()
    assert not ConsultationRequest.objects.exists()


def test_no_therapy_needs_no_answer_about_its_progress(db: Any) -> None:
    answers = {k: v for k, v in SCREEN.items() if k != "still_improving"}
    response = Client().post("/public/screen/", {**answers, "therapy_weeks": "0"})
    assert response.status_code == 200
    assert b"you have not had any yet" in response.content


def test_the_indication_page_is_cached_until_its_protocol_file_changes(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spinepath.public import views
    from spinepath.public.protocols import load_protocol

    original = load_protocol("spine")
    first = Client().get("/").content.decode()
    assert "Back pain has sources" in first
    changed = {**original, "generators": [{"name": "Renamed source", "plain": "", "option": ""}]}
    monkeypatch.setattr(views, "load_protocol", lambda slug: changed)
    # The same file version: the cached body is served, the protocol is not rendered again.
    assert "Renamed source" not in Client().get("/").content.decode()
    # The file changed (a new version): the page is rendered from it.
    from spinepath.public import page_cache

    monkeypatch.setattr(views, "protocol_version", lambda slug: "edited")
    monkeypatch.setattr(page_cache, "protocol_version", lambda slug: "edited")
    assert "Renamed source" in Client().get("/").content.decode()


def test_a_visitor_without_cookies_gets_the_whole_page_from_the_cache(db: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = Client().get("/")
    with CaptureQueriesContext(connection) as queries:
        again = Client().get("/")
    assert again.content == first.content and len(queries) == 0
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_a_signed_in_person_or_a_form_is_never_served_from_the_page_cache(
    db: Any, clinician_client: Client
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Client().get("/")
    with CaptureQueriesContext(connection) as queries:
        clinician_client.get("/")
    assert queries  # with a session cookie: through the whole application
    assert "csrfmiddlewaretoken" in Client().get("/public/screen/").content.decode()
    assert Client().get("/public/nope/").status_code == 404
