"""Issue 30: a candidate sees how patients like them did at this clinic, beside the published
studies - on the clinician's review, the patient's "My consultation" and the written plan,
whose accepted copy keeps the figures the patient read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.test import Client
from django.utils import timezone
from portal_helpers import signed_in_portal
from shared_world import on_the_suite_day, shared_world
from treatment_helpers import accepted_plan_for, released, reviewed_patient
from web_helpers import acting

from spinepath.errors import Conflict
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.outcomes.synthetic import generate_cohort
from spinepath.patients.models import SYNTHETIC_ID_PREFIX, Patient
from spinepath.plans.acceptance import plan_accept
from spinepath.plans.models import CarePlan
from spinepath.plans.selectors import plan_content_hash, plan_odds
from spinepath.plans.services import plan_create

TODAY = date(2026, 11, 24)


def _as_the_clinics_own() -> None:
    """The synthetic cohort's patients made ordinary: the clinic's own treated patients."""
    Patient.objects.filter(external_id__startswith=SYNTHETIC_ID_PREFIX).update(
        external_id=Concat(Value("treated-"), F("mrn"))
    )


@pytest.fixture(scope="module")
def treated_here(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """600 treated patients of the clinic's own, made once for the module (rolled back)."""
    with shared_world(django_db_blocker):
        with on_the_suite_day():
            generate_cohort(600, seed=11, today=TODAY)
            _as_the_clinics_own()
        yield


@pytest.fixture
def cohort(db: Any, treated_here: None) -> None:
    return None


def _text(response: Any) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def decision_odds_now(patient: Patient) -> dict[str, Any]:
    from spinepath.consultations.selectors import candidate_odds, latest_signed_decision

    signed = latest_signed_decision(patient)
    found = candidate_odds(
        decision_json=signed.decision_json,
        workup_json=signed.workup_json,
        born=patient.birth_date,
        on=timezone.localdate(),
    )
    assert found is not None
    return found


def _candidate(clinician: Any, pid: str) -> Patient:
    patient = reviewed_patient(clinician, TODAY - timedelta(days=2), pid)
    Patient.objects.filter(pk=patient.pk).update(birth_date=date(1961, 4, 30))
    patient.refresh_from_db()
    return patient


def test_the_review_shows_patients_like_this_one_in_words_and_where_they_come_from(
    cohort: None, clinician: Any, clinician_client: Client
) -> None:
    patient = _candidate(clinician, "odds-1")
    encounter = patient.encounters.get()
    page = clinician_client.get(f"/consultations/{encounter.pk}/review/")
    text = _text(page)
    assert "Patients like this one: what the patient reads" in text
    assert "Compared with patients the clinic treated with an injection into a disc" in text
    found = re.search(
        r"Of (\d+) patients like you who answered at 12 months, (\d+) had at least 30% less pain",
        text,
    )
    assert found, text
    n, yes = int(found.group(1)), int(found.group(2))
    assert n >= 30 and 0 <= yes <= n
    assert "The clinic's figures are from its records up to 23 November 2026" in text
    assert "about 67 in 100 had more than 30% less pain" in text  # the published figure
    # Every number traces to the rows behind it.
    link = re.search(r'href="(/outcomes/like-you/\?[^"]+)"', page.content.decode())
    assert link, "no link to the treated patients behind the figures"
    rows = clinician_client.get(link.group(1).replace("&amp;", "&"))
    assert rows.status_code == 200
    tallies = {label: given for label, given, _ in rows.context["tallies"]}
    assert tallies["12 months"].pain_n == n and tallies["12 months"].pain_yes == yes
    # The rows listed are those counted: answered inside the window by the date of the data.
    as_of = TODAY - timedelta(days=1)
    counted = OutcomeMeasurement.objects.filter(
        visit__key="12m",
        visit__generator="discogenic",
        visit__closes__lte=as_of,
        outside_window=False,
        pain_responder__isnull=False,
        **{
            f"visit__{field}": rows.context["request"].GET[name]
            for name, field in (
                ("tier", "prognosis_tier"),
                ("grade", "treated_grade"),
                ("pattern", "pain_pattern"),
                ("age_band", "age_band"),
            )
            if rows.context["request"].GET[name] != "any"
        },
    )
    assert counted.count() == n
    assert counted.filter(pain_responder=True).count() == yes


