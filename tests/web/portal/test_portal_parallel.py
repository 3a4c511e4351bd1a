"""Parallel requests change nothing twice: one booking per session, one clinician or room per
slot, one acceptance, one use of a sign-in link (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from test_portal import BIRTH, candidate, link_token
from treatment_helpers import accepted_plan_for, released
from web_helpers import acting

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.errors import Refused
from spinepath.plans.acceptance import plan_accept_by_patient
from spinepath.plans.models import CarePlan
from spinepath.plans.selectors import plan_content_hash, plan_sessions
from spinepath.plans.services import plan_create
from spinepath.portal.models import SignInLink
from spinepath.public.bookings import session_book
from spinepath.public.models import Appointment, Room

THURSDAY = date(2026, 11, 26)
N = 6


def _at(hour: int, day: date = THURSDAY) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def in_parallel(attempts: list[Callable[[], Any]]) -> list[str]:
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def run(attempt: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            attempt()
            outcomes.append("done")
        except Refused as refused:
            outcomes.append(f"refused: {refused}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_parallel_bookings_of_one_session_book_it_once(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    plan = accepted_plan_for(patient, clinician, timezone.localdate())
    key = plan_sessions(plan)[0].session.key
    room = Room.objects.get_or_create(name="Procedure room", defaults={"kind": "fluoroscopy"})[0]
    outcomes = in_parallel(
        [
            lambda hour=hour: session_book(
                actor=acting(coordinator),
                plan_id=plan.pk,
                session_key=key,
                clinician=clinician,
                room=room,
                start=_at(hour),
                minutes=60,
            )
            for hour in range(9, 9 + N)
        ]
    )
    assert outcomes.count("done") == 1, outcomes
    assert Appointment.objects.filter(plan=plan, status="booked").count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_sessions_never_share_a_clinician(clinician: Any, coordinator: Any) -> None:
    plans = []
    for i in range(N):
        patient = candidate(clinician, f"par-{i}")
        plans.append(accepted_plan_for(patient, clinician, timezone.localdate()))
    rooms = [Room.objects.create(name=f"Room {i}", kind="fluoroscopy") for i in range(N)]
    outcomes = in_parallel(
        [
            lambda plan=plan, room=room: session_book(
                actor=acting(coordinator),
                plan_id=plan.pk,
                session_key=plan_sessions(plan)[0].session.key,
                clinician=clinician,
                room=room,
                start=_at(10),
                minutes=60,
            )
            for plan, room in zip(plans, rooms, strict=True)
        ]
    )
    assert outcomes.count("done") == 1, outcomes
    assert Appointment.objects.filter(clinician=clinician, status="booked").count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_releases_release_once(clinician: Any) -> None:
    """A double click, or several tabs, releasing the same draft: released once, one event."""
    from spinepath.plans.acceptance import plan_release

    patient = candidate(clinician)
    plan = plan_create(patient=patient, actor=acting(clinician))
    shown = plan_content_hash(plan)
    outcomes = in_parallel(
        [
            lambda: plan_release(actor=acting(clinician), plan_id=plan.pk, shown=shown)
            for _ in range(N)
        ]
    )
    assert all(o == "done" for o in outcomes), outcomes
    plan.refresh_from_db()
    assert plan.status == CarePlan.RELEASED and plan.released_by == clinician
    released_events = AuditEvent.objects.filter(
        patient_id=patient.pk, what__contains="released to the patient"
    )
    assert released_events.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_acceptances_accept_once(clinician: Any) -> None:
    patient = candidate(clinician)
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    shown = plan_content_hash(plan)
    outcomes = in_parallel(
        [
            lambda: plan_accept_by_patient(
                actor=Actor.for_patient(
                    patient.pk, "patient (own pages)", address="203.0.113.7", path="/my/"
                ),
                plan_id=plan.pk,
                typed_name="Maria Lopez",
                shown=shown,
                consent_given=True,
            )
            for _ in range(N)
        ]
    )
    assert all(o == "done" for o in outcomes), outcomes
    assert CarePlan.objects.get(pk=plan.pk).status == CarePlan.ACCEPTED
    accepted = AuditEvent.objects.filter(patient_id=patient.pk, what__contains="accepted")
    assert accepted.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_link_signs_in_once_under_parallel_posts(clinician: Any, coordinator: Any) -> None:
    patient = candidate(clinician)
    token = link_token(coordinator, patient)
    codes: list[int] = []

    def post() -> None:
        codes.append(
            Client().post(f"/my/in/{token}/", {"birth_date": BIRTH.isoformat()}).status_code
        )

    in_parallel([post for _ in range(N)])
    assert sorted(codes).count(302) == 1, codes
    assert SignInLink.objects.get(patient=patient).used_at is not None
    signed_in = AuditEvent.objects.filter(patient_id=patient.pk, action=AuditEvent.SIGN_IN)
    assert signed_in.count() == 1
    assert timedelta(0) <= timezone.now() - SignInLink.objects.get().created_at
