"""The ICHOM low back pain export (PATHWAY.md section 11): one row per patient per time point -
the baseline (the consultation the plan's signed decision was made in) and each reassessment
visit of a course of injections - with columns named after the ICHOM Low Back Pain data
dictionary's variables (docs/instruments.md maps each one and says where our names are our
best reading of the dictionary).

Nothing is invented: a value not measured, not recorded or not asked is blank. The case-mix is
collected at baseline and is on the baseline row only (join on PatientID). A reassessment
answered outside its window keeps its values, flagged in ``sp_status`` as in the cohort export
(it does not count in the clinic's outcomes). Instruments whose owners require a licence are
exported only when the clinic's policy says it holds one (EQ-5D: ``eq5d_licensed``); spinepath
does not ship their wording, so their columns stay blank until it is loaded.

Streamed: the visits are read in chunks, and for each chunk their consultations and earlier
procedures in two more queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from spinepath.consultations.models import Encounter, PriorProcedure
from spinepath.followup.models import ReassessmentVisit
from spinepath.outcomes.selectors import IN_A_COURSE, Filters
from spinepath.pathway.ichom import (
    age_on,
    bmi_if_known,
    comorbidity_count,
    previous_spine_surgery,
)
from spinepath.pathway.instruments import odi_score
from spinepath.pathway.policy import Policy
from spinepath.web.spreadsheet import csv_lines as spreadsheet_lines

# (column, meaning), in the order of the file. ICHOM's names first, then spinepath's own
# (prefixed sp_), which the dictionary does not have.
ICHOM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("PatientID", "the clinic's record number"),
    ("Timepoint", "Baseline, or the reassessment visit (6 weeks, 3, 6, 12, 24 months)"),
    ("TreatmentDate", "the first injection of the course the row belongs to"),
    ("AssessmentDate", "the day of the answers (baseline: the consultation's review date)"),
    ("Age", "baseline: age in whole years on the review date, from the date of birth"),
    ("Sex", "baseline: female, male, other or unknown, as on the chart"),
    ("BMI", "baseline: kg/m2 from the height and weight recorded at the consultation"),
    ("Smoking", "baseline: current, former or never"),
    ("Comorbidities", "baseline: the conditions ticked (none: none of the list), ; separated"),
    ("ComorbidityCount", "baseline: how many of the listed conditions"),
    ("PainDuration", "baseline: duration of the pain in months, as recorded at intake"),
    ("PreviousSurgery", "baseline: earlier spine surgery, yes or no (blank: not asked)"),
    ("BackPainNRS", "back pain over the last week, 0-10"),
    ("LegPainNRS", "leg pain over the last week, 0-10"),
    ("ODI", "Oswestry Disability Index 0-100 (blank: too many sections unanswered)"),
    (
        "WorkStatus",
        "full_time, part_time_back_pain, part_time_other, sick_leave, "
        "not_working_back_pain or not_working_other",
    ),
    ("Analgesics", "pain medication for the back or legs: none, occasional or daily"),
    ("Opioids", "opioid pain medication: yes or no"),
    ("sp_pain_vas", "spinepath: overall pain 0-100 (the outcome of the clinic's responder rule)"),
    ("sp_status", "spinepath: baseline, measured, measured_outside_window, lost, open or upcoming"),
    ("sp_course", "spinepath: the plan (course of injections) the row belongs to"),
)
# Asked and exported only with a licence from EuroQol (policy eq5d_licensed); blank until the
# clinic loads the licensed questionnaire (spinepath does not ship its wording).
EQ5D_COLUMNS: tuple[tuple[str, str], ...] = (
    ("EQ5D_Mobility", "EQ-5D: mobility (licensed instrument)"),
    ("EQ5D_SelfCare", "EQ-5D: self-care (licensed instrument)"),
    ("EQ5D_UsualActivities", "EQ-5D: usual activities (licensed instrument)"),
    ("EQ5D_PainDiscomfort", "EQ-5D: pain / discomfort (licensed instrument)"),
    ("EQ5D_AnxietyDepression", "EQ-5D: anxiety / depression (licensed instrument)"),
    ("EQ_VAS", "EQ-5D: the EQ VAS, 0-100 (licensed instrument)"),
)

CHUNK = 2000


def ichom_columns(policy: Policy) -> list[tuple[str, str]]:
    """The export's columns under ``policy``: a licensed instrument only with its licence."""
    return [*ICHOM_COLUMNS, *(EQ5D_COLUMNS if policy.eq5d_licensed else ())]


_VISIT_FIELDS = (
    "patient_id",
    "plan_id",
    "patient__mrn",
    "patient__sex",
    "patient__birth_date",
    "key",
    "label",
    "injected_on",
    "opens",
    "closes",
    "plan__decision__encounter_id",
    "measurement__measured_on",
    "measurement__outside_window",
    "measurement__pain_vas",
    "measurement__odi_score",
    "measurement__back_pain_nrs",
    "measurement__leg_pain_nrs",
    "measurement__work_status",
    "measurement__analgesic_use",
    "measurement__opioid_use",
)
_ENCOUNTER_FIELDS = (
    "id",
    "patient_id",
    "assessed_on",
    "pain_vas",
    "odi_sections",
    "back_pain_nrs",
    "leg_pain_nrs",
    "work_status",
    "analgesic_use",
    "opioid_use",
    "height_cm",
    "weight_kg",
    "smoking_status",
    "comorbidities",
    "pain_duration_months",
    "prior_procedures_asked",
)


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _visit_status(row: dict[str, Any], today: date) -> str:
    if row["measurement__measured_on"]:
        return "measured_outside_window" if row["measurement__outside_window"] else "measured"
    if row["closes"] < today:
        return "lost"
    return "open" if row["opens"] <= today else "upcoming"


