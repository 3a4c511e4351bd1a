"""The candidacy review and its signature: only a clinician signs, and a signature is final."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from web_helpers import acting, import_encounter, sign_button, signed_in

from spinepath.consultations.actions import decision_sign, encounter_amend
from spinepath.consultations.models import CandidacyDecision, SignedDecisionError
from spinepath.errors import NotAllowed


def review(client: Client, encounter: Any) -> Any:
    return client.get(f"/consultations/{encounter.pk}/review/")


def signing_form(client: Client, encounter: Any) -> dict[str, str]:
    """What the review page's Sign button posts: its token and the fingerprint shown."""
    return sign_button(review(client, encounter))


def test_review_shows_every_rule_and_the_recommendation(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    response = review(clinician_client, candidate_encounter)
    decision = response.context["decision"]
    assert decision.decision == "candidate"
    content = response.content.decode()
    for rule in decision.rules:
        assert rule.text.replace("'", "&#x27;") in content
    assert "Intradiscal injection of mesenchymal stem cells" in content
    assert "Prognosis: strongest" in content


def test_clinician_signs_and_the_decision_keeps_workup_and_policy(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    response = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/sign/",
        signing_form(clinician_client, candidate_encounter),
    )
    signed = CandidacyDecision.objects.get()
    assert response["Location"] == f"/decisions/{signed.pk}/"
    assert signed.decision == "candidate"
    assert (signed.policy_name, signed.policy_version) == ("spinepath-default", "2.3")
    assert signed.workup_json["assessed_on"] == "2026-11-02"
    assert signed.decision_json["recommendations"][0]["kind"] == "intradiscal_msc"


def test_coordinator_posting_to_the_sign_url_is_refused(
    coordinator_client: Client, clinician: Any, candidate_encounter: Any
) -> None:
    response = coordinator_client.post(
        f"/consultations/{candidate_encounter.pk}/sign/",
        # What a clinician's page would post (a coordinator's shows no Sign button).
        {**signing_form(signed_in(clinician), candidate_encounter), "token": "x" * 20},
    )
    assert response.status_code == 403
    assert not CandidacyDecision.objects.exists()


def test_coordinator_sees_no_sign_button(
    coordinator_client: Client, candidate_encounter: Any
) -> None:
    response = review(coordinator_client, candidate_encounter)
    assert b"Only a clinician can sign" in response.content
    assert b"Sign decision as" not in response.content


def test_the_service_refuses_a_non_clinician(coordinator: Any, candidate_encounter: Any) -> None:
    with pytest.raises(NotAllowed):
        decision_sign(encounter=candidate_encounter, actor=acting(coordinator), token="abc" * 8)


def test_a_double_submission_signs_once(clinician_client: Client, candidate_encounter: Any) -> None:
    form = signing_form(clinician_client, candidate_encounter)
    for _ in range(2):
        clinician_client.post(f"/consultations/{candidate_encounter.pk}/sign/", form)
    assert CandidacyDecision.objects.count() == 1


def test_a_token_cannot_be_replayed_on_another_consultation(
    clinician: Any, clinician_client: Client, candidate_encounter: Any
) -> None:
    other = import_encounter(clinician, names=("Ben", "Walsh"), patient__id="t-002")
    form = signing_form(clinician_client, candidate_encounter)
    clinician_client.post(f"/consultations/{candidate_encounter.pk}/sign/", form)
    other_form = signing_form(clinician_client, other)
    response = clinician_client.post(
        f"/consultations/{other.pk}/sign/", {**other_form, "token": form["token"]}
    )
    assert response.status_code == 409
    assert CandidacyDecision.objects.count() == 1


def test_a_tampered_decision_field_is_ignored(clinician: Any, clinician_client: Client) -> None:
    encounter = import_encounter(clinician, imaging=[])
    clinician_client.post(
        f"/consultations/{encounter.pk}/sign/",
        {**signing_form(clinician_client, encounter), "decision": "candidate"},
    )
    assert CandidacyDecision.objects.get().decision == "needs_imaging"


def test_a_signed_decision_is_never_edited(clinician: Any, candidate_encounter: Any) -> None:
    signed = decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="s" * 24)
    signed.decision = "not_candidate"
    with pytest.raises(SignedDecisionError):
        signed.save()
    with pytest.raises(SignedDecisionError):
        signed.delete()
    assert CandidacyDecision.objects.get().decision == "candidate"


