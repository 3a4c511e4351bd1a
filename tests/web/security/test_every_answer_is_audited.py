"""Issue 23, points 2 and 5: no answer shows a patient unaudited, whatever the method.

Every address of the application (from the URL resolver, with the real ids of one patient's
whole pathway) is asked with every method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS,
TRACE), by every kind of caller (clinician, coordinator, clinic admin, the patient's own
session, an API token, nobody). An answer that shows the patient's name, birth date or record
number must have written an audit event naming that patient (as the page's patient, or among
the record numbers a list showed). A POST carries no CSRF token check (as a caller holding a
token), and each request is rolled back after it, so each one meets the same world.

The world is built once for the module; requests run in savepoints.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from suite_clock import SUITE_TODAY
from treatment_helpers import accepted_plan_for, inject, reviewed_patient
from web_helpers import PASSWORD, acting, signed_in

from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.pathway.safety import SAFETY_KEYS, EventFacts
from spinepath.patients.models import Patient
from spinepath.safety.lookback import Query as LookbackQuery
from spinepath.safety.lookback import lookback_notify

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
ROLES = ("clinician", "coordinator", "admin", "patient", "api", "anonymous")
GIVEN, FAMILY = "Zebediah", "Quillfeather"
BIRTH = date(1958, 9, 23)
# Someone on the booking calendar who has no record yet (a consultation booked by name).
UNREGISTERED = "Ottoline Brackenbury"


@dataclass
class World:
    patient: Patient
    clients: dict[str, Client]
    kwargs: dict[str, dict[str, Any]]  # per URL name: the real ids its address takes
    common: dict[str, Any]
    ids: dict[str, int] = field(default_factory=dict)


def _phi(patient: Patient) -> list[bytes]:
    """The patient's name, record number and birth date as pages and files write them."""
    texts = [GIVEN, FAMILY, patient.mrn or "", f"{FAMILY}, {GIVEN}"]
    texts += [
        BIRTH.isoformat(),
        BIRTH.strftime("%Y%m%d"),
        BIRTH.strftime("%m/%d/%Y"),
        BIRTH.strftime("%d/%m/%Y"),
        BIRTH.strftime("%B %-d, %Y"),
        "Sept. 23, 1958",
    ]
    return [t.encode() for t in texts if t]


