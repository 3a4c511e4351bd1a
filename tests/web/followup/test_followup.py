"""Measured follow-up: the schedule, patient links, paper forms, reminders, the chart."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from treatment_helpers import DISC, inject, treated
from web_helpers import LBP_ANSWERED, NOTHING_WORRYING, acting, parallel_responses

from spinepath.actors import Actor
from spinepath.followup import reminders, services
from spinepath.followup.models import (
    OutcomeMeasurement,
    QuestionnaireLink,
    ReassessmentVisit,
    ReminderStep,
)
from spinepath.pathway.instruments import odi_score
from spinepath.pathway.policy import Policy


def visit(patient: Any, key: str) -> ReassessmentVisit:
    return ReassessmentVisit.objects.get(patient=patient, key=key)


def test_an_injection_creates_the_visits(clinician: Any) -> None:
    patient = treated(clinician, 10)
    keys = list(ReassessmentVisit.objects.filter(patient=patient).values_list("key", flat=True))
    assert keys == ["6w", "3m", "6m", "12m", "24m"]
    assert visit(patient, "6w").due == timezone.localdate() - timedelta(days=10) + timedelta(
        weeks=6
    )


def test_a_later_injection_moves_the_schedule(clinician: Any) -> None:
    patient = treated(clinician, 20, sessions=2)  # the plan holds a second session
    later = timezone.localdate() - timedelta(days=5)
    inject(patient, clinician, later, target=DISC, guidance="ct")
    assert visit(patient, "6w").due == later + timedelta(weeks=6)
    assert ReassessmentVisit.objects.filter(patient=patient).count() == 5


# --- the patient's link ------------------------------------------------------------------

ANSWERS = {
    "pain": "35",
    **{f"odi_{i}": "2" for i in range(1, 11)},
    **NOTHING_WORRYING,
    **LBP_ANSWERED,
}


def test_the_patient_answers_once_and_it_is_scored_by_the_instruments(clinician: Any) -> None:
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    page = Client().get(f"/q/{token}/")
    assert page.status_code == 200
    response = Client().post(f"/q/{token}/", {**ANSWERS, "odi_8": ""})
    assert b"your answers are saved" in response.content
    phone = settings.SPINEPATH_CLINIC_PHONE
    assert not phone or f'Call the clinic on <a href="tel:{phone}">' in response.content.decode()
    measured = OutcomeMeasurement.objects.get()
    sections = [2] * 7 + [None] + [2, 2]
    assert measured.odi_sections == sections
    assert measured.odi_score == odi_score(sections, Policy()).score
    assert measured.pain_vas == 35 and measured.source == "patient_link"
    again = Client().post(f"/q/{token}/", ANSWERS)
    assert again.status_code == 410 and b"already in" in again.content
    assert OutcomeMeasurement.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_posts_of_one_link_and_of_two_links_store_the_answers_once(
    clinician: Any,
) -> None:
    """Six posts at once: four of one link, two of a second link to the same visit (a reminder
    sent a new one). One measurement, one safety report, one audit event; every other post is
    told the answers are already in."""
    from spinepath.audit.models import AuditEvent
    from spinepath.safety.models import SafetyReport

    patient = treated(clinician, 40)
    first = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    second = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    tokens = [first] * 4 + [second] * 2
    responses = parallel_responses([(Client(), f"/q/{t}/") for t in tokens], ANSWERS)
    pages = [(r.status_code, r.content.decode()) for r in responses]
    saved = [p for p in pages if "your answers are saved" in p[1]]
    refused = [p for p in pages if p[0] == 410 and "already in" in p[1]]
    assert len(saved) == 1 and len(refused) == 5, [p[0] for p in pages]
    assert OutcomeMeasurement.objects.filter(patient=patient).count() == 1
    assert SafetyReport.objects.filter(patient=patient).count() == 1
    answered = AuditEvent.objects.filter(
        patient_id=patient.pk, what__startswith="questionnaire 6 weeks (patient link)"
    )
    assert answered.count() == 1


def test_the_kept_blank_page_names_each_links_visit_and_takes_each_readers_token(
    clinician: Any,
) -> None:
    """The blank questionnaire is kept per visit label: a second link of another visit shows its
    own label, and each response carries its reader's own CSRF token, which the answers post
    with (CSRF checked as in the browser)."""
    import re

    first = treated(clinician, 40)
    other = treated(clinician, 41, email="ben@example.org")
    six_weeks = services.questionnaire_link_create(actor=Actor.system(), visit=visit(first, "6w"))
    ReassessmentVisit.objects.filter(patient=other, key="3m").update(
        opens=timezone.localdate() - timedelta(days=1)
    )
    three_months = services.questionnaire_link_create(
        actor=Actor.system(), visit=visit(other, "3m")
    )
    tokens = []
    for token, label in (
        (six_weeks, "6 weeks"),
        (six_weeks, "6 weeks"),
        (three_months, "3 months"),
    ):
        browser = Client(enforce_csrf_checks=True)
        page = browser.get(f"/q/{token}/").content.decode()
        assert f"Your {label} check-in" in page
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found is not None and "kept-" not in found.group(1)
        tokens.append(found.group(1))
        if token == three_months:
            answered = browser.post(
                f"/q/{token}/", {**ANSWERS, "csrfmiddlewaretoken": found.group(1)}
            )
            assert b"your answers are saved" in answered.content
    assert len(set(tokens)) == 3
    assert OutcomeMeasurement.objects.get().patient == other


def test_an_expired_link_is_refused_kindly(clinician: Any) -> None:
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    QuestionnaireLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(f"/q/{token}/")
    assert response.status_code == 410 and b"expired" in response.content
    assert Client().post(f"/q/{token}/", ANSWERS).status_code == 410
    assert not OutcomeMeasurement.objects.exists()


def test_a_wrong_token_is_refused(db: Any) -> None:
    response = Client().get("/q/not-a-real-token/")
    assert response.status_code == 410 and b"not valid" in response.content


def test_answers_to_a_made_up_or_used_link_never_begin_a_write(
    clinician: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page answers anyone: complete answers posted to a link that does not exist, or was
    used, are refused from a read, without taking the database's write lock."""
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    assert b"your answers are saved" in Client().post(f"/q/{token}/", ANSWERS).content

    def no_write(**_: Any) -> None:
        raise AssertionError("a write began")

    monkeypatch.setattr(services, "questionnaire_submit", no_write)
    made_up = Client().post("/q/not-a-real-token/", ANSWERS)
    assert made_up.status_code == 410 and b"not valid" in made_up.content
    used = Client().post(f"/q/{token}/", ANSWERS)
    assert used.status_code == 410 and b"already in" in used.content
    assert OutcomeMeasurement.objects.count() == 1