def _baseline_row(
    visit: dict[str, Any],
    encounter: dict[str, Any] | None,
    surgery_kinds: list[tuple[date, str]],
    policy: Policy,
) -> dict[str, Any]:
    """The baseline of a course: the consultation its plan's decision was signed in."""
    row: dict[str, Any] = {
        "PatientID": visit["patient__mrn"],
        "Timepoint": "Baseline",
        "TreatmentDate": visit["injected_on"],
        "Sex": visit["patient__sex"] or None,
        "sp_status": "baseline",
        "sp_course": visit["plan_id"],
    }
    if encounter is None:
        return row
    day = encounter["assessed_on"]
    comorbidities = encounter["comorbidities"]
    odi = odi_score(encounter["odi_sections"], policy) if encounter["odi_sections"] else None
    row.update(
        {
            "AssessmentDate": day,
            "Age": age_on(visit["patient__birth_date"], day),
            "BMI": bmi_if_known(encounter["height_cm"], encounter["weight_kg"]),
            "Smoking": encounter["smoking_status"] or None,
            "Comorbidities": ";".join(comorbidities) if comorbidities else None,
            "ComorbidityCount": comorbidity_count(comorbidities),
            "PainDuration": encounter["pain_duration_months"],
            "PreviousSurgery": _yes_no(
                previous_spine_surgery(
                    [kind for on, kind in surgery_kinds if on <= day],
                    encounter["prior_procedures_asked"],
                )
            ),
            "BackPainNRS": encounter["back_pain_nrs"],
            "LegPainNRS": encounter["leg_pain_nrs"],
            "ODI": odi.score if odi else None,
            "WorkStatus": encounter["work_status"] or None,
            "Analgesics": encounter["analgesic_use"] or None,
            "Opioids": _yes_no(encounter["opioid_use"]),
            "sp_pain_vas": encounter["pain_vas"],
        }
    )
    return row


def _visit_row(visit: dict[str, Any], today: date) -> dict[str, Any]:
    return {
        "PatientID": visit["patient__mrn"],
        "Timepoint": visit["label"],
        "TreatmentDate": visit["injected_on"],
        "AssessmentDate": visit["measurement__measured_on"],
        "BackPainNRS": visit["measurement__back_pain_nrs"],
        "LegPainNRS": visit["measurement__leg_pain_nrs"],
        "ODI": visit["measurement__odi_score"],
        "WorkStatus": visit["measurement__work_status"] or None,
        "Analgesics": visit["measurement__analgesic_use"] or None,
        "Opioids": _yes_no(visit["measurement__opioid_use"]),
        "sp_pain_vas": visit["measurement__pain_vas"],
        "sp_status": _visit_status(visit, today),
        "sp_course": visit["plan_id"],
    }


def _rows_of_chunk(
    chunk: list[dict[str, Any]], seen: set[int], today: date, policy: Policy
) -> Iterator[dict[str, Any]]:
    encounter_ids = {v["plan__decision__encounter_id"] for v in chunk}
    encounters = {
        e["id"]: e
        for e in Encounter.objects.filter(id__in=encounter_ids).values(*_ENCOUNTER_FIELDS)
    }
    surgeries: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for patient_id, on, kind in PriorProcedure.objects.filter(
        patient_id__in={v["patient_id"] for v in chunk}
    ).values_list("patient_id", "performed_on", "kind"):
        surgeries[patient_id].append((on, kind))
    for visit in chunk:
        if visit["plan_id"] not in seen:
            seen.add(visit["plan_id"])
            yield _baseline_row(
                visit,
                encounters.get(visit["plan__decision__encounter_id"]),
                surgeries[visit["patient_id"]],
                policy,
            )
        yield _visit_row(visit, today)


def ichom_rows(
    today: date, policy: Policy, filters: Filters | None = None
) -> Iterator[dict[str, Any]]:
    """Every course's baseline and reassessment visits (a visit belongs to the cohort while its
    course has an injection that stands), patient by patient, in date order."""
    visits = (filters or Filters()).apply(ReassessmentVisit.objects.filter(**IN_A_COURSE))
    ordered = visits.order_by("patient_id", "plan_id", "due").values(*_VISIT_FIELDS)
    seen: set[int] = set()
    chunk: list[dict[str, Any]] = []
    for visit in ordered.iterator(chunk_size=CHUNK):
        chunk.append(visit)
        if len(chunk) >= CHUNK:
            yield from _rows_of_chunk(chunk, seen, today, policy)
            chunk = []
    if chunk:
        yield from _rows_of_chunk(chunk, seen, today, policy)


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 1)
    return value


def ichom_csv_lines(rows: Iterator[dict[str, Any]], policy: Policy) -> Iterator[str]:
    names = [name for name, _meaning in ichom_columns(policy)]
    return spreadsheet_lines(names, ([_value(row.get(n)) for n in names] for row in rows))


def ichom_dictionary_lines(policy: Policy) -> Iterator[str]:
    return spreadsheet_lines(["column", "meaning"], ichom_columns(policy))
