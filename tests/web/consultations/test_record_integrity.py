"""Issue "a record the clinic can trust": each finding reproduced over HTTP, and refused.

Who may state a fact (PATHWAY.md section 7), what a signature binds, and what happens after:
signed is locked, a change is an amendment with its reason and the earlier values.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from treatment_helpers import released
from web_helpers import HISTORY, acting, decision_in_force, import_encounter, sign_button, start

from spinepath.consultations.actions import decision_review, decision_sign, encounter_amend
from spinepath.consultations.models import (
    Amendment,
    CandidacyDecision,
    DiagnosticBlock,
    Encounter,
    ImagingStudy,
)
from spinepath.errors import NotAllowed
from spinepath.patients.services import patient_create


def signing_form(client: Client, encounter: Encounter) -> dict[str, str]:
    """What the review page's Sign button posts, read from the page as a browser does."""
    return sign_button(client.get(f"/consultations/{encounter.pk}/review/"))


def study_post(study: ImagingStudy, **changes: str) -> dict[str, str]:
    """The study page's form as a browser posts it, with the findings left as they are."""
    from spinepath.consultations.actions import study_version

    data = {
        "study-shown": study_version(study),
        "study-modality": study.modality,
        "study-performed_on": study.performed_on.isoformat(),
        "study-fracture": study.fracture,
        "study-report": study.report,
        "lv-TOTAL_FORMS": "0",
        "lv-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


# --- 1. Who may make an MRI "reviewed" --------------------------------------------------------


def test_1a_a_coordinator_cannot_review_or_edit_a_study_by_its_form(
    coordinator_client: Client, clinician: Any
) -> None:
    encounter = import_encounter(clinician)
    study = ImagingStudy.objects.get()
    url = f"/consultations/{encounter.pk}/imaging/{study.pk}/"
    for tampered in ({"study-attest": "on"}, {"study-performed_on": "2026-09-30"}):
        response = coordinator_client.post(url, study_post(study, **tampered))
        assert response.status_code == 403
    response = coordinator_client.post(
        f"/consultations/{encounter.pk}/imaging/", {"form": "review_study", "study_id": study.pk}
    )
    assert response.status_code == 403
    study.refresh_from_db()
    assert study.performed_on == date(2026, 8, 20)


def test_1a_an_unreviewed_study_stays_unreviewed_after_a_coordinators_attempt(
    coordinator_client: Client, coordinator: Any, clinician: Any
) -> None:
    encounter = import_encounter(coordinator)  # a coordinator's import: unreviewed
    study = ImagingStudy.objects.get()
    assert study.reviewed is False
    coordinator_client.post(
        f"/consultations/{encounter.pk}/imaging/{study.pk}/",
        study_post(study, **{"study-attest": "on"}),
    )
    study.refresh_from_db()
    assert (study.reviewed, study.reviewed_by) == (False, None)


def test_1b_an_import_never_brings_a_review_whoever_imports(
    coordinator: Any, clinician: Any
) -> None:
    from workup_builder import document

    from spinepath.consultations.actions import workup_import
    from spinepath.pathway.workup import workup_from_dict

    for user, pid in ((coordinator, "c-1"), (clinician, "c-2")):
        doc = document(patient__id=pid)
        assert doc["imaging"][0]["reviewed"] is True
        workup_import(workup=workup_from_dict(doc), actor=acting(user), names=("A", pid))
    assert not ImagingStudy.objects.filter(reviewed=True).exists()
    assert set(ImagingStudy.objects.values_list("reviewed_by", flat=True)) == {None}


def test_1c_moving_a_reviewed_mri_clears_its_review_and_closes_the_price_page(
    clinician_client: Client, clinician: Any, candidate_encounter: Encounter
) -> None:
    """The attack: a 2025 MRI moved to 2026 opened the price and plan pages."""
    study = ImagingStudy.objects.get()
    study.refresh_from_db()
    assert study.reviewed is True
    response = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/imaging/{study.pk}/",
        study_post(study, **{"study-performed_on": "2026-09-01"}),
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.reviewed, study.reviewed_by, study.reviewed_at) == (False, None, None)
    history = list(study.history.order_by("history_date"))
    assert history[-2].reviewed is True and history[-1].reviewed is False  # kept, not lost
    decision = clinician_client.get(f"/consultations/{candidate_encounter.pk}/review/")
    assert decision.context["decision"].rule("mri_reviewed").outcome == "fail"