def test_a_new_review_makes_a_new_decision(
    clinician: Any, clinician_client: Client, candidate_encounter: Any
) -> None:
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="a" * 24)
    encounter_amend(
        encounter=candidate_encounter, actor=acting(clinician), reason="Pain began in September"
    )
    clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/history/",
        {
            "assessed_on": "2026-11-02",
            "pain_duration_months": "2",
            "pattern": "axial",
            "physical_therapy_weeks": "12",
            "nsaid_trial": "true",
            "conservative_status": "plateaued",
            "prior_procedures_asked": "true",
            "red_cauda_equina": "false",
            "red_infection": "false",
            "red_malignancy": "false",
            "red_fracture": "false",
        },
    )
    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="b" * 24)
    assert [d.decision for d in CandidacyDecision.objects.order_by("id")] == [
        "candidate",
        "not_candidate",
    ]


def test_the_database_refuses_to_edit_a_signed_decision(
    clinician: Any, candidate_encounter: Any
) -> None:
    signed = decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="u" * 24)
    with pytest.raises(DatabaseError), transaction.atomic():
        CandidacyDecision.objects.filter(pk=signed.pk).update(decision="not_candidate")
    assert CandidacyDecision.objects.get().decision == "candidate"


def test_a_logged_out_post_to_the_sign_url_signs_nothing(candidate_encounter: Any) -> None:
    response = Client().post(f"/consultations/{candidate_encounter.pk}/sign/", {"token": "t" * 24})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not CandidacyDecision.objects.exists()


def test_a_user_without_a_role_cannot_sign(db: Any, candidate_encounter: Any) -> None:
    from django.contrib.auth.models import User

    client = signed_in(User.objects.create_user("nobody", password="correct-horse-battery"))
    response = client.post(f"/consultations/{candidate_encounter.pk}/sign/", {"token": "t" * 24})
    assert response.status_code == 403
    assert not CandidacyDecision.objects.exists()


def test_signing_a_guessed_consultation_id_is_404(clinician_client: Client, db: Any) -> None:
    response = clinician_client.post("/consultations/999999/sign/", {"token": "t" * 24})
    assert response.status_code == 404


def test_signing_needs_a_post(clinician_client: Client, candidate_encounter: Any) -> None:
    response = clinician_client.get(f"/consultations/{candidate_encounter.pk}/sign/?token=abc")
    assert response.status_code == 405
    assert not CandidacyDecision.objects.exists()


def test_the_signed_decision_is_what_the_engine_decides_from_the_stored_workup(
    clinician: Any, candidate_encounter: Any
) -> None:
    from spinepath.pathway.engine import decide
    from spinepath.pathway.workup import workup_from_dict
    from spinepath.web.policy import clinic_policy

    signed = decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="w" * 24)
    again = decide(workup_from_dict(signed.workup_json), clinic_policy())
    assert again.to_dict() == signed.decision_json


def test_a_signed_candidate_decision_leads_to_its_plan(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    """PATHWAY.md section 9: each hand-off closes the step before it - a signed candidate
    decision leads to writing its plan."""
    response = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/sign/",
        signing_form(clinician_client, candidate_encounter),
        follow=True,
    )
    page = response.content.decode()
    assert "Next step:" in page
    assert f'href="/patients/{candidate_encounter.patient_id}/plans/">Write the plan' in page
    plans = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/plans/")
    assert plans.status_code == 200


# --- A policy adopted after the signature is not a fact changed --------------------------------


def test_a_later_policy_leaves_a_signed_decision_standing_and_says_which_policy_it_was_under(
    clinician: Any, clinician_client: Client, admin_user: Any, candidate_encounter: Any
) -> None:
    """The review's fingerprint binds the policy, but a signature stands on the facts: adopting
    a new policy version (as 2.1 -> 2.2 made the 24-month visit standard) raises no "facts
    changed" alarm; the page names the policy the decision was signed under."""
    from web_helpers import adopt_policy, decision_in_force

    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="p" * 24)
    adopt_policy('name = "our-clinic"\nversion = "3.0"\nchronic_min_months = 4\n', admin_user)
    page = review(clinician_client, candidate_encounter).content.decode()
    assert "Facts behind this signed decision changed" not in page
    assert "Signed under the policy spinepath-default 2.3" in page
    assert "our-clinic 3.0" in page
    assert decision_in_force(candidate_encounter.patient).problem is None


def test_a_finding_changed_after_signing_is_still_named_on_the_review(
    clinician: Any, clinician_client: Client, candidate_encounter: Any
) -> None:
    from spinepath.consultations.models import LevelFinding

    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="f" * 24)
    LevelFinding.objects.filter(study__patient=candidate_encounter.patient).update(pfirrmann=5)
    page = review(clinician_client, candidate_encounter).content.decode()
    assert "Facts behind this signed decision changed since it was signed" in page