def test_a_token_only_ever_answers_its_own_visit(clinician: Any) -> None:
    first = treated(clinician, 40)
    other = treated(clinician, 41, email="ben@example.org")
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(first, "6w"))
    Client().post(f"/q/{token}/", ANSWERS)
    assert OutcomeMeasurement.objects.get().patient == first
    assert not OutcomeMeasurement.objects.filter(patient=other).exists()


def test_the_page_shows_no_personal_data(clinician: Any) -> None:
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    page = Client().get(f"/q/{token}/").content.decode()
    for private in (
        patient.given_name,
        patient.family_name,
        patient.mrn,
        "1970-05-01",
        "L4-L5",
        patient.email,
    ):
        assert private not in page


def test_a_pain_score_is_required_and_the_answers_are_kept(clinician: Any) -> None:
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    response = Client().post(f"/q/{token}/", {"pain": "", "odi_1": "3"})
    assert response.status_code == 400
    assert b"Please give your pain score" in response.content
    assert (
        b'value="3" id="id_odi_1_4" checked' in response.content or b"checked" in response.content
    )
    assert not OutcomeMeasurement.objects.exists()


def test_a_missing_answer_far_down_the_page_is_named_at_the_top(clinician: Any) -> None:
    """On a phone the last safety question is thousands of pixels down: the page says at its
    top what is missing, with a link to the question (found by the walkthrough)."""
    from spinepath.pathway.safety import SAFETY_QUESTIONS

    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    last = SAFETY_QUESTIONS[-1]
    answers = {k: v for k, v in ANSWERS.items() if k != f"safety_{last.key}"}
    page = Client().post(f"/q/{token}/", answers).content.decode()
    summary = page[page.index('id="error-summary"') : page.index("</ul></div>")]
    assert "Not sent yet: please answer the question below" in summary
    # The link leads to the whole question (its wording and both answers), not to one button.
    assert f'href="#q-safety_{last.key}"' in summary and last.question in summary
    assert f'<fieldset id="q-safety_{last.key}"' in page
    assert page.index('id="error-summary"') < page.index("Your pain overall")
    assert f'id="id_safety_{last.key}_0"' in page