def test_1c_a_study_changed_after_signing_takes_the_decision_out_of_force(
    clinician_client: Client, clinician: Any, candidate_encounter: Encounter
) -> None:
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="s" * 24)
    assert decision_in_force(candidate_encounter.patient).is_candidate
    study = ImagingStudy.objects.get()
    edit = study_post(study, **{"study-performed_on": "2026-09-01", "study-attest": "on"})
    locked = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/imaging/{study.pk}/", edit
    )
    assert locked.status_code == 409  # not through the signed consultation's own pages
    assert decision_in_force(candidate_encounter.patient).is_candidate
    # Nor through another consultation's pages: the study is part of what was signed.
    newer = Encounter.objects.create(patient=candidate_encounter.patient, assessed_on=date.today())
    through_newer = clinician_client.post(f"/consultations/{newer.pk}/imaging/{study.pk}/", edit)
    assert through_newer.status_code == 409
    assert "signed and locked" in through_newer.content.decode()
    study.refresh_from_db()
    assert study.performed_on == date(2026, 8, 20)
    # Amended with a reason, the study may change; the decision stops counting meanwhile.
    encounter_amend(
        encounter=candidate_encounter, actor=acting(clinician), reason="MRI date mistyped"
    )
    clinician_client.post(f"/consultations/{newer.pk}/imaging/{study.pk}/", edit)
    study.refresh_from_db()
    assert study.performed_on == date(2026, 9, 1)
    standing = decision_in_force(candidate_encounter.patient)
    assert not standing.is_candidate
    assert standing.problem is not None and "being amended" in standing.problem.sentence
    chart = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    assert "being amended" in chart.content.decode()
    plans = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/plans/")
    assert plans.status_code == 404


def test_a_coordinator_cannot_state_the_red_flag_screen_exam_or_pattern(
    coordinator_client: Client, clinician: Any
) -> None:
    encounter = start(coordinator_client, clinician)
    page = coordinator_client.get(f"/consultations/{encounter.pk}/history/")
    assert 'name="red_malignancy"' in page.content.decode()
    assert "disabled" in page.context["form"]["red_malignancy"].as_widget()
    coordinator_client.post(f"/consultations/{encounter.pk}/history/", HISTORY)
    encounter.refresh_from_db()
    assert encounter.pain_duration_months == 24  # intake history: a coordinator's to take
    assert encounter.red_malignancy is None and encounter.pattern == ""
    coordinator_client.post(f"/consultations/{encounter.pk}/exam/", {"motor_deficit": "none"})
    encounter.refresh_from_db()
    assert encounter.motor_deficit == ""


def test_the_service_refuses_a_coordinators_clinical_fact_by_any_route(
    coordinator: Any, clinician: Any
) -> None:
    from spinepath.consultations.actions import block_add, encounter_save

    patient = patient_create(
        actor=acting(coordinator), details={"given_name": "Zoë", "family_name": "O'Brien"}
    )
    encounter = Encounter.objects.create(patient=patient, assessed_on=date(2026, 11, 2))
    with pytest.raises(NotAllowed) as refused:
        encounter_save(
            encounter=encounter,
            actor=acting(coordinator),
            step="history",
            fields={"red_fracture": False},
        )
    assert refused.value.fields == {
        "red_fracture": "Only a clinician can record or change the red-flag screen."
    }
    with pytest.raises(NotAllowed):
        block_add(
            patient=patient,
            actor=acting(coordinator),
            fields={"kind": "medial_branch", "performed_on": date(2026, 9, 1), "levels": ["L5-S1"]},
        )
    assert not DiagnosticBlock.objects.exists()


def test_an_imported_block_counts_only_once_a_clinician_verifies_it(
    clinician_client: Client, coordinator: Any
) -> None:
    block = {"kind": "medial_branch", "date": "2026-09-01", "levels": ["L5-S1"], "relief_pct": 90}
    encounter = import_encounter(
        coordinator,
        exam__facet_pattern=True,
        imaging__0__levels__4__facet_arthropathy=2,
        diagnostic_blocks=[block],
    )
    assert decision_review(encounter).workup.diagnostic_blocks == ()
    stored = DiagnosticBlock.objects.get()
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/imaging/", {"form": "verify_block", "block_id": stored.pk}
    )
    assert response.status_code == 302
    assert len(decision_review(encounter).workup.diagnostic_blocks) == 1


# --- 2. A signature binds what was shown -------------------------------------------------------


