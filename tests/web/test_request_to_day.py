"""A request becomes a patient, a booking is on the patient's chart, their own pages and the
clinician's day, and each hand-off closes the step before it (PATHWAY.md section 9, issue 25).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from treatment_helpers import accepted_plan_for, inject, on_day, reviewed_patient
from web_helpers import acting, signed_in

from spinepath.actors import Actor
from spinepath.errors import Conflict, Invalid, NotAllowed
from spinepath.patients.models import Patient
from spinepath.plans.selectors import plan_sessions, plan_visits
from spinepath.public import bookings, requests
from spinepath.public.models import Appointment, ConsultationRequest, Room

# The suite runs on Tuesday 2026-11-24; Thursday is two days ahead.
THURSDAY = date(2026, 11, 26)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _room(kind: str = "consultation") -> Room:
    names = {
        "consultation": "Consultation room 1",
        "fluoroscopy": "Fluoroscopy suite",
        "ultrasound": "Ultrasound room",
    }
    return Room.objects.get_or_create(name=names[kind], defaults={"kind": kind})[0]


def _request(**changes: Any) -> ConsultationRequest:
    values: dict[str, Any] = {
        "name": "Maria Lopez",
        "email": "maria@example.org",
        "phone": "555 010 2030",
        "birth_date": date(1961, 4, 30),
        "consent_to_contact": True,
    }
    values.update(changes)
    return ConsultationRequest.objects.create(**values)


def test_a_request_finds_the_charts_it_may_be_but_links_none_by_itself(
    coordinator: Any,
) -> None:
    same = Patient.objects.create(
        given_name="María", family_name="López", birth_date=date(1961, 4, 30)
    )
    same_email = Patient.objects.create(
        given_name="M", family_name="Other", email="MARIA@example.org"
    )
    Patient.objects.create(given_name="Ann", family_name="Born", birth_date=date(1961, 4, 30))
    item = _request()
    matches = requests.chart_matches(item)
    assert [m.patient for m in matches] == [same, same_email]
    assert matches[0].reasons == ("name", "date of birth") and matches[0].strong
    assert matches[1].reasons == ("email",)
    page = signed_in(coordinator).get(f"/requests/{item.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "same name, date of birth" in text and "This is the patient: link" in text
    item.refresh_from_db()
    assert item.patient is None  # shown, never linked silently


def test_a_coordinator_makes_a_chart_from_a_request_and_a_twin_is_asked_about(
    coordinator: Any,
) -> None:
    twin = Patient.objects.create(
        given_name="Maria", family_name="Lopez", birth_date=date(1961, 4, 30)
    )
    item = _request()
    client = signed_in(coordinator)
    form = {
        "do": "create",
        "given_name": "Maria",
        "family_name": "Lopez",
        "birth_date": "1961-04-30",
        "email": "maria@example.org",
        "phone": "555 010 2030",
    }
    refused = client.post(f"/requests/{item.pk}/", form)
    assert refused.status_code == 400
    assert "already exists" in refused.content.decode()
    assert 'value="Maria"' in refused.content.decode()  # what was typed is kept
    made = client.post(f"/requests/{item.pk}/", {**form, "confirm_other_person": "on"})
    assert made.status_code == 302
    item.refresh_from_db()
    assert item.patient is not None and item.patient != twin
    assert item.patient.email == "maria@example.org"
    # A second press finds the chart the first one made.
    again = client.post(f"/requests/{item.pk}/", {**form, "confirm_other_person": "on"})
    assert again.status_code == 302
    assert Patient.objects.filter(family_name="Lopez").count() == 2


def test_a_chart_needs_a_birth_date_that_makes_sense(coordinator: Any) -> None:
    item = _request(birth_date=None)
    response = signed_in(coordinator).post(
        f"/requests/{item.pk}/",
        {"do": "create", "given_name": "Maria", "family_name": "Lopez", "birth_date": "2999-01-01"},
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not Patient.objects.exists()


def test_a_booked_request_is_on_the_chart_the_patients_pages_and_the_clinicians_day(
    coordinator: Any, clinician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    item = _request()
    patient = Patient.objects.create(
        given_name="Maria",
        family_name="Lopez",
        birth_date=date(1961, 4, 30),
        email="maria@example.org",
    )
    client = signed_in(coordinator)
    client.post(f"/requests/{item.pk}/", {"do": "link", "patient": patient.pk})
    item.refresh_from_db()
    assert item.patient == patient
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/bookings/?request={item.pk}",
            {
                **_booking_form(client, f"/bookings/?request={item.pk}"),
                "clinician": clinician.pk,
                "room": _room().pk,
                "date": THURSDAY.isoformat(),
                "time": "09:00",
                "minutes": "90",
            },
            follow=True,
        )
    assert "a confirmation is on its way to maria@example.org" in response.content.decode()
    assert "for 90 minutes" in mail.outbox[-1].body
    booked = Appointment.objects.get()
    assert booked.patient == patient and booked.request == item
    item.refresh_from_db()
    assert item.status == ConsultationRequest.BOOKED
    # No second booking for the same request.
    with pytest.raises(Conflict, match="already booked"):
        bookings.appointment_book(
            actor=acting(coordinator),
            patient=patient,
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 14),
            minutes=60,
            consultation_request=item,
        )
    new_list = client.get("/requests/?status=new").content.decode()
    assert "Maria Lopez" not in new_list
    assert "Maria Lopez" in client.get("/requests/?status=booked").content.decode()
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Appointments" in chart and "Thu 2026-11-26 09:00" in chart
    day = signed_in(clinician).get(f"/day/?date={THURSDAY.isoformat()}").content.decode()
    assert "09:00-10:30" in day and "Lopez, Maria" in day
    assert "no MRI on file" in day  # what the patient still needs


def test_a_request_cannot_be_booked_for_another_chart_or_by_hand(
    coordinator: Any, clinician: Any
) -> None:
    item = _request()
    patient = Patient.objects.create(given_name="Maria", family_name="Lopez")
    other = Patient.objects.create(given_name="Ben", family_name="Walsh")
    requests.request_link(actor=acting(coordinator), request_id=item.pk, patient_id=patient.pk)
    with pytest.raises(Conflict, match="Link the request"):
        bookings.appointment_book(
            actor=acting(coordinator),
            patient=other,
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 9),
            minutes=60,
            consultation_request=item,
        )
    with pytest.raises(Invalid, match="booked by booking its consultation"):
        requests.request_status_set(actor=acting(coordinator), request_id=item.pk, status="booked")
    with pytest.raises(NotAllowed):
        requests.request_link(
            actor=Actor.for_patient(patient.pk, "Maria Lopez", address=None, path="/my/"),
            request_id=item.pk,
            patient_id=other.pk,
        )


def test_cancelling_asks_first_and_makes_the_request_new_again(
    coordinator: Any, clinician: Any
) -> None:
    item = _request()
    patient = Patient.objects.create(given_name="Maria", family_name="Lopez", phone="555 0101")
    requests.request_link(actor=acting(coordinator), request_id=item.pk, patient_id=patient.pk)
    booked = bookings.appointment_book(
        actor=acting(coordinator),
        patient=patient,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=60,
        consultation_request=item,
    )
    client = signed_in(coordinator)
    asked = client.get(f"/bookings/{booked.pk}/cancel/").content.decode()
    assert "no email on file: nothing will be sent" in asked and "555 0101" in asked
    # A post without the confirmation's own button cancels nothing.
    client.post(f"/bookings/{booked.pk}/cancel/", {})
    booked.refresh_from_db()
    assert booked.status == Appointment.BOOKED
    done = client.post(f"/bookings/{booked.pk}/cancel/", {"confirm": "yes"}, follow=True)
    assert "nothing was sent: tell them by phone (555 0101)" in done.content.decode()
    booked.refresh_from_db()
    item.refresh_from_db()
    assert booked.status == Appointment.CANCELLED and item.status == ConsultationRequest.NEW


def test_the_consultation_started_on_the_day_closes_the_booking_and_the_request(
    coordinator: Any, clinician: Any
) -> None:
    item = _request()
    patient = Patient.objects.create(given_name="Maria", family_name="Lopez")
    requests.request_link(actor=acting(coordinator), request_id=item.pk, patient_id=patient.pk)
    booked = bookings.appointment_book(
        actor=acting(coordinator),
        patient=patient,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=60,
        consultation_request=item,
    )
    with on_day(THURSDAY, 9):
        client = signed_in(clinician)
        day = client.get("/day/").content.decode()
        assert "Start the consultation" in day
        key = day.split('name="start_key" value="')[1].split('"')[0]
        client.post(f"/patients/{patient.pk}/consultations/new/", {"start_key": key})
        booked.refresh_from_db()
        item.refresh_from_db()
        assert booked.status == Appointment.DONE and booked.encounter is not None
        assert item.status == ConsultationRequest.SEEN
        assert "Open the consultation" in client.get("/day/").content.decode()
    with pytest.raises(Conflict, match="took place"):
        bookings.appointment_cancel(actor=acting(coordinator), appointment=booked)


def test_an_injection_needs_the_room_its_guidance_needs(coordinator: Any, clinician: Any) -> None:
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "room-kind")
    plan = accepted_plan_for(patient, clinician, review)
    key = plan_sessions(plan)[0].session.key
    client = signed_in(coordinator)
    response = client.post(
        f"/bookings/sessions/{plan.pk}/{key}/",
        {
            **_booking_form(client, f"/bookings/sessions/{plan.pk}/{key}/"),
            "clinician": clinician.pk,
            "room": _room("ultrasound").pk,
            "date": THURSDAY.isoformat(),
            "time": "09:00",
            "minutes": "60",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["room"] == [
        "This injection session needs a fluoroscopy suite; this room is an ultrasound room."
    ]
    with pytest.raises(Invalid, match="needs a fluoroscopy suite"):
        bookings.session_book(
            actor=acting(coordinator),
            plan_id=plan.pk,
            session_key=key,
            clinician=clinician,
            room=_room("consultation"),
            start=_at(THURSDAY, 9),
            minutes=60,
        )
    assert not Appointment.objects.exists()


def test_a_recorded_injection_completes_its_session_even_on_another_day(
    coordinator: Any, clinician: Any
) -> None:
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "early-inject")
    plan = accepted_plan_for(patient, clinician, review)
    key = plan_sessions(plan)[0].session.key
    booked = bookings.session_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        session_key=key,
        clinician=clinician,
        room=_room("fluoroscopy"),
        start=_at(THURSDAY + timedelta(days=6), 9),
        minutes=60,
    )
    procedure = inject(patient, clinician, timezone.localdate())  # done today, booked next week
    booked.refresh_from_db()
    assert booked.status == Appointment.DONE and booked.procedure == procedure
    state = plan_sessions(plan)[0]
    assert state.done and state.appointment == booked
    page = signed_in(clinician).get(f"/plans/{plan.pk}/").content.decode()
    assert "done (booked 2026-12-02, injected 2026-11-24)" in page
    # Nothing is left to book, and the day no longer offers to record it.
    assert "Book this session" not in page


def test_the_pre_procedure_visit_is_booked_once_from_an_accepted_plan_and_held_on_its_day(
    coordinator: Any, clinician: Any
) -> None:
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "pre-visit")
    plan = accepted_plan_for(patient, clinician, review)
    visit = plan_visits(plan)[0]
    assert visit.key == "visit-1" and "Pre-procedure visit" in visit.label
    page = signed_in(coordinator).get(f"/plans/{plan.pk}/").content.decode()
    assert "Book this visit" in page
    with pytest.raises(Invalid, match="consultation room"):
        bookings.visit_book(
            actor=acting(coordinator),
            plan_id=plan.pk,
            visit_key=visit.key,
            clinician=clinician,
            room=_room("fluoroscopy"),
            start=_at(THURSDAY, 9),
            minutes=30,
        )
    booked = bookings.visit_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        visit_key=visit.key,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=30,
    )
    with pytest.raises(Conflict, match="already booked"):
        bookings.visit_book(
            actor=acting(coordinator),
            plan_id=plan.pk,
            visit_key=visit.key,
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 11),
            minutes=30,
        )
    with pytest.raises(Conflict, match="not due yet"):
        bookings.visit_held(actor=acting(clinician), appointment_id=booked.pk)
    with on_day(THURSDAY, 10):
        client = signed_in(clinician)
        day = client.get("/day/").content.decode()
        assert "Mark the visit as held" in day
        client.post(f"/bookings/{booked.pk}/held/")
        client.post(f"/bookings/{booked.pk}/held/")  # a double click changes nothing twice
    booked.refresh_from_db()
    assert booked.status == Appointment.DONE
    assert plan_visits(plan)[0].done


def test_a_visit_is_never_booked_before_the_plan_is_accepted(
    coordinator: Any, clinician: Any
) -> None:
    from spinepath.plans.services import plan_create

    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "draft-visit")
    draft = plan_create(patient=patient, actor=acting(clinician))
    with pytest.raises(Conflict, match="accepted"):
        bookings.visit_book(
            actor=acting(coordinator),
            plan_id=draft.pk,
            visit_key="visit-1",
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 9),
            minutes=30,
        )


def test_the_clinicians_day_and_week_show_steps_and_free_time(
    coordinator: Any, clinician: Any
) -> None:
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "day-view")
    plan = accepted_plan_for(patient, clinician, review)
    bookings.session_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        session_key=plan_sessions(plan)[0].session.key,
        clinician=clinician,
        room=_room("fluoroscopy"),
        start=_at(THURSDAY, 13),
        minutes=60,
    )
    client = signed_in(coordinator)
    by_room = client.get(f"/day/?date={THURSDAY.isoformat()}&by=room").content.decode()
    assert "Fluoroscopy suite" in by_room and "13:00-14:00" in by_room
    assert "pre-procedure visit not held yet" in by_room  # the plan's visit comes first
    by_clinician = client.get(f"/day/?date={THURSDAY.isoformat()}").content.decode()
    assert "Book a consultation here" in by_clinician and "14:00-18:00" in by_clinician
    week = client.get(f"/week/?date={THURSDAY.isoformat()}").content.decode()
    assert "Thu 26 Nov" in week and "Injection session" in week
    # A nonsense day shows today rather than an error.
    assert client.get("/day/?date=not-a-day").status_code == 200
    assert client.get("/week/?date=99999-01-01").status_code == 200


def test_a_clinician_lands_on_their_own_day(clinician: Any, coordinator: Any) -> None:
    from django.conf import settings
    from django.urls import reverse

    assert reverse(settings.LOGIN_REDIRECT_URL) == "/day/"
    mine = signed_in(clinician).get("/day/")
    assert mine.context["whose"] == clinician.pk
    everyone = signed_in(coordinator).get("/day/")
    assert everyone.context["whose"] is None


# --- What the attack on the calendar found (issue 25) ----------------------------------------


def _booking_form(client: Any, url: str) -> dict[str, str]:
    page = client.get(url).content.decode()
    key = re.search(r'name="submission" value="([^"]+)"', page)
    assert key is not None
    return {"submission": key.group(1)}


def test_a_double_click_on_book_books_once_and_says_booked(
    coordinator: Any, clinician: Any
) -> None:
    patient = Patient.objects.create(given_name="Ben", family_name="Walsh")
    client = signed_in(coordinator)
    url = f"/bookings/?patient={patient.pk}"
    form = {
        **_booking_form(client, url),
        "clinician": str(clinician.pk),
        "room": str(_room().pk),
        "date": THURSDAY.isoformat(),
        "time": "11:00",
        "minutes": "60",
    }
    assert ">Submission<" not in client.get(url).content.decode()  # the form's key has no label
    first = client.post(url, form, follow=True).content.decode()
    second = client.post(url, form, follow=True).content.decode()
    assert "Consultation booked" in first and "Consultation booked" in second
    assert "already booked" not in second
    assert Appointment.objects.filter(patient=patient).count() == 1
    # The same form's key for another patient is refused, never answered with this booking.
    other = Patient.objects.create(given_name="Ann", family_name="Other")
    refused = client.post(f"/bookings/?patient={other.pk}", form)
    assert "used for another booking" in refused.content.decode()


def test_a_time_off_the_five_minute_marks_is_refused(coordinator: Any, clinician: Any) -> None:
    patient = Patient.objects.create(given_name="Ben", family_name="Walsh")
    client = signed_in(coordinator)
    url = f"/bookings/?patient={patient.pk}"
    response = client.post(
        url,
        {
            **_booking_form(client, url),
            "clinician": str(clinician.pk),
            "room": str(_room().pk),
            "date": THURSDAY.isoformat(),
            "time": "08:07",
            "minutes": "60",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["time"] == [
        "Book on a 5-minute mark, for example 14:05 or 14:15."
    ]


def test_moving_to_the_same_time_sends_nothing_and_a_stale_cancel_says_so(
    coordinator: Any, clinician: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = Patient.objects.create(given_name="Ben", family_name="Walsh", email="ben@example.org")
    booked = bookings.appointment_book(
        actor=acting(coordinator),
        patient=patient,
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=60,
    )
    mail.outbox.clear()
    client = signed_in(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        same = client.post(
            f"/bookings/{booked.pk}/change/",
            {"date": THURSDAY.isoformat(), "time": "09:00", "minutes": "60"},
            follow=True,
        )
    assert "Nothing changed" in same.content.decode() and mail.outbox == []
    client.post(f"/bookings/{booked.pk}/cancel/", {"confirm": "yes"})
    again = client.post(f"/bookings/{booked.pk}/cancel/", {"confirm": "yes"}, follow=True)
    assert "was already cancelled" in again.content.decode()
    assert "cannot be moved" in client.get(f"/bookings/{booked.pk}/change/").content.decode()


def test_a_request_is_linked_only_to_a_chart_it_was_shown_and_never_silently_relinked(
    coordinator: Any,
) -> None:
    item = _request()
    match = Patient.objects.create(
        given_name="Maria", family_name="Lopez", birth_date=date(1961, 4, 30)
    )
    stranger = Patient.objects.create(given_name="Grace", family_name="Taylor")
    client = signed_in(coordinator)
    refused = client.post(
        f"/requests/{item.pk}/", {"do": "link", "patient": stranger.pk}, follow=True
    )
    assert "Choose one of the charts shown" in refused.content.decode()
    client.post(f"/requests/{item.pk}/", {"do": "link", "patient": match.pk})
    twin = Patient.objects.create(
        given_name="Maria", family_name="Lopez", birth_date=date(1961, 4, 30)
    )
    relinked = client.post(f"/requests/{item.pk}/", {"do": "link", "patient": twin.pk}, follow=True)
    assert "unlink it first" in relinked.content.decode()
    item.refresh_from_db()
    assert item.patient == match
    made = client.post(
        f"/requests/{item.pk}/",
        {"do": "create", "given_name": "X", "family_name": "Y", "birth_date": "1980-01-01"},
        follow=True,
    )
    assert "no chart was made" in made.content.decode()
    client.post(f"/requests/{item.pk}/", {"do": "unlink"})
    item.refresh_from_db()
    assert item.patient is None


def test_the_day_reads_any_clinician_or_date_without_an_error(coordinator: Any) -> None:
    client = signed_in(coordinator)
    for query in ("clinician=99999999999999999999", "clinician=-1", "date=2026-02-30"):
        for page in ("/day/", "/week/"):
            response = client.get(f"{page}?{query}")
            assert response.status_code == 200, (page, query)
    said = client.get("/day/?date=2026-02-30").content.decode()
    assert "is not a day to show" in said


def test_the_visit_comes_before_the_injection(coordinator: Any, clinician: Any) -> None:
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, "visit-order")
    plan = accepted_plan_for(patient, clinician, review)
    bookings.session_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        session_key=plan_sessions(plan)[0].session.key,
        clinician=clinician,
        room=_room("fluoroscopy"),
        start=_at(THURSDAY, 13),
        minutes=60,
    )
    with pytest.raises(Conflict, match="the pre-procedure visit comes before it"):
        bookings.visit_book(
            actor=acting(coordinator),
            plan_id=plan.pk,
            visit_key="visit-1",
            clinician=clinician,
            room=_room(),
            start=_at(THURSDAY, 14),
            minutes=30,
        )
    visit = bookings.visit_book(
        actor=acting(coordinator),
        plan_id=plan.pk,
        visit_key="visit-1",
        clinician=clinician,
        room=_room(),
        start=_at(THURSDAY, 9),
        minutes=30,
    )
    # Its move keeps its length and keeps it before the session.
    page = signed_in(coordinator).get(f"/bookings/{visit.pk}/change/").content.decode()
    assert '<option value="30" selected>' in page
    with pytest.raises(Conflict, match="comes before it"):
        bookings.appointment_reschedule(
            actor=acting(coordinator), appointment=visit, start=_at(THURSDAY, 15), minutes=30
        )


def test_a_chart_made_again_after_an_unlink_is_a_new_chart(coordinator: Any) -> None:
    """Found in review: the second chart of a request came back as the first one."""
    item = _request(name="Maria Lopez", birth_date=date(1961, 4, 30))
    client = signed_in(coordinator)
    form = {
        "do": "create",
        "given_name": "Maria",
        "family_name": "Lopes",
        "birth_date": "1961-04-30",
    }
    client.post(f"/requests/{item.pk}/", form)
    item.refresh_from_db()
    wrong = item.patient
    assert wrong is not None and wrong.family_name == "Lopes"
    client.post(f"/requests/{item.pk}/", {"do": "unlink"})
    client.post(f"/requests/{item.pk}/", {**form, "family_name": "Lopez"})
    item.refresh_from_db()
    assert item.patient is not None and item.patient != wrong
    assert item.patient.family_name == "Lopez"