def _build(django_db_blocker: Any) -> Iterator[World]:
    from spinepath.consultations.models import CandidacyDecision
    from spinepath.fhir_api.services import token_create
    from spinepath.fhir_api.smart.registry import Registration, smart_app_create
    from spinepath.followup.models import ReassessmentVisit
    from spinepath.followup.services import questionnaire_link_create
    from spinepath.plans.defaults import ensure_default_prices
    from spinepath.plans.models import FinancingTerms, PriceItem, PriceVersion
    from spinepath.plans.selectors import plan_sessions
    from spinepath.policies.models import PolicyDraft
    from spinepath.portal.services import PATIENT_KEY, SEEN_KEY, _new_link
    from spinepath.public.models import Appointment, ChangeRequest, ConsultationRequest, Room
    from spinepath.safety import services as safety

    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic():
        with time_machine.travel(SUITE_TODAY, tick=False), fast:
            ensure_default_prices(PriceItem, PriceVersion, FinancingTerms)
            clinician = staff_user_create(
                actor=Actor.system(),
                username="clin",
                password=PASSWORD,
                role="clinician",
                last_name="Rivera",
            )
            coordinator = staff_user_create(
                actor=Actor.system(), username="coord", password=PASSWORD, role="coordinator"
            )
            admin = staff_user_create(
                actor=Actor.system(), username="boss", password=PASSWORD, role="clinic_admin"
            )
            today = timezone.localdate()
            injected = today - timedelta(days=30)
            review = injected - timedelta(days=10)
            patient = reviewed_patient(
                clinician, review, "w-001", patient__birth_date=BIRTH.isoformat()
            )
            plan = accepted_plan_for(patient, clinician, review, sessions=3)
            procedure = inject(patient, clinician, injected)
            patient.given_name, patient.family_name = GIVEN, FAMILY
            patient.email = "zq@example.org"
            patient.save()
            encounter = patient.encounters.get()
            study = patient.imaging.first()
            decision = CandidacyDecision.objects.filter(patient=patient).first()
            visit = ReassessmentVisit.objects.filter(patient=patient).order_by("opens").first()
            assert visit is not None and study is not None and decision is not None
            token = questionnaire_link_create(actor=Actor.system(), visit=visit)
            sessions = plan_sessions(plan)
            room = Room.objects.get_or_create(
                name="Procedure room", defaults={"kind": "fluoroscopy"}
            )[0]
            start = timezone.make_aware(datetime(2026, 12, 1, 9, 0))
            booked = Appointment.objects.create(
                kind=Appointment.INJECTION,
                clinician=clinician,
                room=room,
                start=start,
                end=start + timedelta(hours=1),
                patient=patient,
                patient_name=f"{GIVEN} {FAMILY}",
                email=patient.email,
                plan=plan,
                session_key=sessions[0].session.key,
                session_label=sessions[0].session.label[:300],
                uid="w-session@spinepath",
                booked_by=coordinator,
            )
            change = ChangeRequest.objects.create(appointment=booked, kind="reschedule")
            asked = ConsultationRequest.objects.create(
                name=UNREGISTERED, email="ob@example.org", consent_to_contact=True
            )
            by_name = Appointment.objects.create(
                clinician=clinician,
                room=room,
                start=start + timedelta(hours=3),
                end=start + timedelta(hours=4),
                patient_name=UNREGISTERED,
                email="ob@example.org",
                request=asked,
                uid="w-consult@spinepath",
                booked_by=coordinator,
            )
            api_token, secret = token_create(actor=Actor.system(), name="EHR", can_write=True)
            # A SMART app staff open from the chart (its pages and endpoints are asked too).
            smart_app, _secret = smart_app_create(
                actor=Actor.system(),
                registration=Registration(
                    name="Outcome app",
                    kind="public",
                    redirect_uris="https://app.example.org/callback",
                    launch_url="https://app.example.org/launch",
                ),
            )
            draft = PolicyDraft.objects.create(
                name="tighter",
                version="2",
                text='name = "tighter"\nversion = "2"\nmri_max_age_months = 3\n',
                uploaded_by=admin,
                status=PolicyDraft.DONE,
                # The report lists the patients it would move, by record number.
                result={
                    "changed": 1,
                    "workups": 1,
                    "transitions": {"candidate -> needs_workup": 1},
                    "outcomes": [],
                    "changes": [
                        {"patient": patient.mrn, "before": "candidate", "after": "needs_workup"}
                    ],
                },
            )
            sign_in_token = _new_link(patient, None)
            # The safety records (PATHWAY.md section 10): answers, an event, a re-intervention.
            answers = dict.fromkeys(SAFETY_KEYS, False) | {"fever": True}
            report = safety.answers_from_patient(
                actor=Actor.system(), patient=patient, answers=answers, source="own_pages"
            )
            event = safety.event_record(
                actor=acting(clinician),
                patient=patient,
                entry=safety.EventInput(
                    EventFacts(
                        term="Discitis",
                        onset_on=injected + timedelta(days=3),
                        grade=3,
                        serious_criteria=frozenset({"hospitalisation"}),
                        related_procedure="probable",
                        related_product="possible",
                        expected=False,
                        action="hospitalisation",
                        outcome="ongoing",
                        resolved_on=None,
                    )
                ),
                aware_on=injected + timedelta(days=4),
                procedure_id=procedure.pk,
                report_id=report.pk,
            )
            again = safety.reintervention_record(
                actor=acting(coordinator),
                patient=patient,
                procedure_id=procedure.pk,
                kind="surgery",
                performed_on=today - timedelta(days=2),
                level=procedure.level,
                side="",
                description="Fusion at the county hospital",
                source="reported_by_patient",
            )
            # A look-back of the patient's lot, written to them (its pages name them).
            assert procedure.lot is not None
            notice_key = "w" * 24
            lookback_notify(
                actor=acting(admin),
                query=LookbackQuery(lot=procedure.lot.code),
                subject="About your injection",
                body="Dear {name}, {injections}",
                submission_key=notice_key,
            )

            from spinepath.patients.services import identifier_add

            kept, _new = identifier_add(
                actor=acting(coordinator),
                patient=patient,
                system="https://ehr.example.org/fhir",
                value="E-77",
            )

            clients = {
                "clinician": signed_in(clinician),
                "coordinator": signed_in(coordinator),
                "admin": signed_in(admin),
                "anonymous": Client(),
                "api": Client(HTTP_AUTHORIZATION=f"Bearer {secret}"),
            }
            mine = Client()
            session = mine.session
            session[PATIENT_KEY] = patient.pk
            session[SEEN_KEY] = int(timezone.now().timestamp())
            session.save()
            mine.cookies["sessionid"] = session.session_key
            clients["patient"] = mine

        common = {
            "patient_id": patient.pk,
            "encounter_id": encounter.pk,
            "study_id": study.pk,
            "decision_id": decision.pk,
            "plan_id": plan.pk,
            "procedure_id": procedure.pk,
            "visit_id": visit.pk,
            "appointment_id": booked.pk,
            "request_id": change.pk,
            "token_id": api_token.pk,
            "app_id": smart_app.pk,
            "report_id": report.pk,
            "event_id": event.pk,
            "reintervention_id": again.pk,
            "identifier_id": kept.pk,
            "key": notice_key,
            "user_id": coordinator.pk,
            "action": "deactivate",
            "draft_id": draft.pk,
            "slug": "spine",
            "session_key": sessions[0].session.key,
            "visit_key": "visit-1",
            "token": token,
            "kind": "Patient",
            "ident": str(patient.pk),
            "service": "spinepath-candidacy",
            "rest": "",
        }
        kwargs = {
            "portal:link": {"token": sign_in_token},
            "public:request_detail": {"request_id": asked.pk},
        }
        ids = {"by_name": by_name.pk, "asked": asked.pk}
        yield World(patient=patient, clients=clients, kwargs=kwargs, common=common, ids=ids)
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    yield from _build(django_db_blocker)


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace or ""
            yield from _patterns(entry, inner if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def _addresses(world: World) -> list[tuple[str, str]]:
    found = []
    for name, entry in _patterns(get_resolver()):
        wanted = set(entry.pattern.regex.groupindex) - set(entry.default_args)
        values = {**world.common, **world.kwargs.get(name, {})}
        found.append((name, reverse(name, kwargs={k: values[k] for k in wanted})))
    return sorted(set(found))


def _content(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _names_patient(event: AuditEvent, patient: Patient) -> bool:
    detail = event.detail or {}
    listed = list(detail.get("shown") or []) + list(detail.get("records") or [])
    return event.patient_id == patient.pk or patient.mrn in listed


def _ask(client: Client, method: str, path: str) -> Any:
    if method == "POST":
        return client.post(path, {})
    return client.generic(method, path)


@pytest.mark.parametrize("role", ROLES)
def test_no_answer_shows_the_patient_without_an_audit_event(
    role: str, world: World, db: Any, settings: Any
) -> None:
    settings.SPINEPATH_JOBS_INLINE = True  # a what-if started by a POST runs here, not apart
    client = world.clients[role]
    phi = _phi(world.patient)
    unaudited, errors = [], []
    for name, path in _addresses(world):
        for method in METHODS:
            cookies = copy.deepcopy(client.cookies)  # a sign-out is rolled back: so is its cookie
            with transaction.atomic():
                last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
                try:
                    response = _ask(client, method, path)
                except Exception as exc:  # a server error is a failure of its own
                    errors.append(f"{method} {path} ({name}): {type(exc).__name__}: {exc}")
                    transaction.set_rollback(True)
                    client.cookies = cookies
                    continue
                body = _content(response)
                shown = [t.decode() for t in phi if t in body]
                if shown:
                    events = AuditEvent.objects.filter(seq__gt=last or 0)
                    if not any(_names_patient(e, world.patient) for e in events):
                        unaudited.append(
                            f"{method} {path} ({name}) -> {response.status_code}: shows {shown}"
                        )
                transaction.set_rollback(True)
            client.cookies = cookies
    assert not errors, "\n".join(errors)
    assert not unaudited, "\n".join(unaudited)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"])
def test_methods_no_page_handles_are_a_405_with_no_body(method: str, world: World, db: Any) -> None:
    for role in ("coordinator", "patient", "anonymous"):
        for path in (f"/patients/{world.patient.pk}/", "/my/", "/patients/?q=Quill"):
            response = world.clients[role].generic(method, path)
            assert response.status_code == 405, (role, path)
            assert response.content == b""
            assert response["Allow"] == "GET, HEAD, POST"


def test_a_page_that_only_shows_answers_a_post_with_405(world: World, db: Any) -> None:
    client = world.clients["coordinator"]
    for path in (
        f"/patients/{world.patient.pk}/",
        f"/consultations/{world.common['encounter_id']}/review/",
        f"/decisions/{world.common['decision_id']}/",
        "/patients/?q=Quill",
        "/worklist/",
    ):
        response = client.post(path, {})
        assert (response.status_code, response.content) == (405, b""), path


def test_an_invalid_post_s_page_is_recorded_with_its_method_and_status(
    world: World, db: Any
) -> None:
    client = world.clients["coordinator"]
    with transaction.atomic():
        response = client.post(
            f"/patients/{world.patient.pk}/edit/", {"given_name": "", "family_name": ""}
        )
        assert response.status_code == 400 and FAMILY.encode() in response.content
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None
        assert (event.action, event.what, event.patient_id) == (
            "view",
            "patient details form",
            world.patient.pk,
        )
        assert (event.detail["method"], event.detail["status"]) == ("POST", "400")
        # The clinic admin reads it so on the Audit log page.
        page = world.clients["admin"].get(f"/audit/?record={world.patient.mrn}&action=view")
        assert b"answered POST with 400" in page.content
        transaction.set_rollback(True)


# --- Point 5: every list that shows patients records their record numbers ---------------------

LISTS = [
    ("/patients/", "patient search"),
    (f"/patients/?q={FAMILY[:5]}", "patient search"),
    ("/worklist/", "follow-up worklist"),
    ("/bookings/", "bookings"),
    ("/requests/", "consultation requests"),
    ("/requests/?status=all", "consultation requests"),
]


@pytest.mark.parametrize(("path", "what"), LISTS)
def test_a_list_records_every_patient_it_shows(path: str, what: str, world: World, db: Any) -> None:
    client = world.clients["coordinator"]
    with transaction.atomic():
        response = client.get(path)
        assert response.status_code == 200
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None and event.action == "view"
        assert re.fullmatch(rf"{what}: \d+ shown", event.what), event.what
        if FAMILY.encode() in response.content:
            assert world.patient.mrn in event.detail["shown"]
        if UNREGISTERED.encode() in response.content:
            assert any(
                x.startswith(("consultation request #", "appointment #"))
                for x in event.detail["unregistered"]
            ), event.detail
        transaction.set_rollback(True)


def test_the_bookings_page_names_its_patients_in_the_audit_log(world: World, db: Any) -> None:
    client = world.clients["coordinator"]
    with transaction.atomic():
        response = client.get("/bookings/")
        assert FAMILY.encode() in response.content and UNREGISTERED.encode() in response.content
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None and event.detail["shown"] == [world.patient.mrn]
        assert f"appointment #{world.ids['by_name']}" in event.detail["unregistered"]
        page = world.clients["admin"].get(f"/audit/?record={world.patient.mrn}")
        assert f"appointment #{world.ids['by_name']}".encode() in page.content
        transaction.set_rollback(True)


def test_the_requests_page_names_the_requests_it_shows(world: World, db: Any) -> None:
    client = world.clients["coordinator"]
    with transaction.atomic():
        response = client.get("/requests/")
        assert UNREGISTERED.encode() in response.content
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None
        assert event.detail["unregistered"] == [f"consultation request #{world.ids['asked']}"]
        transaction.set_rollback(True)


def test_a_workup_import_that_names_an_existing_chart_is_recorded_with_it(
    world: World, db: Any
) -> None:
    """An insider's file carrying another chart's record number as its id: the page answers
    with that chart's name and birth date, so its event names that patient."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from workup_builder import document

    client = world.clients["coordinator"]
    for extra in ({}, {"patient": str(world.patient.pk)}):
        with transaction.atomic():
            text = json.dumps(document(patient__id=world.patient.mrn, patient__sex="male"))
            response = client.post(
                "/import/",
                {
                    "file": SimpleUploadedFile("w.json", text.encode()),
                    "given_name": "A",
                    "family_name": "B",
                    **extra,
                },
            )
            assert response.status_code == 409 and FAMILY.encode() in response.content, extra
            event = AuditEvent.objects.order_by("-seq").first()
            assert event is not None and event.what == "workup import"
            assert event.patient_id == world.patient.pk
            transaction.set_rollback(True)


def test_a_new_chart_for_an_existing_person_is_recorded_with_that_patient(
    world: World, db: Any
) -> None:
    """Typing an existing patient's names and birth date on the New patient form answers with
    that chart's name and record number: the page's event names the patient."""
    from spinepath.web.submissions import new_submission_key

    client = world.clients["coordinator"]
    with transaction.atomic():
        response = client.post(
            "/patients/new/",
            {
                "given_name": GIVEN,
                "family_name": FAMILY,
                "birth_date": BIRTH.isoformat(),
                "submission": new_submission_key(),
            },
        )
        assert response.status_code == 409 and world.patient.mrn.encode() in response.content
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None and event.what == "new patient form"
        assert event.patient_id == world.patient.pk
        transaction.set_rollback(True)
