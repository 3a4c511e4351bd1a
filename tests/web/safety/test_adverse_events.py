"""Adverse events are asked for, not waited for (PATHWAY.md section 10, issue 26): every
follow-up asks the safety questions, a worrying answer tells the patient what to do at once and
waits for a clinician's review on the worklist and the day; clinicians grade events, which are
never edited in place nor deleted; a serious reaction related to the product starts the
reporting clock, with a draft MedWatch 3500A."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone
from treatment_helpers import treated
from web_helpers import LBP_ANSWERED, NOTHING_WORRYING, acting

from spinepath.audit.models import AuditEvent
from spinepath.errors import Conflict, Invalid, NotAllowed
from spinepath.followup import services as followup
from spinepath.followup.models import ReassessmentVisit
from spinepath.pathway.policy import Policy
from spinepath.pathway.safety import (
    EventFacts,
    event_problems,
    reporting_clock,
    safety_advice,
    safety_problem,
)
from spinepath.plans.models import Procedure
from spinepath.safety import services
from spinepath.safety.models import AdverseEvent, EventVersion, KeptForever, SafetyReport

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 4)
NONE_WORRYING = {k.removeprefix("safety_"): False for k in NOTHING_WORRYING}


def facts(**changes: Any) -> EventFacts:
    values: dict[str, Any] = {
        "term": "Post-injection flare",
        "onset_on": TODAY - timedelta(days=3),
        "grade": 2,
        "serious_criteria": frozenset(),
        "related_procedure": "probable",
        "related_product": "unlikely",
        "expected": True,
        "action": "medication",
        "outcome": "recovering",
        "resolved_on": None,
    }
    values.update(changes)
    return EventFacts(**values)


# --- The pure rules ---------------------------------------------------------------------------


def test_every_safety_question_needs_a_yes_or_a_no() -> None:
    problems = safety_problem({"fever": False})
    assert "safety_fever" not in problems
    assert problems["safety_bladder_bowel"].startswith("Please answer yes or no:")
    assert safety_problem(NONE_WORRYING) == {}


def test_weakness_or_bladder_changes_send_the_patient_to_emergency_care_now() -> None:
    assert safety_advice(NONE_WORRYING) is None
    urgent = safety_advice({**NONE_WORRYING, "bladder_bowel": True}, "555-0100")
    assert urgent is not None and urgent.urgency == "emergency"
    assert "Call 911" in urgent.steps[0]
    assert "555-0100" in urgent.steps[2]
    today = safety_advice({**NONE_WORRYING, "fever": True, "wound": True})
    assert today is not None and today.urgency == "today"
    assert today.heading == "Call the clinic today"
    assert today.findings == ("fever or chills", "redness or discharge at the wound")


def test_an_event_names_each_field_it_lacks_or_contradicts() -> None:
    assert event_problems(facts(), today=TODAY, injected_on=TODAY - timedelta(days=10)) == {}
    empty = facts(
        term=" ",
        onset_on=None,
        grade=None,
        related_procedure="",
        related_product="",
        expected=None,
        action="",
        outcome="",
    )
    assert set(event_problems(empty, today=TODAY, injected_on=None)) == {
        "term",
        "onset_on",
        "grade",
        "related_procedure",
        "related_product",
        "expected",
        "action",
        "outcome",
    }
    before = event_problems(facts(), today=TODAY, injected_on=TODAY)
    assert "before the injection" in before["onset_on"]
    death = event_problems(
        facts(grade=3, serious_criteria=frozenset({"death"})), today=TODAY, injected_on=None
    )
    assert death["grade"] == "An event that results in death is grade 5."
    resolved = event_problems(facts(outcome="resolved"), today=TODAY, injected_on=None)
    assert "resolved_on" in resolved
    early = facts(outcome="resolved", resolved_on=TODAY - timedelta(days=5))
    assert event_problems(early, today=TODAY, injected_on=None) == {
        "resolved_on": "The event cannot resolve before it began."
    }


def test_only_a_serious_reaction_related_to_the_product_starts_the_clock() -> None:
    policy = Policy()
    assert reporting_clock(facts(), aware_on=TODAY, filed_on=None, policy=policy) is None
    serious_procedure_only = facts(
        grade=3, serious_criteria=frozenset({"hospitalisation"}), related_product="unlikely"
    )
    assert (
        reporting_clock(serious_procedure_only, aware_on=TODAY, filed_on=None, policy=policy)
        is None
    )
    reaction = facts(
        grade=3, serious_criteria=frozenset({"hospitalisation"}), related_product="possible"
    )
    clock = reporting_clock(reaction, aware_on=TODAY, filed_on=None, policy=policy)
    assert clock is not None and clock.due == TODAY + timedelta(days=15)
    assert clock.text(TODAY + timedelta(days=14)) == f"1 day left: due {clock.due}."
    assert clock.text(TODAY + timedelta(days=17)).startswith("Overdue by 2 days")
    filed = reporting_clock(
        reaction, aware_on=TODAY, filed_on=TODAY + timedelta(days=3), policy=policy
    )
    assert filed is not None and filed.state(TODAY + timedelta(days=30)) == "filed"


# --- The patient's answers --------------------------------------------------------------------


def _visit(patient: Any) -> ReassessmentVisit:
    return ReassessmentVisit.objects.get(patient=patient, key="6w")


def _link(patient: Any, clinician: Any) -> str:
    return followup.questionnaire_link_create(actor=acting(clinician), visit=_visit(patient))


ANSWERS = {"pain": "35", **{f"odi_{i}": "2" for i in range(1, 11)}, **LBP_ANSWERED}


def test_the_questionnaire_asks_the_safety_questions_and_never_lets_one_be_skipped(
    clinician: Any,
) -> None:
    patient = treated(clinician, days_ago=42)
    token = _link(patient, clinician)
    page = Client().get(f"/q/{token}/").content.decode()
    assert "New numbness or weakness in your legs?" in page
    skipped = Client().post(f"/q/{token}/", {**ANSWERS, **NOTHING_WORRYING, "safety_fever": ""})
    assert skipped.status_code == 400
    assert "Please answer yes or no: Fever or chills?" in skipped.content.decode()
    # What was entered is kept.
    assert 'value="35"' in skipped.content.decode()
    assert not SafetyReport.objects.exists()


def test_a_worrying_answer_tells_the_patient_what_to_do_and_puts_a_task_before_a_clinician(
    clinician: Any, coordinator_client: Client, clinician_client: Client
) -> None:
    patient = treated(clinician, days_ago=42)
    token = _link(patient, clinician)
    sent = {**ANSWERS, **NOTHING_WORRYING, "safety_leg_numbness_weakness": "yes"}
    thanks = Client().post(f"/q/{token}/", sent).content.decode()
    assert "Get emergency care now" in thanks
    assert "Call 911 or go to the nearest emergency department now" in thanks
    report = SafetyReport.objects.get(patient=patient)
    assert report.worrying and report.urgency == "emergency" and report.visit_label == "6 weeks"
    assert report.source == SafetyReport.QUESTIONNAIRE
    # On the worklist and the clinician's day until reviewed, and counted in the menu.
    for page in ("/worklist/", "/day/"):
        shown = clinician_client.get(page).content.decode()
        assert "Safety answers to review" in shown, page
        assert "new numbness or weakness in the legs" in shown, page
    safety = clinician_client.get("/safety/").content.decode()
    assert 'aria-label="1 to review"' in safety
    # Whom to call, or that there is no number to call (found by a walkthrough).
    assert not patient.phone
    for shown in (safety, clinician_client.get("/day/").content.decode()):
        assert "no phone on file" in shown
    # A coordinator sees it but cannot review it.
    detail = coordinator_client.get(f"/safety/answers/{report.pk}/").content.decode()
    assert "Waiting for a clinician's review" in detail
    refused = coordinator_client.post(f"/safety/answers/{report.pk}/", {"note": "called her"})
    assert refused.status_code == 403
    # The clinician reviews it: the task is gone from the day.
    reviewed = clinician_client.post(
        f"/safety/answers/{report.pk}/",
        {"note": "Called her: numbness from the position, resolved."},
    )
    assert reviewed.status_code == 302
    assert "Safety answers to review" not in clinician_client.get("/day/").content.decode()
    report.refresh_from_db()
    assert report.review_outcome == SafetyReport.NO_EVENT and report.reviewed_by == clinician


def test_nothing_worrying_makes_no_task(clinician: Any, clinician_client: Client) -> None:
    patient = treated(clinician, days_ago=42)
    thanks = Client().post(f"/q/{_link(patient, clinician)}/", {**ANSWERS, **NOTHING_WORRYING})
    assert "Thank you" in thanks.content.decode() and "emergency" not in thanks.content.decode()
    report = SafetyReport.objects.get(patient=patient)
    assert not report.worrying
    assert "Safety answers to review" not in clinician_client.get("/day/").content.decode()


def test_the_patient_reports_a_problem_from_their_own_pages_once(clinician: Any) -> None:
    from portal_helpers import signed_in_portal

    patient = treated(clinician, days_ago=10)
    client = signed_in_portal(patient)
    page = client.get("/my/safety/")
    assert "Since your injection" in page.content.decode()
    key = page.context["form"]["submission"].value()
    sent = {
        **NOTHING_WORRYING,
        "safety_fever": "yes",
        "details": "38.5 last night",
        "submission": key,
    }
    first = client.post("/my/safety/", sent)
    second = client.post("/my/safety/", sent)
    assert "Call the clinic today" in first.content.decode()
    assert second.status_code == first.status_code
    report = SafetyReport.objects.get(patient=patient)
    assert report.source == SafetyReport.OWN_PAGES and report.details == "38.5 last night"


# --- Clinicians' events -----------------------------------------------------------------------


def _days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def _event(patient: Any, clinician: Any, **changes: Any) -> AdverseEvent:
    procedure = Procedure.objects.get(patient=patient)
    return services.event_record(
        actor=acting(clinician),
        patient=patient,
        entry=services.EventInput(facts(**{"onset_on": _days_ago(3), **changes})),
        aware_on=timezone.localdate(),
        procedure_id=procedure.pk,
    )


def test_a_coordinator_can_never_grade_an_event(
    clinician: Any, coordinator: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, days_ago=10)
    with pytest.raises(NotAllowed):
        services.event_record(
            actor=acting(coordinator),
            patient=patient,
            entry=services.EventInput(facts(onset_on=_days_ago(3))),
            aware_on=timezone.localdate(),
        )
    page = coordinator_client.get(f"/patients/{patient.pk}/adverse-events/new/")
    assert "Only a clinician records an adverse event" in page.content.decode()
    posted = coordinator_client.post(
        f"/patients/{patient.pk}/adverse-events/new/", {"term": "flare", "grade": "1"}
    )
    assert posted.status_code == 403
    event = _event(patient, clinician)
    amended = coordinator_client.post(
        f"/safety/events/{event.pk}/",
        {"do": "amend", "term": "x", "grade": "1", "based_on": "1", "reason": "r"},
    )
    assert amended.status_code == 403
    assert EventVersion.objects.filter(event=event).count() == 1


def test_an_event_is_never_deleted_nor_edited_in_place(clinician: Any) -> None:
    patient = treated(clinician, days_ago=10)
    event = _event(patient, clinician)
    version = event.versions.get()
    with pytest.raises(KeptForever):
        event.delete()
    with pytest.raises(KeptForever):
        AdverseEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(KeptForever):
        EventVersion.objects.filter(event=event).update(grade=1)
    version.grade = 1
    with pytest.raises(KeptForever):
        version.save()
    # No route deletes one either.
    client = Client()
    client.force_login(clinician)
    for method in ("delete", "put", "patch"):
        assert getattr(client, method)(f"/safety/events/{event.pk}/").status_code == 405
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_a_change_is_a_new_version_with_its_reason_and_a_stale_page_changes_nothing(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, days_ago=10)
    event = _event(patient, clinician)
    form = {
        "do": "amend",
        "term": "Discitis",
        "onset_on": _days_ago(3).isoformat(),
        "grade": "3",
        "serious_criteria": ["hospitalisation"],
        "related_procedure": "probable",
        "related_product": "possible",
        "expected": "no",
        "action": "hospitalisation",
        "outcome": "ongoing",
        "based_on": "1",
        "reason": "MRI shows discitis; admitted for IV antibiotics.",
    }
    first = clinician_client.post(f"/safety/events/{event.pk}/", form)
    assert first.status_code == 302, first.context["amend"].errors
    again = clinician_client.post(f"/safety/events/{event.pk}/", form)  # a double click
    assert again.status_code == 302
    assert [v.number for v in event.versions.all()] == [2, 1]
    stale = clinician_client.post(f"/safety/events/{event.pk}/", {**form, "grade": "4"})
    assert (
        stale.status_code == 409
        or "was recorded since this page was opened" in stale.content.decode()
    )
    assert event.versions.count() == 2
    page = clinician_client.get(f"/safety/events/{event.pk}/").content.decode()
    assert "MRI shows discitis" in page and "Post-injection flare" in page  # history kept
    # Now a serious reaction possibly related to the product: the clock runs from today.
    event.refresh_from_db()
    assert event.reportable_since == timezone.localdate()
    assert "15 days left" in page or "14 days left" in page


def test_missing_grade_is_refused_with_the_field_named_and_the_entry_kept(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, days_ago=10)
    page = clinician_client.get(f"/patients/{patient.pk}/adverse-events/new/")
    key = page.context["form"]["submission"].value()
    posted = clinician_client.post(
        f"/patients/{patient.pk}/adverse-events/new/",
        {
            "submission": key,
            "term": "Vasovagal reaction",
            "onset_on": timezone.localdate().isoformat(),
            "aware_on": timezone.localdate().isoformat(),
            "related_procedure": "definite",
            "related_product": "not_related",
            "expected": "yes",
            "action": "observation",
            "outcome": "resolved",
            "resolved_on": timezone.localdate().isoformat(),
        },
    )
    assert posted.status_code == 400
    body = posted.content.decode()
    assert "Choose the CTCAE v5 grade, 1 to 5." in body
    assert 'value="Vasovagal reaction"' in body
    assert not AdverseEvent.objects.exists()


def test_an_event_from_the_answers_closes_their_review_and_recording_twice_records_once(
    clinician: Any,
) -> None:
    patient = treated(clinician, days_ago=42)
    report = services.answers_from_patient(
        actor=acting(clinician),
        patient=patient,
        answers={**NONE_WORRYING, "wound": True},
        source=SafetyReport.OWN_PAGES,
    )
    key = "k" * 24
    kwargs: dict[str, Any] = {
        "actor": acting(clinician),
        "patient": patient,
        "entry": services.EventInput(
            facts(term="Superficial wound infection", onset_on=_days_ago(1))
        ),
        "aware_on": timezone.localdate(),
        "report_id": report.pk,
        "submission_key": key,
    }
    first = services.event_record(**kwargs)
    second = services.event_record(**kwargs)
    assert first.pk == second.pk and AdverseEvent.objects.count() == 1
    report.refresh_from_db()
    assert report.review_outcome == SafetyReport.EVENT


def test_entered_in_error_keeps_the_event_and_needs_a_reason(clinician: Any) -> None:
    patient = treated(clinician, days_ago=10)
    event = _event(patient, clinician)
    with pytest.raises(Invalid):
        services.event_in_error(actor=acting(clinician), event_id=event.pk, reason=" ")
    services.event_in_error(actor=acting(clinician), event_id=event.pk, reason="Wrong patient")
    event.refresh_from_db()
    assert event.in_error and event.in_error_by == clinician
    with pytest.raises(Conflict):
        services.event_amend(
            actor=acting(clinician),
            event_id=event.pk,
            entry=services.EventInput(facts(grade=1)),
            based_on=1,
            reason="x",
        )


def test_the_database_refuses_an_in_error_mark_without_its_reason(clinician: Any) -> None:
    patient = treated(clinician, days_ago=10)
    event = _event(patient, clinician)
    event.in_error_at = timezone.now()
    event.in_error_by = clinician
    with pytest.raises(IntegrityError):
        event.save(update_fields=["in_error_at", "in_error_by"])


def test_a_reportable_reaction_has_a_draft_medwatch_with_initials_and_its_filing(
    clinician: Any, admin_user: Any, admin_client: Client, coordinator: Any
) -> None:
    patient = treated(clinician, days_ago=10)
    event = _event(
        patient,
        clinician,
        term="Discitis",
        grade=3,
        serious_criteria=frozenset({"hospitalisation"}),
        related_product="probable",
        action="hospitalisation",
        outcome="ongoing",
    )
    board = admin_client.get("/safety/").content.decode()
    assert "Reports to file" in board and "15 days left" in board
    pdf = admin_client.get(f"/safety/events/{event.pk}/medwatch-3500a.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(what__contains="draft MedWatch 3500A").exists()
    with pytest.raises(NotAllowed):
        services.filing_record(
            actor=acting(coordinator),
            event_id=event.pk,
            kind="initial",
            filed_on=timezone.localdate(),
            method="esubmission",
            reference="MW-2026-0001",
        )
    filed = admin_client.post(
        f"/safety/events/{event.pk}/",
        {
            "do": "filing",
            "kind": "initial",
            "filed_on": timezone.localdate().isoformat(),
            "method": "esubmission",
            "reference": "MW-2026-0001",
        },
    )
    assert filed.status_code == 302
    assert "Filed on" in admin_client.get("/safety/").content.decode()


def test_an_event_leaves_as_a_valid_fhir_adverse_event_in_the_bundle_and_the_api(
    clinician: Any, clinician_client: Client
) -> None:
    from fhir.resources.R4B.adverseevent import AdverseEvent as FhirAdverseEvent

    from spinepath.records.fhir import patient_bundle

    patient = treated(clinician, days_ago=10)
    event = _event(
        patient,
        clinician,
        term="Discitis",
        grade=3,
        serious_criteria=frozenset({"hospitalisation"}),
        related_product="probable",
        action="hospitalisation",
        outcome="ongoing",
    )
    found = [
        e["resource"]
        for e in patient_bundle(patient)["entry"]
        if e["resource"]["resourceType"] == "AdverseEvent"
    ]
    assert len(found) == 1
    resource = found[0]
    FhirAdverseEvent.model_validate(resource)
    assert resource["seriousness"]["coding"][0]["code"] == "SeriousResultsInHospitalization"
    assert resource["severity"]["text"].startswith("Grade 3")
    assert resource["suspectEntity"][0]["instance"]["reference"].startswith("Procedure/inj")
    services.event_in_error(actor=acting(clinician), event_id=event.pk, reason="Wrong chart")
    assert not [
        e
        for e in patient_bundle(patient)["entry"]
        if e["resource"]["resourceType"] == "AdverseEvent"
    ]


def test_the_api_reads_and_searches_adverse_events_each_read_audited(clinician: Any) -> None:
    import json

    from spinepath.actors import Actor
    from spinepath.fhir_api.services import token_create

    patient = treated(clinician, days_ago=10)
    event = _event(patient, clinician)
    _token, secret = token_create(actor=Actor.system(), name="ehr", can_write=False)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    read = api.get(f"/fhir/AdverseEvent/ae{event.pk}")
    assert read.status_code == 200
    assert json.loads(read.content)["event"]["text"] == "Post-injection flare"
    found = json.loads(api.get(f"/fhir/AdverseEvent?patient={patient.pk}").content)
    assert found["total"] == 1
    assert api.get("/fhir/AdverseEvent/ae999999").status_code == 404
    assert AuditEvent.objects.filter(patient=patient, path__contains="AdverseEvent").exists()


def test_a_yes_is_answered_at_once_even_on_an_incomplete_form(clinician: Any) -> None:
    patient = treated(clinician, days_ago=42)
    token = _link(patient, clinician)
    partial = Client().post(f"/q/{token}/", {"safety_bladder_bowel": "yes"})
    assert partial.status_code == 400
    assert "Get emergency care now" in partial.content.decode()
    assert not SafetyReport.objects.exists()


def test_a_stale_change_is_refused_once_then_recorded_when_sent_again(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, days_ago=10)
    event = _event(patient, clinician)
    base = {
        "do": "amend",
        "term": "Post-injection flare",
        "onset_on": _days_ago(3).isoformat(),
        "grade": "2",
        "related_procedure": "probable",
        "related_product": "unlikely",
        "expected": "yes",
        "action": "medication",
        "outcome": "recovering",
        "based_on": "1",
    }
    first = clinician_client.post(
        f"/safety/events/{event.pk}/", {**base, "outcome": "ongoing", "reason": "Tab A"}
    )
    assert first.status_code == 302
    stale = clinician_client.post(
        f"/safety/events/{event.pk}/", {**base, "action": "observation", "reason": "Tab B"}
    )
    assert stale.status_code == 400
    body = stale.content.decode()
    assert "was recorded since this page was opened" in body
    assert 'name="based_on" value="2"' in body  # now based on what the page shows
    assert event.versions.count() == 2
    data = {**base, "action": "observation", "reason": "Tab B", "based_on": "2"}
    assert clinician_client.post(f"/safety/events/{event.pk}/", data).status_code == 302
    assert event.versions.count() == 3