def test_a_moved_slider_counts_when_the_number_field_is_empty(clinician: Any) -> None:
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    moved = {**ANSWERS, "pain": "", "pain_slider": "42", "pain_slider_moved": "1"}
    Client().post(f"/q/{token}/", moved)
    assert OutcomeMeasurement.objects.get().pain_vas == 42


def test_a_slider_left_where_it_starts_is_not_a_pain_score(clinician: Any) -> None:
    patient = treated(clinician, 40)
    token = services.questionnaire_link_create(actor=Actor.system(), visit=visit(patient, "6w"))
    # What a browser sends when the person skipped the pain question: the slider's 50.
    response = Client().post(f"/q/{token}/", {**ANSWERS, "pain": "", "pain_slider": "50"})
    assert response.status_code == 400
    assert b"Please give your pain score" in response.content
    assert not OutcomeMeasurement.objects.exists()


# --- staff pages ---------------------------------------------------------------------------


def test_paper_form_with_nrs_is_stored_as_nrs(clinician: Any, clinician_client: Client) -> None:
    patient = treated(clinician, 40)
    v = visit(patient, "6w")
    data = {
        "action": "paper",
        "paper-measured_on": timezone.localdate().isoformat(),
        "paper-scale": "nrs",
        "paper-pain": "4",
        **{f"paper-odi_{i}": "1" for i in range(1, 11)},
        **{f"paper-{k}": v for k, v in NOTHING_WORRYING.items()},
    }
    response = clinician_client.post(f"/visits/{v.pk}/", data)
    assert response.status_code == 302
    measured = OutcomeMeasurement.objects.get()
    assert (measured.pain_scale, measured.pain_raw, measured.pain_vas) == ("nrs", 4, 40)


def test_a_six_week_non_response_is_too_early_to_judge(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, 40)
    v = visit(patient, "6w")
    services.paper_form_enter(
        actor=acting(clinician),
        visit=v,
        measured_on=timezone.localdate(),
        answers=services.Answers(70, "vas", [3] * 10),
    )
    page = clinician_client.get(f"/visits/{v.pk}/")
    assert page.context["response"].status == "too_early_to_judge"
    assert b"Too early to judge" in page.content


def test_worklist_shows_open_visits_and_the_count_on_every_page(
    clinician: Any, coordinator_client: Client
) -> None:
    treated(clinician, 40)  # 6w window open (28-56 days)
    response = coordinator_client.get("/worklist/")
    rows = response.context["rows"]
    assert [(v.key, state) for v, state in rows] == [("6w", "due")]
    assert response.context["open_followups"] == 1
    chart = coordinator_client.get("/patients/")
    assert chart.context["open_followups"] == 1


def test_worklist_states_overdue_and_missed(clinician: Any, coordinator_client: Client) -> None:
    treated(clinician, 50)  # 6w due at 42 days, window to 56: overdue
    treated(clinician, 60, email="b@example.org")  # 6w window closed: missed
    overdue = coordinator_client.get("/worklist/?state=overdue").context["rows"]
    missed = coordinator_client.get("/worklist/?state=missed").context["rows"]
    assert [s for _, s in overdue] == ["overdue"] and [s for _, s in missed] == ["missed"]


def test_the_outcome_chart_is_an_svg(clinician: Any, clinician_client: Client) -> None:
    patient = treated(clinician, 100)
    services.paper_form_enter(
        actor=acting(clinician),
        visit=visit(patient, "6w"),
        measured_on=timezone.localdate() - timedelta(days=58),
        answers=services.Answers(40, "vas", [2] * 10),
    )
    response = clinician_client.get(f"/patients/{patient.pk}/outcomes.svg")
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content and b"Pain (VAS 0-100)" in response.content


