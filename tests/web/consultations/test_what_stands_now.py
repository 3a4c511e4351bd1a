"""What stands now (PATHWAY.md section 9): the attacks of issue 22, tried from the outside.

One standing of the patient is read by every gate: a coordinator's edit never hides what a
clinician stated, a late signature of an older consultation never takes force, an unsigned
warning stops injections at once, signed decisions are never deleted, and create forms make
one record per submission.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from treatment_helpers import DISC, accepted_plan_for, inject, on_day, reviewed_patient
from web_helpers import HISTORY, acting, import_encounter, parallel_posts, signed_in

from spinepath.consultations.actions import (
    decision_review,
    decision_sign,
    encounter_save,
    encounter_start,
)
from spinepath.consultations.models import CandidacyDecision, DiagnosticBlock, Encounter
from spinepath.errors import Conflict, NotAllowed, NotAvailable, Refused
from spinepath.patients.models import Patient
from spinepath.plans import procedures
from spinepath.plans.models import Procedure
from spinepath.plans.services import plan_create
from spinepath.portal.models import SignInLink
from spinepath.web.immutable import SIGNED_DECISIONS_KEPT, refuse_deletes, refuses

FUSION = {"kind": "fusion", "date": "2023-05-10", "levels": ["L4-L5"]}


def review_of(encounter: Encounter) -> str:
    return decision_review(Encounter.objects.get(pk=encounter.pk)).decision.decision


# --- 1. A fact keeps its author ---------------------------------------------------------------


def test_a_coordinators_blank_asked_box_never_hides_a_clinicians_fusion(
    clinician: Any, coordinator: Any, coordinator_client: Client
) -> None:
    encounter = import_encounter(clinician, history__prior_procedures=[FUSION])
    assert review_of(encounter) == "not_candidate"  # the only worn disc is fused
    # The coordinator's intake step, posted with "asked about earlier procedures" blank.
    data = {**HISTORY, "prior_procedures_asked": "", "step": "history"}
    coordinator_client.post(f"/consultations/{encounter.pk}/history/", data)
    assert review_of(encounter) == "not_candidate"
    # The service refuses it whatever the route (autosave, a crafted post).
    with pytest.raises(NotAllowed) as refused:
        encounter_save(
            encounter=encounter,
            actor=acting(coordinator),
            step="history",
            fields={"prior_procedures_asked": None},
        )
    assert "prior_procedures_asked" in refused.value.fields
    assert review_of(encounter) == "not_candidate"


def test_recorded_earlier_procedures_count_even_when_nobody_ticked_asked(clinician: Any) -> None:
    recent = {"kind": "discectomy", "date": "2026-08-01", "levels": ["L4-L5"]}
    encounter = import_encounter(clinician, history__prior_procedures=[recent])
    Encounter.objects.filter(pk=encounter.pk).update(prior_procedures_asked=None)
    assert review_of(encounter) == "not_candidate"  # wait for recovery, never "candidate"


def test_a_coordinator_cannot_blank_or_replace_what_a_clinician_recorded(
    clinician: Any, coordinator: Any
) -> None:
    encounter = import_encounter(clinician)
    for value in (None, 1.0):
        with pytest.raises(NotAllowed) as refused:
            encounter_save(
                encounter=encounter,
                actor=acting(coordinator),
                step="history",
                fields={"pain_duration_months": value},
            )
        assert refused.value.fields["pain_duration_months"].startswith("A clinician recorded")
    # What the coordinator stated, the coordinator may change; a clinician may change anything.
    encounter_save(
        encounter=encounter, actor=acting(coordinator), step="history", fields={"goals": "Run"}
    )
    encounter_save(
        encounter=encounter, actor=acting(coordinator), step="history", fields={"goals": "Walk"}
    )
    encounter_save(
        encounter=encounter,
        actor=acting(clinician),
        step="history",
        fields={"pain_duration_months": 30.0},
    )
    assert Encounter.objects.get(pk=encounter.pk).pain_duration_months == 30.0


# --- 2. The decision in force follows the review date -------------------------------------------


def test_a_late_signature_of_an_older_consultation_never_replaces_an_urgent_referral(
    clinician: Any, clinician_client: Client
) -> None:
    older = import_encounter(clinician, assessed_on="2026-11-01")
    patient = older.patient
    # The first clinician opens the older review page (candidate facts) ...
    page = clinician_client.get(f"/consultations/{older.pk}/review/")
    token = re.search(rb'name="token" value="([^"]+)"', page.content).group(1).decode()
    fingerprint = re.search(rb'name="fingerprint" value="([^"]+)"', page.content).group(1)
    # ... a colleague records cauda equina on a newer consultation and signs it ...
    newer = encounter_start(
        patient=patient, actor=acting(clinician), assessed_on=date(2026, 11, 20)
    )
    encounter_save(
        encounter=newer,
        actor=acting(clinician),
        step="history",
        fields={
            "red_cauda_equina": True,
            "red_infection": False,
            "red_malignancy": False,
            "red_fracture": False,
        },
    )
    urgent = decision_sign(encounter=newer, actor=acting(clinician), token="u" * 24)
    assert urgent.decision == "refer_urgent"
    # ... then the first clinician signs the older page: refused, and told why.
    response = clinician_client.post(
        f"/consultations/{older.pk}/sign/",
        {"token": token, "fingerprint": fingerprint.decode()},
    )
    assert response.status_code == 409
    assert b"A newer consultation (2026-11-20) exists" in response.content
    assert CandidacyDecision.objects.filter(encounter=older).count() == 0
    with pytest.raises(NotAvailable):
        plan_create(patient=patient, actor=acting(clinician))
    # The newer signed facts stay locked: nothing dated on or before them changes.
    with pytest.raises(Conflict):
        encounter_save(
            encounter=newer, actor=acting(clinician), step="history", fields={"goals": "x"}
        )


def test_an_older_signature_given_before_a_newer_consultation_is_not_in_force(
    clinician: Any,
) -> None:
    older = import_encounter(clinician, assessed_on="2026-11-01")
    decision_sign(encounter=older, actor=acting(clinician), token="o" * 24)
    patient = older.patient
    newer = encounter_start(
        patient=patient, actor=acting(clinician), assessed_on=date(2026, 11, 20)
    )
    encounter_save(
        encounter=newer,
        actor=acting(clinician),
        step="exam",
        fields={"motor_deficit": "progressive"},
    )
    decision_sign(encounter=newer, actor=acting(clinician), token="n" * 24)
    with pytest.raises(NotAvailable) as refused:
        plan_create(patient=patient, actor=acting(clinician))
    assert refused.value.codes == ["not_candidate"]


# --- 3. An unsigned warning stops everything at once -------------------------------------------


@pytest.fixture
def accepted(clinician: Any) -> Patient:
    """Signed candidate on 1 November, plan accepted on 10 November."""
    patient = reviewed_patient(clinician, date(2026, 11, 1), "warned")
    accepted_plan_for(patient, clinician, date(2026, 11, 10))
    return patient


def _new_consultation_with(patient: Patient, clinician: Any, **fields: Any) -> Encounter:
    with on_day(date(2026, 11, 20)):
        newer = encounter_start(
            patient=patient, actor=acting(clinician), assessed_on=date(2026, 11, 20)
        )
        encounter_save(encounter=newer, actor=acting(clinician), step="history", fields=fields)
    return newer


def test_an_unsigned_cauda_equina_stops_the_injection_at_once(
    accepted: Patient, clinician: Any, clinician_client: Client
) -> None:
    _new_consultation_with(accepted, clinician, red_cauda_equina=True)
    with on_day(date(2026, 11, 21)), pytest.raises(procedures.ProcedureRefused) as refused:
        inject(accepted, clinician, date(2026, 11, 21))
    assert "warning_in_newer_consultation" in refused.value.codes
    assert any(
        "consultation of 2026-11-20 (no. " in r and "not yet signed" in r
        for r in refused.value.reasons
    )
    assert not Procedure.objects.exists()
    with on_day(date(2026, 11, 21)):
        page = clinician_client.get(f"/patients/{accepted.pk}/")
    assert b"The consultation of 2026-11-20 (no. " in page.content
    assert b"not yet signed, holds facts that call for an urgent referral" in page.content


def test_an_unsigned_fusion_a_week_ago_stops_the_injection_at_the_fused_level(
    accepted: Patient, clinician: Any
) -> None:
    newer = _new_consultation_with(accepted, clinician, prior_procedures_asked=True)
    with on_day(date(2026, 11, 20)):
        from spinepath.consultations.actions import procedure_add

        procedure_add(
            patient=accepted,
            through=newer,
            actor=acting(clinician),
            fields={"kind": "fusion", "performed_on": date(2026, 11, 13), "levels": ["L4-L5"]},
        )
    with on_day(date(2026, 11, 21)), pytest.raises(Refused) as refused:
        inject(accepted, clinician, date(2026, 11, 21))
    assert "warning_in_newer_consultation" in refused.value.codes


def test_signing_the_warning_lifts_nothing_but_decides(accepted: Patient, clinician: Any) -> None:
    newer = _new_consultation_with(accepted, clinician, red_cauda_equina=True)
    with on_day(date(2026, 11, 20)):
        signed = decision_sign(encounter=newer, actor=acting(clinician), token="w" * 24)
    assert signed.decision == "refer_urgent"
    with on_day(date(2026, 11, 21)), pytest.raises(Refused) as refused:
        inject(accepted, clinician, date(2026, 11, 21))
    assert "not_candidate" in refused.value.codes


def test_a_newer_consultation_without_a_warning_stops_nothing(
    accepted: Patient, clinician: Any
) -> None:
    _new_consultation_with(accepted, clinician, goals="Walk the dog")
    with on_day(date(2026, 11, 21)):
        assert inject(accepted, clinician, date(2026, 11, 21)).level == DISC.level


# --- 4. Signed decisions are never deleted --------------------------------------------------------


def test_signed_decisions_refuse_delete_in_the_database(
    candidate_encounter: Encounter, clinician: Any
) -> None:
    signed = decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="d" * 24)
    with pytest.raises(Exception, match="never deleted"):
        signed.delete()
    for statement in (
        f"DELETE FROM consultations_candidacydecision WHERE id = {signed.pk}",
        "DELETE FROM consultations_candidacydecision",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        CandidacyDecision.objects.filter(pk=signed.pk).delete()
    assert CandidacyDecision.objects.filter(pk=signed.pk).exists()
    assert refuses(connection, "consultations_candidacydecision", "DELETE") is True
    assert refuses(connection, "consultations_candidacydecision", "UPDATE") is True


def test_audit_verify_proves_each_protection_by_trying_it(
    candidate_encounter: Encounter, clinician: Any
) -> None:
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="v" * 24)
    from spinepath.commands.audit import _missing_protections

    assert _missing_protections() == []
    # A same-named trigger that never fires passes a check by name, not this one.
    forward, backward = refuse_deletes(*SIGNED_DECISIONS_KEPT)
    editor = _Statements()
    backward(None, editor)
    table, trigger = "consultations_candidacydecision", f"{SIGNED_DECISIONS_KEPT[0]}_never_deleted"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER {trigger} BEFORE DELETE ON {table} WHEN 0 BEGIN SELECT 1; END"
            )
        else:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION consultations_candidacydecision_refuse_delete() "
                "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER {trigger} BEFORE DELETE ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION consultations_candidacydecision_refuse_delete()"
            )
    try:
        problems = _missing_protections()
        assert any("signed decisions: an DELETE went through" in p for p in problems), problems
        assert CandidacyDecision.objects.count() == 1  # tried, and rolled back
    finally:
        backward(None, editor)
        forward(None, editor)
    assert _missing_protections() == []


class _Statements:
    """The part of a schema editor the trigger functions use, inside the test's transaction
    (SQLite's schema editor cannot be opened there)."""

    connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


# --- 5. One record per submission ----------------------------------------------------------------


def _key(page: bytes, name: str = "submission") -> str:
    found = re.search(rb'name="' + name.encode() + rb'" value="([^"]+)"', page)
    assert found is not None
    return found.group(1).decode()


NEW_PATIENT = {
    "given_name": "Ana",
    "family_name": "Marquez",
    "birth_date": "1971-02-03",
    "sex": "female",
    "email": "",
    "phone": "",
    "payer": "self_pay",
}


def test_the_new_patient_form_twice_makes_one_chart(coordinator_client: Client) -> None:
    key = _key(coordinator_client.get("/patients/new/").content)
    first = coordinator_client.post("/patients/new/", {**NEW_PATIENT, "submission": key})
    again = coordinator_client.post("/patients/new/", {**NEW_PATIENT, "submission": key})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Patient.objects.filter(family_name="Marquez").count() == 1


def test_a_second_chart_for_the_same_name_and_birth_date_needs_confirmation(
    coordinator_client: Client,
) -> None:
    key = _key(coordinator_client.get("/patients/new/").content)
    coordinator_client.post("/patients/new/", {**NEW_PATIENT, "submission": key})
    existing = Patient.objects.get(family_name="Marquez")
    key = _key(coordinator_client.get("/patients/new/").content)
    same = {**NEW_PATIENT, "given_name": "ANA", "family_name": "Márquez", "submission": key}
    response = coordinator_client.post("/patients/new/", same)
    assert response.status_code == 409
    assert f"already exists ({existing.mrn})".encode() in response.content
    assert f'href="/patients/{existing.pk}/"'.encode() in response.content
    assert b'value="ANA"' in response.content  # what was typed is kept
    assert Patient.objects.filter(birth_date=date(1971, 2, 3)).count() == 1
    confirmed = coordinator_client.post("/patients/new/", {**same, "confirm_other_person": "on"})
    assert confirmed.status_code == 302
    assert Patient.objects.filter(birth_date=date(1971, 2, 3)).count() == 2


def test_a_new_patient_form_without_its_key_is_refused_with_a_clear_error(
    coordinator_client: Client,
) -> None:
    response = coordinator_client.post("/patients/new/", NEW_PATIENT)
    assert response.status_code == 400
    assert b"This form has expired" in response.content
    assert b'value="Marquez"' in response.content
    assert not Patient.objects.exists()


def test_the_block_form_twice_records_one_block(clinician: Any, clinician_client: Client) -> None:
    encounter = import_encounter(clinician, imaging=[])
    url = f"/consultations/{encounter.pk}/imaging/"
    key = _key(clinician_client.get(url).content, "block-submission")
    data = {
        "form": "block",
        "block-submission": key,
        "block-kind": "medial_branch",
        "block-performed_on": "2026-10-20",
        "block-levels": ["L4-L5"],
        "block-side": "left",
        "block-relief_pct": "85",
    }
    for _ in range(3):
        assert clinician_client.post(url, data).status_code == 302
    assert DiagnosticBlock.objects.filter(patient=encounter.patient).count() == 1


def test_the_sign_in_link_button_twice_sends_one_email(
    coordinator_client: Client,
    clinician: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    patient = import_encounter(clinician).patient
    patient.email = "maria@example.org"
    patient.save()
    key = _key(coordinator_client.get(f"/patients/{patient.pk}/").content)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = coordinator_client.post(
                f"/patients/{patient.pk}/sign-in-link/", {"submission": key}
            )
        assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert SignInLink.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_posts_of_create_forms_create_once(coordinator: Any, clinician: Any) -> None:
    clients = [signed_in(coordinator) for _ in range(10)]
    key = _key(clients[0].get("/patients/new/").content)
    assert (
        parallel_posts(clients, "/patients/new/", {**NEW_PATIENT, "submission": key}) == [302] * 10
    )
    assert Patient.objects.filter(family_name="Marquez").count() == 1
    patient = Patient.objects.get(family_name="Marquez")
    patient.email = "ana@example.org"
    patient.save()
    link_key = _key(clients[0].get(f"/patients/{patient.pk}/").content)
    url = f"/patients/{patient.pk}/sign-in-link/"
    assert parallel_posts(clients, url, {"submission": link_key}) == [302] * 10
    assert SignInLink.objects.filter(patient=patient).count() == 1
    encounter = import_encounter(clinician, imaging=[], patient__id="par-1")
    doctors = [signed_in(clinician) for _ in range(10)]
    url = f"/consultations/{encounter.pk}/imaging/"
    block = {
        "form": "block",
        "block-submission": _key(doctors[0].get(url).content, "block-submission"),
        "block-kind": "medial_branch",
        "block-performed_on": "2026-10-20",
        "block-levels": ["L4-L5"],
        "block-side": "left",
        "block-relief_pct": "85",
    }
    assert parallel_posts(doctors, url, block) == [302] * 10
    assert DiagnosticBlock.objects.filter(patient=encounter.patient).count() == 1


# --- The second attack's findings ----------------------------------------------------------------


def test_a_signed_warning_amended_cannot_be_moved_behind_a_candidate(clinician: Any) -> None:
    older = import_encounter(clinician, assessed_on="2026-10-01")
    decision_sign(encounter=older, actor=acting(clinician), token="b" * 24)
    patient = older.patient
    newer = encounter_start(
        patient=patient, actor=acting(clinician), assessed_on=date(2026, 11, 20)
    )
    encounter_save(
        encounter=newer, actor=acting(clinician), step="history", fields={"red_cauda_equina": True}
    )
    assert (
        decision_sign(encounter=newer, actor=acting(clinician), token="a" * 24).decision
        != "candidate"
    )
    from spinepath.consultations.actions import encounter_amend

    encounter_amend(encounter=newer, actor=acting(clinician), reason="Wrong review date entered")
    with pytest.raises(Conflict) as refused:
        encounter_save(
            encounter=newer,
            actor=acting(clinician),
            step="history",
            fields={"assessed_on": date(2026, 9, 15)},
        )
    assert refused.value.codes == ["review_date_reorders"]
    assert "assessed_on" in refused.value.fields
    with pytest.raises(NotAvailable):
        plan_create(patient=patient, actor=acting(clinician))


def test_a_backdated_consultation_started_after_the_signature_still_stops(
    accepted: Patient, clinician: Any
) -> None:
    with on_day(date(2026, 11, 20)):
        backdated = encounter_start(
            patient=accepted, actor=acting(clinician), assessed_on=date(2026, 10, 15)
        )
        encounter_save(
            encounter=backdated,
            actor=acting(clinician),
            step="history",
            fields={"red_cauda_equina": True},
        )
    with on_day(date(2026, 11, 21)), pytest.raises(Refused) as refused:
        inject(accepted, clinician, date(2026, 11, 21))
    assert "warning_in_newer_consultation" in refused.value.codes
    assert any(f"no. {backdated.pk}" in reason for reason in refused.value.reasons)


def test_a_coordinators_import_brings_a_study_without_findings(
    clinician: Any, coordinator: Any
) -> None:
    encounter = import_encounter(clinician, assessed_on="2026-11-20")
    patient = encounter.patient
    newer_mri = {
        "modality": "MRI",
        "date": "2026-11-22",
        "levels": [{"level": "L4-L5", "pfirrmann": 1, "herniation": "bulge"}],
    }
    with on_day(date(2026, 11, 24)):
        import_encounter(
            coordinator, patient=patient, assessed_on="2026-11-24", imaging=[newer_mri]
        )
    study = patient.imaging.get(performed_on=date(2026, 11, 22))
    assert study.reviewed is False and study.levels.count() == 0


def test_new_information_goes_into_the_newer_consultation_and_stops_the_old_decision(
    accepted: Patient, clinician: Any, clinician_client: Client
) -> None:
    newer = _new_consultation_with(accepted, clinician, goals="Back for pain after surgery")
    with on_day(date(2026, 11, 20)):
        response = clinician_client.post(
            f"/consultations/{newer.pk}/imaging/",
            {
                "form": "procedure",
                "proc-kind": "discectomy",
                "proc-performed_on": "2026-09-15",
                "proc-levels": ["L4-L5"],
            },
        )
    assert response.status_code == 302  # recorded where the clinician is working
    with on_day(date(2026, 11, 21)), pytest.raises(Refused) as refused:
        inject(accepted, clinician, date(2026, 11, 21))
    assert {"facts_changed_since_signing", "warning_in_newer_consultation"} <= set(
        refused.value.codes
    )


def test_a_consultation_is_started_only_from_the_charts_form(
    clinician_client: Client, clinician: Any
) -> None:
    patient = import_encounter(clinician).patient
    for _ in range(3):
        response = clinician_client.post(f"/patients/{patient.pk}/consultations/new/")
        assert response.status_code == 302
    assert Encounter.objects.filter(patient=patient).count() == 1


def test_punctuation_does_not_make_another_person(coordinator_client: Client) -> None:
    key = _key(coordinator_client.get("/patients/new/").content)
    coordinator_client.post("/patients/new/", {**NEW_PATIENT, "submission": key})
    key = _key(coordinator_client.get("/patients/new/").content)
    variant = {**NEW_PATIENT, "family_name": "Márquez-", "submission": key}
    assert coordinator_client.post("/patients/new/", variant).status_code == 409


def test_the_patients_pages_say_on_hold_while_a_warning_stands(
    accepted: Patient, clinician: Any, coordinator: Any
) -> None:
    from portal.test_portal import patient_client, with_contact

    with_contact(accepted)
    _new_consultation_with(accepted, clinician, red_cauda_equina=True)
    client = patient_client(coordinator, accepted)
    for page in ("/my/", "/my/consultation/", "/my/plan/"):
        assert b"The clinic is reviewing new information" in client.get(page).content
    assert b"the coordinator will contact you to book it" not in client.get("/my/plan/").content