def test_2_signing_a_review_that_changed_meanwhile_is_refused_and_the_new_one_shown(
    clinician_client: Client, clinician: Any, coordinator_client: Client
) -> None:
    encounter = import_encounter(clinician, red_flags__cauda_equina=True)
    form = signing_form(clinician_client, encounter)
    shown = clinician_client.get(f"/consultations/{encounter.pk}/review/").content.decode()
    assert 'class="decision-banner refer_urgent"' in shown
    # Meanwhile the red flag is cleared (by a clinician: a coordinator may not).
    encounter_post = {**HISTORY, "red_cauda_equina": "false"}
    assert coordinator_client.post(
        f"/consultations/{encounter.pk}/history/", encounter_post
    ).status_code in (302, 403)
    Encounter.objects.filter(pk=encounter.pk).update(red_cauda_equina=False)

    response = clinician_client.post(f"/consultations/{encounter.pk}/sign/", form)
    assert response.status_code == 409
    page = response.content.decode()
    assert "The workup changed since you opened this review" in page
    assert response.context["decision"].decision == "candidate"  # the new review, shown
    assert not CandidacyDecision.objects.exists()


def test_2_signing_again_with_nothing_changed_is_a_no_op_that_says_so(
    clinician_client: Client, candidate_encounter: Encounter
) -> None:
    from spinepath.consultations.actions import new_signature_token

    form = signing_form(clinician_client, candidate_encounter)
    clinician_client.post(f"/consultations/{candidate_encounter.pk}/sign/", form)
    # The same form again (a second click), and the same review with another page's key.
    for again in (form, {**form, "token": new_signature_token()}):
        response = clinician_client.post(
            f"/consultations/{candidate_encounter.pk}/sign/", again, follow=True
        )
        assert "Already signed" in response.content.decode()
    assert CandidacyDecision.objects.count() == 1
    assert (
        b"Sign decision as"
        not in clinician_client.get(f"/consultations/{candidate_encounter.pk}/review/").content
    )


def test_2_a_form_without_the_fingerprint_is_refused(
    clinician_client: Client, candidate_encounter: Encounter
) -> None:
    form = signing_form(clinician_client, candidate_encounter)
    for tampered in ({"fingerprint": ""}, {"fingerprint": "0" * 64}):
        response = clinician_client.post(
            f"/consultations/{candidate_encounter.pk}/sign/", {**form, **tampered}
        )
        assert response.status_code in (400, 409)
    assert not CandidacyDecision.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_2_parallel_signatures_from_two_pages_sign_once(clinician: Any) -> None:
    encounter = import_encounter(clinician)
    fingerprint = decision_review(encounter).fingerprint
    barrier = threading.Barrier(4)

    def attempt(index: int) -> None:
        try:
            barrier.wait()
            decision_sign(
                encounter=encounter,
                actor=acting(clinician),
                token=f"page-{index}".ljust(24, "x"),
                fingerprint=fingerprint,
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert CandidacyDecision.objects.count() == 1


# --- 3. Signed means locked; a change is an amendment --------------------------------------------


def test_3_a_signed_consultation_is_locked(
    clinician_client: Client, clinician: Any, candidate_encounter: Encounter
) -> None:
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="s" * 24)
    history = clinician_client.get(f"/consultations/{candidate_encounter.pk}/history/")
    assert "Signed and locked" in history.content.decode()
    response = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/history/",
        {**HISTORY, "red_cauda_equina": "true"},
    )
    assert response.status_code in (400, 409)
    candidate_encounter.refresh_from_db()
    assert candidate_encounter.red_cauda_equina is False
    autosave = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/exam/",
        {"motor_deficit": "progressive", "autosave": "1"},
        headers={"HX-Request": "true"},
    )
    assert autosave.status_code != 200 or b"Saved " not in autosave.content
    candidate_encounter.refresh_from_db()
    assert candidate_encounter.motor_deficit == "none"


