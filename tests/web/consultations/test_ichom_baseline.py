"""The ICHOM baseline at the consultation (PATHWAY.md section 11): back and leg pain 0-10, work
status, pain medication and opioids, and the case-mix - height and weight (BMI computed),
smoking, comorbidities - beside what the clinic already records (age and sex on the chart, the
pain duration, earlier spine procedures)."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
from django.test import Client
from web_helpers import HISTORY, acting, import_encounter, start

from spinepath.consultations.actions import decision_review, encounter_save
from spinepath.consultations.models import Encounter, PriorProcedure
from spinepath.errors import Invalid


def _post(client: Client, encounter: Encounter, **changes: Any) -> Any:
    return client.post(f"/consultations/{encounter.pk}/history/", {**HISTORY, **changes})


def test_the_baseline_and_case_mix_are_recorded_and_the_bmi_computed(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    page = html.unescape(
        clinician_client.get(f"/consultations/{encounter.pk}/history/").content.decode()
    )
    for label in (
        "Back pain over the last week, NRS 0-10",
        "Smoking",
        "Height (cm)",
        "None of these",
    ):
        assert label in page
    assert _post(clinician_client, encounter).status_code == 302
    encounter.refresh_from_db()
    assert (encounter.back_pain_nrs, encounter.leg_pain_nrs) == (7, 3)
    assert (encounter.work_status, encounter.analgesic_use, encounter.opioid_use) == (
        "part_time_back_pain",
        "daily",
        False,
    )
    assert (encounter.height_cm, encounter.weight_kg, encounter.smoking_status) == (
        168,
        72,
        "never",
    )
    assert encounter.comorbidities == ["high_blood_pressure"]
    shown = html.unescape(
        clinician_client.get(f"/consultations/{encounter.pk}/history/").content.decode()
    )
    assert "25.5 kg/m²" in shown  # 72 / 1.68^2 = 25.51
    # The overall baseline pain is still recorded as before.
    assert encounter.pain_vas == 70


def test_a_coordinator_records_them_as_part_of_the_intake(
    coordinator_client: Client, clinician: Any
) -> None:
    encounter = start(coordinator_client, clinician)
    _post(coordinator_client, encounter)
    encounter.refresh_from_db()
    assert encounter.back_pain_nrs == 7 and encounter.comorbidities == ["high_blood_pressure"]
    assert encounter.stated_by["back_pain_nrs"] == "coordinator"
    assert encounter.stated_by["height_cm"] == "coordinator"


def test_blank_is_not_recorded_and_none_of_these_is_an_answer(
    clinician_client: Client, clinician: Any
) -> None:
    encounter = start(clinician_client, clinician)
    _post(clinician_client, encounter, comorbidities=[], back_pain_nrs="", opioid_use="")
    encounter.refresh_from_db()
    assert encounter.comorbidities is None and encounter.back_pain_nrs is None
    assert encounter.opioid_use is None
    _post(clinician_client, encounter, comorbidities=["none"])
    encounter.refresh_from_db()
    assert encounter.comorbidities == ["none"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"comorbidities": ["none", "diabetes"]}, "comorbidities", "'none of these' cannot"),
        ({"analgesic_use": "none", "opioid_use": "true"}, "opioid_use", "no pain medication"),
        ({"height_cm": "1.68"}, "height_cm", "greater than or equal to 100"),
        ({"weight_kg": "72000"}, "weight_kg", "less than or equal to 350"),
        ({"back_pain_nrs": "12"}, "back_pain_nrs", "Back pain: choose a number from 0 to 10."),
        ({"smoking_status": "vaping"}, "smoking_status", "Smoking: current, former or never."),
        ({"work_status": "x"}, "work_status", "Work status: choose one of the list."),
        # Read as "not recorded", an unknown answer wiped a stored one (found by an attack).
        ({"opioid_use": "maybe"}, "opioid_use", "choose yes, no or not recorded"),
    ],
)
def test_a_wrong_value_is_named_at_its_field_and_the_rest_is_kept(
    clinician_client: Client, clinician: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    encounter = start(clinician_client, clinician)
    response = _post(clinician_client, encounter, **changes)
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert words in errors
    assert b"Garden again" in response.content  # what was typed elsewhere is shown again
    encounter.refresh_from_db()
    assert encounter.back_pain_nrs is None  # nothing half-saved


def test_the_service_refuses_what_the_form_would_whatever_the_route(clinician: Any) -> None:
    encounter = import_encounter(clinician)
    encounter_save(
        encounter=encounter,
        actor=acting(clinician),
        step="history",
        fields={"analgesic_use": "none"},
    )
    with pytest.raises(Invalid) as refused:
        encounter_save(
            encounter=encounter,
            actor=acting(clinician),
            step="history",
            fields={"opioid_use": True},
        )
    assert set(refused.value.fields) == {"opioid_use"}
    with pytest.raises(Invalid) as refused:
        encounter_save(
            encounter=encounter,
            actor=acting(clinician),
            step="history",
            fields={"comorbidities": ["gout"], "height_cm": 2.0},
        )
    assert set(refused.value.fields) == {"comorbidities", "height_cm"}


def test_the_case_mix_reads_age_sex_pain_duration_and_an_earlier_surgery_from_the_records(
    clinician: Any, clinician_client: Client
) -> None:
    encounter = import_encounter(clinician)  # born 1970-05-01, reviewed 2026-11-02
    page = html.unescape(
        clinician_client.get(f"/consultations/{encounter.pk}/history/").content.decode()
    )
    case_mix = page.split('id="case-mix"', 1)[1]
    assert "56" in case_mix.split("Sex", 1)[0]
    assert "needs height and weight" in case_mix
    PriorProcedure.objects.create(
        patient=encounter.patient, kind="fusion", performed_on=date(2019, 3, 1), levels=["L5-S1"]
    )
    page = html.unescape(
        clinician_client.get(f"/consultations/{encounter.pk}/history/").content.decode()
    )
    surgery = page.split("Earlier spine surgery</dt><dd>", 1)[1][:20]
    assert surgery.startswith("Yes")


def test_the_baseline_measures_change_no_decision_and_no_signature(
    clinician: Any, clinician_client: Client
) -> None:
    """They describe the patient for risk adjustment: not a fact of the candidacy review."""
    encounter = import_encounter(clinician)
    before = decision_review(encounter).fingerprint
    encounter_save(
        encounter=encounter,
        actor=acting(clinician),
        step="history",
        fields={
            "back_pain_nrs": 8,
            "height_cm": 180.0,
            "weight_kg": 90.0,
            "comorbidities": ["none"],
        },
    )
    encounter.refresh_from_db()
    assert decision_review(encounter).fingerprint == before
