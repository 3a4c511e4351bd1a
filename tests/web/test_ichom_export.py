"""The ICHOM low back pain export (PATHWAY.md section 11): one row per patient per time point,
columns named after the ICHOM dictionary's variables, blank where nothing was measured; for
the outcomes' readers only, each export an accounting of disclosures."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone
from treatment_helpers import treated
from web_helpers import acting, adopt_policy

from spinepath.audit.models import AuditEvent
from spinepath.consultations.models import Encounter
from spinepath.followup import services
from spinepath.followup.models import ReassessmentVisit
from spinepath.pathway.ichom import LbpAnswers

URL = "/outcomes/export/ichom-low-back-pain.csv"
HEADER = [
    "PatientID",
    "Timepoint",
    "TreatmentDate",
    "AssessmentDate",
    "Age",
    "Sex",
    "BMI",
    "Smoking",
    "Comorbidities",
    "ComorbidityCount",
    "PainDuration",
    "PreviousSurgery",
    "BackPainNRS",
    "LegPainNRS",
    "ODI",
    "WorkStatus",
    "Analgesics",
    "Opioids",
    "sp_pain_vas",
    "sp_status",
    "sp_course",
]


def _rows(client: Client, query: str = "") -> tuple[list[str], list[dict[str, str]]]:
    response = client.get(URL + query)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def _patient_with_a_baseline_and_a_check_in(clinician: Any) -> Any:
    """Treated 100 days ago: the consultation's ICHOM baseline and case-mix recorded, the
    6-week check-in answered on paper, 3 months open, the rest to come."""
    patient = treated(clinician, 100)
    Encounter.objects.filter(patient=patient).update(
        back_pain_nrs=7,
        leg_pain_nrs=4,
        work_status="part_time_back_pain",
        analgesic_use="daily",
        opioid_use=True,
        height_cm=165,
        weight_kg=80,
        smoking_status="former",
        comorbidities=["high_blood_pressure", "depression"],
    )
    visit = ReassessmentVisit.objects.get(patient=patient, key="6w")
    services.paper_form_enter(
        actor=acting(clinician),
        visit=visit,
        measured_on=visit.due,
        answers=services.Answers(
            40,
            "vas",
            [1] * 10,
            lbp=LbpAnswers(
                back_pain_nrs=4,
                leg_pain_nrs=1,
                work_status="full_time",
                analgesic_use="occasional",
                opioid_use=False,
            ),
        ),
    )
    return patient


def test_the_header_names_the_ichom_variables_and_no_licensed_instrument(
    clinician: Any, clinician_client: Client
) -> None:
    _patient_with_a_baseline_and_a_check_in(clinician)
    header, _ = _rows(clinician_client)
    assert header == HEADER
    assert not [name for name in header if "EQ" in name]


def test_one_row_per_patient_per_time_point_with_the_baseline_case_mix(
    clinician: Any, clinician_client: Client
) -> None:
    patient = _patient_with_a_baseline_and_a_check_in(clinician)
    _header, rows = _rows(clinician_client)
    assert [r["Timepoint"] for r in rows] == [
        "Baseline",
        "6 weeks",
        "3 months",
        "6 months",
        "12 months",
        "24 months",
    ]
    assert {r["PatientID"] for r in rows} == {patient.mrn}
    baseline = rows[0]
    injected = (timezone.localdate() - timedelta(days=100)).isoformat()
    review = (timezone.localdate() - timedelta(days=110)).isoformat()
    born = patient.birth_date
    assert {k: baseline[k] for k in HEADER if k not in ("Age", "sp_course")} == {
        "PatientID": patient.mrn,
        "Timepoint": "Baseline",
        "TreatmentDate": injected,
        "AssessmentDate": review,
        "Sex": "female",
        "BMI": "29.4",  # 80 / 1.65^2 = 29.38
        "Smoking": "former",
        "Comorbidities": "high_blood_pressure;depression",
        "ComorbidityCount": "2",
        "PainDuration": "24.0",
        "PreviousSurgery": "no",  # asked, and none recorded
        "BackPainNRS": "7",
        "LegPainNRS": "4",
        "ODI": "48.9",  # 22 of 45 from the nine sections answered
        "WorkStatus": "part_time_back_pain",
        "Analgesics": "daily",
        "Opioids": "yes",
        "sp_pain_vas": "70.0",
        "sp_status": "baseline",
    }
    day = timezone.localdate() - timedelta(days=110)
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    assert baseline["Age"] == str(age)


def test_a_check_in_row_has_its_answers_and_the_case_mix_only_at_baseline(
    clinician: Any, clinician_client: Client
) -> None:
    _patient_with_a_baseline_and_a_check_in(clinician)
    _header, rows = _rows(clinician_client)
    six_weeks = rows[1]
    assert (six_weeks["BackPainNRS"], six_weeks["LegPainNRS"], six_weeks["ODI"]) == (
        "4",
        "1",
        "20.0",
    )
    assert (six_weeks["WorkStatus"], six_weeks["Analgesics"], six_weeks["Opioids"]) == (
        "full_time",
        "occasional",
        "no",
    )
    assert six_weeks["sp_status"] == "measured" and six_weeks["sp_pain_vas"] == "40.0"
    for column in ("Age", "Sex", "BMI", "Smoking", "Comorbidities", "PreviousSurgery"):
        assert six_weeks[column] == "", column


def test_nothing_is_invented_where_nothing_was_measured_or_recorded(
    clinician: Any, clinician_client: Client
) -> None:
    treated(clinician, 100)  # no ICHOM baseline recorded, no check-in answered
    _header, rows = _rows(clinician_client)
    baseline, six_weeks, three_months = rows[0], rows[1], rows[2]
    for column in (
        "BMI",
        "Smoking",
        "Comorbidities",
        "ComorbidityCount",
        "BackPainNRS",
        "LegPainNRS",
        "WorkStatus",
        "Analgesics",
        "Opioids",
    ):
        assert baseline[column] == "", column
    assert baseline["ODI"] != "" and baseline["sp_pain_vas"] == "70.0"  # recorded as before
    assert six_weeks["sp_status"] == "lost"  # its window closed unanswered
    assert three_months["sp_status"] == "open"
    for row in (six_weeks, three_months):
        assert row["AssessmentDate"] == row["BackPainNRS"] == row["ODI"] == ""


def test_only_the_outcomes_readers_export_and_each_export_names_the_patients(
    clinician: Any,
    clinician_client: Client,
    admin_client: Client,
    coordinator_client: Client,
) -> None:
    patient = _patient_with_a_baseline_and_a_check_in(clinician)
    assert coordinator_client.get(URL).status_code == 403
    _rows(admin_client)
    event = AuditEvent.objects.get(action="export")
    assert event.what == "ICHOM low back pain CSV (identified): 1 patients"
    assert event.detail["records"] == [patient.mrn]
    assert clinician_client.get(URL + "?from=yesterday").status_code == 400


def test_the_outcomes_page_links_the_export_and_its_dictionary(
    clinician: Any, clinician_client: Client
) -> None:
    page = clinician_client.get("/outcomes/").content.decode()
    assert URL in page and "ICHOM low back pain CSV" in page
    dictionary = clinician_client.get("/outcomes/export/ichom-low-back-pain-dictionary.csv")
    text = b"".join(dictionary.streaming_content).decode()
    assert [line.split(",", 1)[0] for line in text.splitlines()[1:]] == HEADER


def test_eq5d_columns_only_when_the_clinic_holds_the_licence(
    clinician: Any, clinician_client: Client, admin_user: Any
) -> None:
    _patient_with_a_baseline_and_a_check_in(clinician)
    adopt_policy('name = "licensed"\nversion = "1"\neq5d_licensed = true\n', admin_user)
    header, rows = _rows(clinician_client)
    assert header[: len(HEADER)] == HEADER
    assert header[len(HEADER) :] == [
        "EQ5D_Mobility",
        "EQ5D_SelfCare",
        "EQ5D_UsualActivities",
        "EQ5D_PainDiscomfort",
        "EQ5D_AnxietyDepression",
        "EQ_VAS",
    ]
    # Never asked yet (the licensed wording is the clinic's to load): blank, not invented.
    assert all(row[name] == "" for row in rows for name in header[len(HEADER) :])


def test_docs_instruments_maps_every_column_of_the_export() -> None:
    from repo_paths import REPO

    from spinepath.outcomes.ichom import EQ5D_COLUMNS, ICHOM_COLUMNS

    text = (REPO / "docs" / "instruments.md").read_text(encoding="utf-8")
    for name, _meaning in (*ICHOM_COLUMNS, *EQ5D_COLUMNS):
        assert f"`{name}`" in text, name