def test_the_patient_reads_the_figures_in_plain_words(
    cohort: None, clinician: Any, coordinator: Any
) -> None:
    patient = _candidate(clinician, "odds-2")
    Patient.objects.filter(pk=patient.pk).update(email="odds@example.org")
    patient.refresh_from_db()
    page = signed_in_portal(patient, coordinator).get("/my/consultation/")
    text = _text(page)
    assert "How patients like you did at this clinic" in text
    assert re.search(r"Of \d+ patients like you who answered at 6 months, \d+ had", text)
    assert "the true share is likely between" in text
    assert "these figures are not a promise of your result" in text
    assert "treated patients behind" not in text  # staff only


def test_synthetic_patients_never_count(db: Any, clinician: Any, clinician_client: Client) -> None:
    with on_the_suite_day():
        generate_cohort(200, seed=3, today=TODAY)  # demonstration patients only
    patient = _candidate(clinician, "odds-3")
    page = clinician_client.get(f"/consultations/{patient.encounters.get().pk}/review/")
    text = _text(page)
    assert "Too few patients like you have been treated here yet" in text
    assert "patients like you who answered" not in text
    assert "about 67 in 100 had more than 30% less pain" in text  # published figures only


def test_the_accepted_plan_keeps_the_figures_the_patient_read(
    cohort: None, clinician: Any, clinician_client: Client
) -> None:
    patient = _candidate(clinician, "odds-4")
    plan = accepted_plan_for(patient, clinician, TODAY)
    read = plan.accepted_odds
    assert read is not None and read["enough"] and read["as_of"] == "2026-11-23"
    sentence = read["visits"][1]["pain"]["sentence"]
    assert sentence.startswith("Of ") and "at 12 months" in sentence
    # More answers are counted in a later day's figures: the accepted plan's page still shows
    # what was read.
    answered = OutcomeMeasurement.objects.filter(
        visit__key="12m", visit__generator="discogenic", pain_responder=False
    )
    OutcomeMeasurement.objects.filter(
        pk__in=list(answered.values_list("pk", flat=True)[:20])
    ).update(pain_responder=True)
    assert sentence in _text(clinician_client.get(f"/plans/{plan.pk}/"))
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        plan.refresh_from_db()
        assert plan_odds(plan) == read
        assert plan.accepted_odds == read
        assert plan_content_hash(plan) == plan.accepted_content_hash
        later = decision_odds_now(patient)
        assert later["visits"][1]["pain"]["sentence"] != sentence  # the live figures moved


def test_figures_of_a_new_day_that_changed_since_the_page_was_read_are_not_accepted(
    cohort: None, clinician: Any
) -> None:
    patient = _candidate(clinician, "odds-5")
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    shown = plan_content_hash(plan)
    # A correction to a course counted in the figures: today's figures stay those the patient
    # is reading (computed once for the day) ...
    visit = ReassessmentVisit.objects.filter(
        key="12m", generator="discogenic", closes__lt=TODAY - timedelta(days=3)
    ).filter(measurement__pain_responder=False)[0]
    OutcomeMeasurement.objects.filter(visit=visit).update(pain_responder=True)
    assert plan_content_hash(CarePlan.objects.get(pk=plan.pk)) == shown  # read afresh
    # ... and the next day's figures count it: a page read yesterday is not accepted today.
    tomorrow = time_machine.travel(timezone.now() + timedelta(days=1), tick=False)
    with tomorrow, pytest.raises(Conflict, match="changed since this page was opened"):
        plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician), shown=shown)
    plan.refresh_from_db()
    assert plan.status == plan.RELEASED and plan.accepted_odds is None


def test_the_figures_are_of_the_day_before(cohort: None, clinician: Any) -> None:
    """An answer given today counts from tomorrow: the figures do not move while read."""
    patient = _candidate(clinician, "odds-6")
    plan = released(plan_create(patient=patient, actor=acting(clinician)), clinician)
    before = plan_content_hash(plan)
    open_visit = (
        ReassessmentVisit.objects.filter(key="12m", generator="discogenic", closes__lte=TODAY)
        .filter(measurement__isnull=True)
        .first()
    )
    assert open_visit is not None
    OutcomeMeasurement.objects.create(
        patient_id=open_visit.patient_id,
        visit=open_visit,
        measured_on=open_visit.closes,
        pain_vas=10,
        pain_raw=10,
        pain_responder=True,
        created_at=timezone.now(),
    )
    assert plan_content_hash(CarePlan.objects.get(pk=plan.pk)) == before  # read afresh