def test_3_amend_with_a_reason_keep_the_earlier_values_and_sign_again(
    clinician_client: Client, clinician: Any, candidate_encounter: Encounter
) -> None:
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="s" * 24)
    review_url = f"/consultations/{candidate_encounter.pk}/review/"
    refused = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/amend/", {"reason": ""}
    )
    assert refused.status_code == 400
    response = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/amend/",
        {"reason": "Pain duration was mistyped: two months, not 24."},
    )
    assert response.status_code == 302
    assert not decision_in_force(candidate_encounter.patient).is_candidate
    clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/history/",
        {**HISTORY, "pain_duration_months": "2"},
    )
    page = clinician_client.get(review_url).content.decode()
    assert "Being amended" in page and "Pain duration was mistyped" in page
    clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/sign/",
        signing_form(clinician_client, candidate_encounter),
    )
    decisions = list(CandidacyDecision.objects.order_by("id").values_list("decision", flat=True))
    assert decisions == ["candidate", "not_candidate"]
    amendment = Amendment.objects.get()
    assert amendment.closed_by is not None and amendment.opened_by == clinician
    chart = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/").content.decode()
    assert "amended after signing" in chart
    assert "pain_duration_months" in chart  # the field-level history: 24 -> 2
    # What the chart lists (the page keeps its rendering; the selector gives the values).
    from spinepath.consultations.selectors import field_changes

    changes = field_changes(candidate_encounter.patient)
    assert any(c.field == "pain_duration_months" and c.old == 24 and c.new == 2 for c in changes)


def test_3_a_coordinator_cannot_amend(
    coordinator: Any, clinician: Any, candidate_encounter: Encounter
) -> None:
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="s" * 24)
    with pytest.raises(NotAllowed):
        encounter_amend(
            encounter=candidate_encounter, actor=acting(coordinator), reason="I want to"
        )


# --- 7. Forms ---------------------------------------------------------------------------------


def test_7_tri_state_answers_survive_an_error_elsewhere(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/history/", {**HISTORY, "pain_vas": "300"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    for name in ("red_cauda_equina", "red_infection", "red_malignancy", "nsaid_trial"):
        assert f'<option value="{HISTORY[name]}" selected>' in str(form[name])


def test_7_ten_clicks_on_new_consultation_make_one(
    clinician_client: Client, clinician: Any
) -> None:
    patient = patient_create(
        actor=acting(clinician), details={"given_name": "Maria", "family_name": "Lopez"}
    )
    key = clinician_client.get(f"/patients/{patient.pk}/").context["start_key"]
    for _ in range(10):
        response = clinician_client.post(
            f"/patients/{patient.pk}/consultations/new/", {"start_key": key}
        )
        assert response.status_code == 302
    assert Encounter.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("study-performed_on", "0001-01-01", "before the birth date"),
        ("study-performed_on", "2026-12-31", "after the review date"),
    ],
)
def test_7_implausible_study_dates_are_refused(
    clinician_client: Client, clinician: Any, field: str, value: str, message: str
) -> None:
    encounter = start(clinician_client, clinician)
    encounter.patient.birth_date = date(1970, 5, 1)
    encounter.patient.save()
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {"form": "study", "study-modality": "MRI", field: value},
    )
    assert response.status_code == 400
    assert message in response.content.decode().lower()
    assert not ImagingStudy.objects.exists()


@pytest.mark.parametrize(
    "post",
    [
        {"form": "review_study", "study_id": "abc"},
        {"form": "review_study", "study_id": "99999999999999999999"},
        {"form": "verify_block", "block_id": "-3"},
        {"form": "nonsense"},
    ],
)
def test_7_tampered_ids_in_a_post_are_a_400_never_a_500(
    clinician_client: Client, clinician: Any, post: dict[str, str]
) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(f"/consultations/{encounter.pk}/imaging/", post)
    assert response.status_code == 400


# --- 8. Search ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["zoe", "Zoë", "obrien", "o'brien", "O'Brien Zoë", "zoe obrien"])
def test_8_search_matches_accents_punctuation_and_either_order(
    clinician_client: Client, clinician: Any, query: str
) -> None:
    patient_create(actor=acting(clinician), details={"given_name": "Zoë", "family_name": "O'Brien"})
    patient_create(
        actor=acting(clinician), details={"given_name": "Zoran", "family_name": "Brienne"}
    )
    response = clinician_client.get("/patients/", {"q": query})
    names = [p.display_name for p in response.context["patients"]]
    assert "Zoë O'Brien" in names


@pytest.mark.parametrize("value", ["99999999999999999999", "abc", "2026-13-01", "1e5"])
def test_7_a_malformed_date_in_the_audit_filter_is_a_400_naming_it(
    admin_client: Client, value: str
) -> None:
    response = admin_client.get("/audit/", {"from": value, "record": "9" * 40})
    assert response.status_code == 400
    assert "From: a date written YYYY-MM-DD" in response.content.decode()


def test_there_is_no_admin_route_around_the_services(admin_client: Client) -> None:
    """Clinical records are written only through the services that enforce the promises:
    there is no Django admin at all (staff accounts are managed on the Staff page)."""
    from django.conf import settings

    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    assert admin_client.get("/admin/").status_code == 404
    assert admin_client.get("/admin/login/").status_code == 404


