"""Pages kept under the versions of the facts they show, which the database replaces on every
write to them by any route (issue 29: caches are safe or absent; a clinical page is never
stale): the chart under the patient's version, the worklist under its tables'. See
spinepath/versions/triggers.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from treatment_helpers import reviewed_patient, treated
from web_helpers import acting, database_url, signed_in

from spinepath.consultations.models import Encounter, LevelFinding, PriorProcedure
from spinepath.followup.models import ReassessmentVisit
from spinepath.followup.services import Answers, paper_form_enter
from spinepath.patients.models import Patient
from spinepath.versions import triggers as versions
from spinepath.versions.triggers import GLOBAL, NOT_VERSIONED, patient_version


def _parts(patient_id: int) -> tuple[str, str]:
    mine, everyones = patient_version(patient_id).split(".")
    return mine, everyones


def test_every_table_of_the_clinics_facts_has_its_triggers(db: Any) -> None:
    assert versions.tables_without_triggers() == []
    clinic_tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model.__module__.startswith("spinepath.")
    }
    # Every table of the clinic's apps is covered unless it is named, with its reason.
    assert set(versions.covered_tables()) == (clinic_tables - set(NOT_VERSIONED)) | {"auth_user"}
    assert set(NOT_VERSIONED) <= clinic_tables  # no stale name in the list
    # The patient of a row found through its parents (a level finding of an imaging study).
    assert (
        "consultations_imagingstudy" in versions.covered_tables()["consultations_levelfinding"][0]
    )


def test_a_table_that_lost_its_triggers_gets_them_back_at_the_next_migrate(db: Any) -> None:
    versions.remove_triggers()
    assert "patients_patient" in versions.tables_without_triggers()
    versions.after_migrate(using="default")
    assert versions.tables_without_triggers() == []


def test_every_route_of_a_write_replaces_the_patients_version(
    clinician: Any, candidate_encounter: Encounter
) -> None:
    patient = candidate_encounter.patient
    other = reviewed_patient(clinician, timezone.localdate(), "t-other")
    seen = [_parts(patient.pk)]

    def changed() -> bool:
        seen.append(_parts(patient.pk))
        return seen[-1][0] != seen[-2][0]

    patient.phone = "+1 555 0100"
    patient.save()  # a model's save
    assert changed()
    Encounter.objects.filter(pk=candidate_encounter.pk).update(last_step="exam")  # a bulk update
    assert changed()
    finding = LevelFinding.objects.filter(study__patient=patient).first()
    assert finding is not None
    with connection.cursor() as cursor:  # SQL typed by hand, on a row two links away
        cursor.execute(
            "UPDATE consultations_levelfinding SET pfirrmann = 5 WHERE id = %s", [finding.pk]
        )
    assert changed()
    PriorProcedure.objects.create(
        patient=patient,
        kind="epidural_steroid",
        levels=["L4-L5"],
        performed_on=timezone.localdate(),
    )
    assert changed()
    PriorProcedure.objects.filter(patient=patient).delete()  # a delete
    assert changed()
    # Another patient's write leaves this one's version alone; reading the chart changes nothing.
    client = signed_in(clinician)
    before = _parts(patient.pk)
    Patient.objects.filter(pk=other.pk).update(phone="+1 555 0199")
    assert client.get(f"/patients/{patient.pk}/").status_code == 200
    assert _parts(patient.pk) == before
    # Signing in (the time of the last sign-in) is on no page: no version changes.
    User.objects.filter(pk=clinician.pk).update(last_login=timezone.now())
    assert _parts(patient.pk) == before
    # A clinician's name is on every chart: the version every chart shares changes.
    User.objects.filter(pk=clinician.pk).update(first_name="Renamed")
    assert _parts(patient.pk)[0] == before[0] and _parts(patient.pk)[1] != before[1]
    assert _parts(GLOBAL)[0] != "-"


def test_the_kept_chart_is_the_computed_one_with_fewer_queries(
    clinician_client: Client, candidate_encounter: Encounter
) -> None:
    path = f"/patients/{candidate_encounter.patient_id}/"
    with CaptureQueriesContext(connection) as computed:
        first = clinician_client.get(path)
    with CaptureQueriesContext(connection) as kept:
        second = clinician_client.get(path)

    def without_tokens(page: bytes) -> str:
        page_text = re.sub(r'value="[^"]*"', "", page.decode())
        return re.sub(r'"X-CSRFToken": "[^"]*"', "", page_text)

    assert without_tokens(first.content) == without_tokens(second.content)
    assert "Lopez, Maria" in second.content.decode() and "Timeline" in second.content.decode()
    assert len(kept) < len(computed) - 10
    # Each page still gives fresh one-time keys for its forms.
    keys = [
        re.search(r'name="start_key" value="([^"]+)"', r.content.decode()) for r in (first, second)
    ]
    assert keys[0] and keys[1] and keys[0].group(1) != keys[1].group(1)


def test_each_viewer_sees_the_buttons_of_their_own_role(clinician: Any, coordinator: Any) -> None:
    patient = treated(clinician, 100)
    path = f"/patients/{patient.pk}/"
    # The coordinator opens the chart first; what is kept for them is not what a clinician sees.
    assert "Record an adverse event" not in signed_in(coordinator).get(path).content.decode()
    assert "Record an adverse event" in signed_in(clinician).get(path).content.decode()
    assert "Record an adverse event" not in signed_in(coordinator).get(path).content.decode()


READ = """
import django, sys
django.setup()
from django.contrib.auth.models import User
from web_helpers import signed_in
client = signed_in(User.objects.get(pk=int(sys.argv[1])))
sys.stdout.write(client.get(sys.argv[2], HTTP_HOST="127.0.0.1").content.decode())
"""


def _page_in_another_process(user_id: int, path: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", READ, str(user_id), path],
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_write_is_on_the_chart_another_worker_serves_at_once(
    clinician: Any, transactional_db: Any
) -> None:
    patient = treated(clinician, 100)
    # A first worker opens the chart: its parts are now kept in the shared cache.
    page = _page_in_another_process(clinician.pk, f"/patients/{patient.pk}/")
    assert "6 weeks reassessment" not in page and "Renamed" not in page
    # This process records the six-week answers through the service (committed on return).
    paper_form_enter(
        actor=acting(clinician),
        visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
        measured_on=timezone.localdate() - timedelta(days=58),
        answers=Answers(40, "vas", [2] * 10),
    )
    # Another worker, straight after: the new timeline entry, not the kept chart.
    page = _page_in_another_process(clinician.pk, f"/patients/{patient.pk}/")
    assert "6 weeks reassessment" in page and "pain 4" in page
    # A change by hand in the database, without any signal: a lot's code on the injection.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE plans_productlot SET code = 'RELABELLED-7'")
    assert "RELABELLED-7" in _page_in_another_process(clinician.pk, f"/patients/{patient.pk}/")
    # The clinician's name (on every chart where they injected).
    User.objects.filter(pk=clinician.pk).update(first_name="Renamed")
    assert "Renamed" in _page_in_another_process(clinician.pk, f"/patients/{patient.pk}/")


def test_the_kept_chart_is_not_shown_on_another_day(
    clinician: Any, clinician_client: Client, candidate_encounter: Encounter
) -> None:
    """What holds depends on the day (an MRI grows old); the key holds the day."""
    import time_machine

    path = f"/patients/{candidate_encounter.patient_id}/"
    clinician_client.get(path)  # kept for today
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        client = signed_in(clinician)
        with CaptureQueriesContext(connection) as computed:
            first = client.get(path)
        with CaptureQueriesContext(connection) as kept:
            client.get(path)
    assert first.status_code == 200
    assert len(computed) > len(kept) + 10


def test_a_write_is_on_the_worklist_another_worker_serves_at_once(
    clinician: Any, transactional_db: Any
) -> None:
    patient = treated(clinician, 42)  # the six-week visit is due today
    page = _page_in_another_process(clinician.pk, "/worklist/")
    assert f"{patient.family_name}, {patient.given_name}" in page
    # A change by hand in the database, without any signal: the patient's name.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET family_name = 'Renamedson' WHERE id = %s", [patient.pk]
        )
    assert "Renamedson, " in _page_in_another_process(clinician.pk, "/worklist/")
    # The answers, through the service: the visit is no longer open.
    paper_form_enter(
        actor=acting(clinician),
        visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
        measured_on=timezone.localdate(),
        answers=Answers(40, "vas", [2] * 10),
    )
    assert "Renamedson, " not in _page_in_another_process(clinician.pk, "/worklist/")


def test_the_table_versions_change_with_each_write(
    clinician: Any, candidate_encounter: Any
) -> None:
    before = versions.table_versions("consultations_levelfinding", "patients_patient")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE consultations_levelfinding SET pfirrmann = 5")
    after = versions.table_versions("consultations_levelfinding", "patients_patient")
    assert after.split(".")[0] != before.split(".")[0]
    assert after.split(".")[1] == before.split(".")[1]
    with pytest.raises(ValueError, match="not versioned: audit_auditevent"):
        versions.table_versions("audit_auditevent")


def test_a_fhir_patient_read_is_kept_and_each_one_is_still_disclosed(
    clinician: Any, candidate_encounter: Encounter
) -> None:
    from django.test import Client

    from spinepath.actors import Actor
    from spinepath.audit.models import AuditEvent
    from spinepath.fhir_api.services import token_create

    _token, secret = token_create(actor=Actor.system(), name="ehr", can_write=False)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    patient = candidate_encounter.patient
    path = f"/fhir/Patient/{patient.pk}"
    disclosed = AuditEvent.objects.filter(what="FHIR API: read Patient", patient=patient)
    with CaptureQueriesContext(connection) as computed:
        first = client.get(path).json()
    with CaptureQueriesContext(connection) as kept:
        second = client.get(path).json()
    assert first == second and first["name"][0]["family"] == "Lopez"
    assert len(kept) < len(computed) and disclosed.count() == 2
    assert disclosed.latest("id").detail == {"records": [patient.mrn]}
    # A change by hand in the database is in the next read; an unknown id is still a 404.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET family_name = 'Renamedson' WHERE id = %s", [patient.pk]
        )
    assert client.get(path).json()["name"][0]["family"] == "Renamedson"
    assert client.get("/fhir/Patient/999999").status_code == 404
    assert client.get("/fhir/Patient/999999").status_code == 404
    assert client.get("/fhir/Patient/0013x").status_code == 404
    # One patient's records searched: kept under the same version, each search disclosed.
    search = f"/fhir/Procedure?patient={patient.pk}"
    before = client.get(search).json()
    assert client.get(search).json()["total"] == before["total"]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO consultations_priorprocedure (patient_id, kind, performed_on, levels)"
            " VALUES (%s, 'fusion', '2020-01-02', '[\"L5-S1\"]')",
            [patient.pk],
        )
    after = client.get(search).json()
    assert after["total"] == before["total"] + 1
    # A search that finds something discloses the patient (two of the three, if none before).
    found = 1 + 2 * (before["total"] > 0)
    disclosed = AuditEvent.objects.filter(what="FHIR API: search Procedure", patient=patient)
    assert disclosed.count() == found
    assert client.get("/fhir/Procedure?patient=999999").status_code == 400


def test_a_search_is_kept_until_a_patient_changes(
    clinician_client: Client, candidate_encounter: Encounter
) -> None:
    from spinepath.audit.models import AuditEvent

    patient = candidate_encounter.patient
    with CaptureQueriesContext(connection) as computed:
        first = clinician_client.get("/patients/?q=lop").content.decode()
    with CaptureQueriesContext(connection) as kept:
        partial = clinician_client.get("/patients/?q=lop", HTTP_HX_REQUEST="true")
    assert "Lopez, Maria" in first and "Lopez, Maria" in partial.content.decode()
    assert "<html" not in partial.content.decode() and len(kept) < len(computed)
    # Each search still names the patients it showed.
    shown = AuditEvent.objects.filter(path__startswith="/patients/?q=lop").order_by("id")
    assert [e.detail["shown"] for e in shown] == [[patient.mrn], [patient.mrn]]
    # A change by hand in the database: the next search shows the new name, not the old.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET family_name = 'Renamedson' WHERE id = %s", [patient.pk]
        )
    # (The search key is still the old name's: only the name shown was changed by hand.)
    again = clinician_client.get("/patients/?q=lop").content.decode()
    assert "Renamedson, Maria" in again and "Lopez, Maria" not in again


def test_the_shared_file_cache_is_culled_now_and_then_not_on_every_write(tmp_path: Any) -> None:
    from spinepath.web.filecache import FileCache

    cache = FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})
    for i in range(30):
        cache.set(f"k{i}", i)
    # Culled once, when it was first written to; the rest wait for the next half minute.
    assert len(list(tmp_path.glob("*.djcache"))) == 30
    cache._culled_at = float("-inf")
    cache.set("one-more", 1)
    assert len(list(tmp_path.glob("*.djcache"))) <= 17
    assert cache.get("one-more") == 1


def test_the_kept_review_signs_as_its_reader_with_its_own_key(
    clinician: Any, coordinator: Any, candidate_encounter: Encounter
) -> None:
    """The review is kept for whoever opens it next; its Sign button is still the reader's (their
    name, a one-time key of their own page, their CSRF token), and a change of the facts behind
    it is shown at once."""
    from web_helpers import PASSWORD, sign_button

    from spinepath.accounts.services import staff_user_create
    from spinepath.actors import Actor
    from spinepath.consultations.models import CandidacyDecision
    from spinepath.consultations.views import signing
    from spinepath.web.kept import placeholder

    path = f"/consultations/{candidate_encounter.pk}/review/"
    other = staff_user_create(
        actor=Actor.system(),
        username="clin2",
        password=PASSWORD,
        role="clinician",
        first_name="Bo",
        last_name="Okafor<b>",
    )
    reader, browser = signed_in(clinician), signed_in(other)
    browser.handler.enforce_csrf_checks = True
    # The first review of the day also counts the day's figures of patients like this one
    # (kept in the database: a change of what every page may show).
    first = reader.get(path)
    assert sign_button(reader.get(path)) != {}  # computed again once: the figures changed
    with mock.patch.object(signing, "_review_body", wraps=signing._review_body) as computed:
        assert reader.get(path).content.decode().count("Sign decision as") == 1
        assert "Only a clinician can sign" in signed_in(coordinator).get(path).content.decode()
        page = browser.get(path)
    # Computed for the coordinator only; both clinicians were shown the kept review.
    assert computed.call_count == 1
    text = page.content.decode()
    assert "Sign decision as Bo Okafor&lt;b&gt;" in text
    assert not any(placeholder(p) in text for p in ("csrf", "signer", "signature token"))
    assert sign_button(page)["fingerprint"] == sign_button(first)["fingerprint"]
    assert sign_button(page)["token"] != sign_button(first)["token"]
    # A red flag set by hand in the database: the next review is the new decision.
    Encounter.objects.filter(pk=candidate_encounter.pk).update(red_cauda_equina=True)
    changed = browser.get(path)
    assert 'class="decision-banner refer_urgent"' in changed.content.decode()
    assert sign_button(changed)["fingerprint"] != sign_button(page)["fingerprint"]
    # The stale page's form is refused; the fresh one signs, as its reader.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
    stale = browser.post(
        f"/consultations/{candidate_encounter.pk}/sign/",
        {**sign_button(page), "csrfmiddlewaretoken": token},
    )
    assert stale.status_code == 409 and not CandidacyDecision.objects.exists()
    signed = browser.post(
        f"/consultations/{candidate_encounter.pk}/sign/",
        {**sign_button(changed), "csrfmiddlewaretoken": token},
    )
    assert signed.status_code == 302
    decision = CandidacyDecision.objects.get()
    assert decision.decision == "refer_urgent" and decision.signed_by == other


def test_the_outcome_chart_is_kept_until_a_measurement_changes(
    clinician: Any, clinician_client: Client
) -> None:
    from spinepath.followup import charts

    patient = treated(clinician, 100)
    path = f"/patients/{patient.pk}/outcomes.svg"
    with mock.patch.object(charts, "outcome_chart_svg", wraps=charts.outcome_chart_svg) as drawn:
        first = clinician_client.get(path).content
        assert clinician_client.get(path).content == first and drawn.call_count == 1
        paper_form_enter(
            actor=acting(clinician),
            visit=ReassessmentVisit.objects.get(patient=patient, key="6w"),
            measured_on=timezone.localdate() - timedelta(days=58),
            answers=Answers(40, "vas", [2] * 10),
        )
        assert clinician_client.get(path).content != first and drawn.call_count == 2


def test_a_page_kept_under_one_policy_is_not_shown_under_another(
    clinician_client: Client, candidate_encounter: Encounter
) -> None:
    """A worker that still holds the policy in force before an adoption (each holds it for two
    seconds) keeps what it computes under that policy's digest, never under the new one's."""
    from spinepath.web import kept as kept_module

    path = f"/patients/{candidate_encounter.patient_id}/"
    from spinepath.records import views as chart_views

    with mock.patch.object(chart_views, "_chart_parts", wraps=chart_views._chart_parts) as computed:
        clinician_client.get(path)
        clinician_client.get(path)
        assert computed.call_count == 1
        with mock.patch.object(kept_module, "policy_digest", return_value="another-policy"):
            clinician_client.get(path)
        assert computed.call_count == 2


def test_the_placeholders_are_secret_and_user_text_is_never_filled_in(
    clinician: Any, clinician_client: Client, candidate_encounter: Encounter
) -> None:
    from django.test import override_settings

    from spinepath.web.kept import placeholder

    mine = placeholder("signer")
    with override_settings(SECRET_KEY="another secret key, long enough to be one"):
        other = placeholder("signer")
    assert mine != other and mine.startswith("kept-")
    # The strings of the first build (public in its source) are plain text now.
    Encounter.objects.filter(pk=candidate_encounter.pk).update(
        goals="Agreed with kept-part-signer-name-9a41c3f0 kept-part-csrf-token-0c5e7d1a"
    )
    review = clinician_client.get(f"/consultations/{candidate_encounter.pk}/review/")
    page = review.content.decode()
    for secret in ("csrf", "signer", "signature token"):
        assert placeholder(secret) not in page
    chart = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/").content.decode()
    assert placeholder("csrf") not in chart


def test_a_visit_closed_by_hand_leaves_the_worklist_at_once(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, 42)  # the six-week visit is due today
    before = clinician_client.get("/worklist/").content.decode()
    assert f"{patient.family_name}, {patient.given_name}" in before
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE followup_reassessmentvisit SET opens = %s, closes = %s "
            "WHERE patient_id = %s AND key = '6w'",
            [
                timezone.localdate() + timedelta(days=30),
                timezone.localdate() + timedelta(days=60),
                patient.pk,
            ],
        )
    after = clinician_client.get("/worklist/").content.decode()
    assert f"{patient.family_name}, {patient.given_name}" not in after


def test_insert_or_replace_changes_the_version_of_the_row_it_removed(
    clinician: Any, candidate_encounter: Encounter
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    patient = candidate_encounter.patient
    other = reviewed_patient(clinician, timezone.localdate(), "t-other")
    finding = LevelFinding.objects.filter(study__patient=patient).first()
    target = other.imaging.first()
    before, before_other = _parts(patient.pk), _parts(other.pk)
    # The finding's row replaced by one of the other patient's study, under the same id: SQLite
    # removes the first row without a DELETE statement.
    columns = [f.column for f in LevelFinding._meta.concrete_fields]
    values = ", ".join("%s" if c == "study_id" else c for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT OR REPLACE INTO consultations_levelfinding ({', '.join(columns)}) "
            f"SELECT {values} FROM consultations_levelfinding WHERE id = %s",
            [target.pk, finding.pk],
        )
    assert LevelFinding.objects.get(pk=finding.pk).study_id == target.pk
    assert _parts(patient.pk)[0] != before[0] and _parts(other.pk)[0] != before_other[0]


def test_a_chart_number_beyond_any_row_is_not_found(clinician_client: Client) -> None:
    assert clinician_client.get(f"/patients/{2**63}/").status_code == 404
    assert clinician_client.get(f"/patients/{2**70}/outcomes.svg").status_code == 404


def test_a_fhir_search_of_one_patient_is_computed_again_the_next_day(
    clinician: Any, candidate_encounter: Encounter
) -> None:
    """What a resource says may depend on the day (a plan is on hold once its MRI is too old)."""
    import time_machine
    from django.test import Client

    from spinepath.actors import Actor
    from spinepath.fhir_api import resources
    from spinepath.fhir_api.services import token_create

    _token, secret = token_create(actor=Actor.system(), name="ehr", can_write=False)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    path = f"/fhir/CarePlan?patient={candidate_encounter.patient_id}"
    with mock.patch.object(resources, "_records_of", wraps=resources._records_of) as computed:
        client.get(path)
        client.get(path)
        assert computed.call_count == 1
        with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
            client.get(path)
        assert computed.call_count == 2


def test_a_window_opened_by_hand_is_on_the_worklist_at_once(
    clinician: Any, clinician_client: Client
) -> None:
    """The worklist bounds its search by the widest window stored, read at each computation."""
    patient = treated(clinician, 10)
    path = f"/worklist/?state=open&patient={patient.pk}"
    assert "3 months" not in clinician_client.get(path).content.decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE followup_reassessmentvisit SET opens = %s WHERE patient_id = %s AND key = '3m'",
            [timezone.localdate() - timedelta(days=1), patient.pk],
        )
    assert "3 months" in clinician_client.get(path).content.decode()


def test_the_menus_count_of_open_visits_follows_a_change_by_hand(clinician: Any) -> None:
    from spinepath.followup.services import open_item_count

    patient = treated(clinician, 42)  # the six-week visit is due today
    today = timezone.localdate()
    before = open_item_count(today)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE followup_reassessmentvisit SET closes = %s "
            "WHERE patient_id = %s AND key = '6w'",
            [today - timedelta(days=1), patient.pk],
        )
    assert open_item_count(today) == before - 1


def test_commands_starting_at_once_install_the_triggers_side_by_side(
    transactional_db: Any,
) -> None:
    """Every command of the CLI migrates as it starts, which installs the triggers: two at once
    (two reminder runs) must both succeed, and leave every trigger in place."""
    import threading

    from django.db import connections

    errors: list[BaseException] = []

    def install() -> None:
        try:
            versions.install_triggers(connections["default"])
        except BaseException as problem:  # the test reports whatever happened
            errors.append(problem)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=install) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert versions.tables_without_triggers() == []