# --- reminders -----------------------------------------------------------------------------


def test_reminder_email_has_the_link_and_nothing_private(clinician: Any) -> None:
    patient = treated(clinician, 40)
    run = reminders.send_reminders(actor=Actor.system(), base_url="https://clinic.example")
    assert run.counts == {"email_1 sent": 1}
    message = mail.outbox[0]
    assert message.to == [patient.email]
    assert "https://clinic.example/q/" in message.body
    for private in (patient.given_name, patient.family_name, patient.mrn, "L4-L5", "MSC"):
        assert private not in message.body and private not in message.subject


def test_reminders_are_sent_once(clinician: Any) -> None:
    treated(clinician, 40)
    run = reminders.send_reminders(actor=Actor.system(), base_url="http://x")
    assert run.counts == {"email_1 sent": 1}
    assert reminders.send_reminders(actor=Actor.system(), base_url="http://x").counts == {}
    assert len(mail.outbox) == 1


def test_the_second_email_comes_a_day_after_a_late_first(clinician: Any) -> None:
    treated(clinician, 40)  # the 6-week window opened 12 days ago and closes in 16
    tomorrow = timezone.localdate() + timedelta(days=1)
    reminders.send_reminders(actor=Actor.system(), base_url="http://x")
    reminders.send_reminders(actor=Actor.system(), base_url="http://x", today=tomorrow)
    steps = list(ReminderStep.objects.values_list("step", "status", "acted_on"))
    assert steps == [
        ("email_1", "sent", timezone.localdate()),
        ("email_2", "sent", tomorrow),
    ]
    assert "open until" in mail.outbox[-1].body


def test_the_second_email_is_not_sent_when_the_window_is_about_to_close(clinician: Any) -> None:
    treated(clinician, 54)  # the 6-week window closes in 2 days
    tomorrow = timezone.localdate() + timedelta(days=1)
    reminders.send_reminders(actor=Actor.system(), base_url="http://x")
    reminders.send_reminders(actor=Actor.system(), base_url="http://x", today=tomorrow)
    steps = list(ReminderStep.objects.values_list("step", "status", "detail"))
    assert steps[:2] == [
        ("email_1", "sent", ""),
        ("email_2", "skipped", "too late in the window"),
    ]


@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_send_each_reminder_once(clinician: Any, tmp_path: Path) -> None:
    for days in (40, 41, 42, 54):
        treated(clinician, days, email=f"p{days}@example.org")
    expected = 4  # each patient's first email today
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    connection.close()
    # The runs use the machine's clock: a policy without quiet hours sends at any hour.
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'name = "no-quiet"\nversion = "1"\nreminder_quiet_start = "00:00"\n'
        'reminder_quiet_end = "00:00"\n'
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SPINEPATH_VAR": str(tmp_path),
        "SPINEPATH_POLICY": str(policy),
    }
    exe = str(Path(sys.executable).parent / "spinepath")
    runs = [
        subprocess.Popen(
            [exe, "send-reminders", "--date", timezone.localdate().isoformat()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert ReminderStep.objects.filter(status="sent").count() == expected
    assert ReminderStep.objects.count() == expected
    # The file backend may append two messages to one file: count the messages themselves.
    sent = sum(f.read_text().count("Message-ID:") for f in (tmp_path / "mail").iterdir())
    assert sent == expected
    _ = date


def test_a_coordinator_emails_a_link_for_one_visit(
    clinician: Any, coordinator_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    patient = treated(clinician, 40)
    v = visit(patient, "6w")
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves on commit
        response = coordinator_client.post(f"/visits/{v.pk}/link/", {"send": "email"}, follow=True)
    assert b"A new link was emailed to maria@example.org" in response.content
    body = mail.outbox[-1].body
    token = body.split("/q/")[1].split("/")[0]
    assert Client().get(f"/q/{token}/").status_code == 200
    assert patient.family_name not in body