def test_a_review_attests_the_study_as_shown_not_as_changed_meanwhile(
    clinician_client: Client, coordinator: Any, clinician: Any
) -> None:
    """Attack: one clinician's page showed Pfirrmann 4; another changed it to 5; the stale
    'I reviewed this study' button made the first clinician attest a 5 she never saw."""
    from spinepath.consultations.actions import study_save

    encounter = import_encounter(coordinator)
    imaging = f"/consultations/{encounter.pk}/imaging/"
    (study, version), *_ = clinician_client.get(imaging).context["studies"]
    study_save(
        patient=encounter.patient,
        actor=acting(clinician),
        study_id=study.pk,
        fields={},
        findings=[{"level": "L4-L5", "pfirrmann": 5}],
    )
    response = clinician_client.post(
        imaging, {"form": "review_study", "study_id": study.pk, "shown": version}
    )
    assert response.status_code == 409
    assert "changed since this page was opened" in response.content.decode()
    study.refresh_from_db()
    assert study.reviewed is False


def test_a_birth_date_in_the_future_or_before_1900_is_refused(
    clinician_client: Client, clinician: Any
) -> None:
    patient = patient_create(
        actor=acting(clinician), details={"given_name": "Ann", "family_name": "Date"}
    )
    for born, message in (("9999-12-31", "in the future"), ("1850-01-01", "before 1900")):
        response = clinician_client.post(
            f"/patients/{patient.pk}/edit/",
            {"given_name": "Ann", "family_name": "Date", "birth_date": born},
        )
        assert response.status_code in (200, 400)
        assert message in response.content.decode()
    patient.refresh_from_db()
    assert patient.birth_date is None


def test_an_accepted_plan_is_on_hold_in_fhir_while_its_decision_does_not_stand(
    clinician_client: Client, clinician: Any, candidate_encounter: Encounter
) -> None:
    import json

    from spinepath.plans import acceptance as plan_acceptance
    from spinepath.plans import services as plan_services

    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="s" * 24)
    plan = plan_services.plan_create(patient=candidate_encounter.patient, actor=acting(clinician))
    plan = released(plan, clinician)
    plan_acceptance.plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician))

    def status() -> str:
        bundle = json.loads(
            clinician_client.get(f"/patients/{candidate_encounter.patient_id}/fhir.json").content
        )
        (care_plan,) = [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
        ]
        return str(care_plan["status"])

    assert status() == "active"
    encounter_amend(encounter=candidate_encounter, actor=acting(clinician), reason="A correction")
    assert status() == "on-hold"


def test_a_stale_study_page_does_not_overwrite_another_clinicians_change(
    clinician_client: Client, clinician: Any
) -> None:
    from spinepath.consultations.actions import study_save

    encounter = import_encounter(clinician)
    study = ImagingStudy.objects.get()
    stale = study_post(study, **{"study-attest": "on"})  # the page as first opened
    study_save(
        patient=encounter.patient,
        actor=acting(clinician),
        study_id=study.pk,
        fields={},
        findings=[{"level": "L4-L5", "pfirrmann": 3}],
    )
    response = clinician_client.post(f"/consultations/{encounter.pk}/imaging/{study.pk}/", stale)
    assert response.status_code == 409
    assert "changed since this page was opened" in response.content.decode()
    assert study.levels.get(level="L4-L5").pfirrmann == 3


def test_an_import_with_two_studies_of_one_day_or_a_pre_1900_birth_is_refused(
    clinician_client: Client,
) -> None:
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile
    from workup_builder import document

    doc = document()
    twice = dict(doc, imaging=[doc["imaging"][0], {**doc["imaging"][0], "levels": []}])
    old = document(patient__birth_date="1800-01-01")
    for bad in (twice, old):
        upload = SimpleUploadedFile("w.json", json.dumps(bad).encode(), "application/json")
        response = clinician_client.post(
            "/import/", {"file": upload, "given_name": "A", "family_name": "B"}
        )
        assert response.status_code == 400
    assert not ImagingStudy.objects.exists()


def test_a_block_relief_over_100_gets_one_clear_error(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {
            "form": "block",
            "block-kind": "medial_branch",
            "block-performed_on": "2026-10-01",
            "block-levels": ["L5-S1"],
            "block-relief_pct": "150",
        },
    )
    assert response.status_code == 400
    errors = response.context["block_form"].errors["relief_pct"]
    assert errors == ["Ensure this value is less than or equal to 100."]