def test_a_corrected_date_of_birth_moves_the_courses_to_their_age_band(
    cohort: None, coordinator: Any
) -> None:
    from spinepath.patients.services import patient_update

    visit = ReassessmentVisit.objects.filter(age_band="50-59").select_related("patient")[0]
    injected = visit.injected_on
    patient_update(
        actor=acting(coordinator),
        patient=visit.patient,
        details={"birth_date": injected.replace(year=injected.year - 72)},
    )
    bands = set(
        ReassessmentVisit.objects.filter(plan_id=visit.plan_id).values_list("age_band", flat=True)
    )
    assert bands == {"70 and over"}


def _group_url(**values: str) -> str:
    query = {"kind": "discogenic", "tier": "any", "grade": "any", "pattern": "any"}
    query["age_band"] = "any"
    query.update(values)
    return "/outcomes/like-you/?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_the_trace_page_refuses_what_is_not_a_group_and_keeps_nothing_for_it(
    cohort: None, clinician_client: Client, coordinator_client: Client
) -> None:
    from spinepath.outcomes.models import DailyFigures

    assert coordinator_client.get(_group_url()).status_code == 403
    for bad, field in (
        ({"kind": "zzz"}, "kind"),
        ({"kind": "any"}, "kind"),
        ({"grade": "' OR 1=1--"}, "grade"),
        ({"age_band": "ninety"}, "age_band"),
        ({"as_of": "0001-01-01"}, "as_of"),
        ({"as_of": "yesterday"}, "as_of"),
    ):
        response = clinician_client.get(_group_url(**bad))
        assert response.status_code == 400, bad
        assert field in response.content.decode()
    assert not DailyFigures.objects.filter(key__contains="zzz").exists()
    for page in ("-1", "abc", "999999"):
        assert clinician_client.get(_group_url(page=page)).status_code == 200


def test_the_trace_page_names_whom_it_showed_in_the_audit_log(
    cohort: None, clinician_client: Client
) -> None:
    from spinepath.audit.models import AuditEvent

    page = clinician_client.get(_group_url())
    shown = {row["visit"].patient.mrn for row in page.context["rows"]}
    event = AuditEvent.objects.filter(path__startswith="/outcomes/like-you/").latest("id")
    assert shown and shown <= set(event.detail.get("records") or event.detail.get("shown") or [])


def test_records_changed_after_the_days_figures_are_shown_as_changed_and_recounted(
    cohort: None, clinician: Any, clinician_client: Client, admin_client: Client
) -> None:
    from spinepath.audit.models import AuditEvent
    from spinepath.outcomes.models import DailyFigures

    patient = _candidate(clinician, "odds-7")
    before = decision_odds_now(patient)
    first = clinician_client.get(_group_url())
    assert not first.context["changed"]
    # An import after the day's figures were computed: eleven more answers at 12 months.
    lost = OutcomeMeasurement.objects.filter(
        visit__key="12m", visit__generator="discogenic", pain_responder=False
    ).values_list("pk", flat=True)[:11]
    OutcomeMeasurement.objects.filter(pk__in=list(lost)).update(pain_responder=True)
    page = admin_client.get(_group_url())
    assert page.context["changed"]
    assert "The records have changed since these figures were computed" in _text(page)
    assert decision_odds_now(patient) == before  # what patients read today does not move
    recount = admin_client.post("/outcomes/figures/recount/", {"next": _group_url()})
    assert recount.status_code == 302
    assert "recounted" in AuditEvent.objects.latest("id").what
    assert DailyFigures.objects.filter(superseded_at__isnull=False).exists()  # kept
    after = admin_client.get(_group_url())
    assert not after.context["changed"]
    assert decision_odds_now(patient) != before
    # Only the clinic admin recounts.
    assert clinician_client.post("/outcomes/figures/recount/").status_code == 403


def test_daily_figures_computes_every_kind_and_the_model_once(cohort: None) -> None:
    from spinepath.outcomes.models import DailyFigures
    from spinepath.outcomes.odds import daily_figures

    as_of, lines = daily_figures(TODAY)
    assert as_of == TODAY - timedelta(days=1)
    assert lines[0].startswith("an injection into a disc: ") and "answered at 12 months" in lines[0]
    kept = set(DailyFigures.objects.values_list("key", flat=True))
    assert {k.rsplit(":", 1)[0] for k in kept} >= {
        "odds:discogenic:own",
        "odds:facet:own",
        "odds:myoligamentous:own",
        "odds:multiple:own",
        "model:own",
    }
    daily_figures(TODAY)  # again: nothing new
    assert DailyFigures.objects.count() == len(kept)
