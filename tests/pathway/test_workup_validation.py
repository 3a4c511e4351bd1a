"""Invalid input is an error naming the field, never a decision."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from repo_paths import CONTRACTS
from workup_builder import document, mri_levels

from spinepath.pathway.workup import InvalidWorkup, parse_workup, workup_from_dict

WORKUP_SCHEMA = json.loads((CONTRACTS / "workup.schema.json").read_text())


def errors_for(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidWorkup) as caught:
        workup_from_dict(doc)
    return {e.path: e.reason for e in caught.value.errors}


def test_the_base_document_is_valid_against_the_contract() -> None:
    jsonschema.validate(document(), WORKUP_SCHEMA)
    workup_from_dict(document())


def test_unknown_level_names_the_field() -> None:
    levels = mri_levels()
    levels[0]["level"] = "L6-S1"
    errors = errors_for(document(imaging=[{**document()["imaging"][0], "levels": levels}]))
    assert "imaging[0].levels[0].level" in errors


def test_out_of_range_vas_names_the_field() -> None:
    errors = errors_for(document(outcomes={"pain_vas": 101}))
    assert errors == {"outcomes.pain_vas": "must be at most 100 (got 101)"}


def test_odi_needs_ten_sections() -> None:
    errors = errors_for(document(outcomes={"odi_sections": [1, 2, 3]}))
    assert "outcomes.odi_sections" in errors


def test_text_is_not_a_number() -> None:
    errors = errors_for(document(history__pain_duration_months="24"))
    assert "history.pain_duration_months" in errors


def test_unknown_field_is_rejected() -> None:
    errors = errors_for(document(history__smoker=True))
    assert errors["history.smoker"] == "is not a field of the workup format"


def test_wrong_schema_is_rejected() -> None:
    assert "schema" in errors_for(document(schema="spinepath.workup/2"))


def test_missing_patient_id_is_required() -> None:
    assert errors_for(document(patient={"birth_date": "1970-01-01"})) == {
        "patient.id": "is required"
    }


def test_block_after_the_review_is_rejected() -> None:
    block = {"kind": "medial_branch", "date": "2026-12-01", "levels": ["L5-S1"], "relief_pct": 90}
    errors = errors_for(document(diagnostic_blocks=[block]))
    assert "after the review date" in errors["diagnostic_blocks[0].date"]


def test_procedure_before_birth_is_rejected() -> None:
    surgery = {"kind": "discectomy", "date": "1960-01-01"}
    errors = errors_for(document(history__prior_procedures=[surgery]))
    assert "before the birth date" in errors["history.prior_procedures[0].date"]


def test_birth_after_review_is_rejected() -> None:
    assert "patient.birth_date" in errors_for(document(patient__birth_date="2027-01-01"))


def test_medial_branch_block_needs_its_relief() -> None:
    block = {"kind": "medial_branch", "date": "2026-10-01", "levels": ["L5-S1"]}
    errors = errors_for(document(diagnostic_blocks=[block]))
    assert "relief_pct is required" in errors["diagnostic_blocks[0]"]


def test_discography_needs_concordance_and_levels() -> None:
    block = {"kind": "discography", "date": "2026-10-01", "levels": ["L4-L5"]}
    assert "concordant" in errors_for(document(diagnostic_blocks=[block]))["diagnostic_blocks[0]"]


def test_the_same_level_twice_in_one_study_is_rejected() -> None:
    levels = mri_levels()
    levels[1]["level"] = "L1-L2"
    errors = errors_for(document(imaging=[{**document()["imaging"][0], "levels": levels}]))
    assert "listed twice" in errors["imaging[0]"]


def test_broken_json_is_an_error_not_a_crash() -> None:
    with pytest.raises(InvalidWorkup) as caught:
        parse_workup(b"{not json")
    assert "not valid JSON" in caught.value.errors[0].reason


def test_null_odi_section_means_unanswered() -> None:
    workup = workup_from_dict(document())
    assert workup.outcomes.odi_sections is not None
    assert workup.outcomes.odi_sections[7] is None


def test_export_keeps_unrecorded_facts_absent() -> None:
    doc = document()
    del doc["exam"]["facet_pattern"]
    exported = workup_from_dict(doc).to_json_dict()
    assert "facet_pattern" not in exported["exam"]  # type: ignore[operator]
    jsonschema.validate(exported, WORKUP_SCHEMA)
    assert workup_from_dict(exported) == workup_from_dict(doc)
