"""Every example workup in examples/workups is decided as expected.json states."""

from __future__ import annotations

import json

import jsonschema
import pytest
from repo_paths import CASES

from spinepath.cli import main
from spinepath.contracts import contract_schema
from spinepath.pathway.engine import decide
from spinepath.pathway.policy import Policy
from spinepath.pathway.workup import InvalidWorkup, parse_workup

EXPECTED = json.loads((CASES / "expected.json").read_text())
DECISION_SCHEMA = contract_schema("decision")
VALID = sorted(name for name, case in EXPECTED.items() if case["error_field"] is None)
INVALID = sorted(name for name, case in EXPECTED.items() if case["error_field"] is not None)


@pytest.mark.parametrize("name", VALID)
def test_case_is_decided_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    decision = decide(parse_workup((CASES / name).read_bytes()), Policy())

    assert decision.decision == expected["decision"]
    recommended = [(r.kind, r.level) for r in decision.recommendations]
    for kind, level in expected["recommend"]:
        assert (kind, level) in recommended
    tier = decision.prognosis.tier if decision.prognosis else None
    assert tier == expected["prognosis"]


@pytest.mark.parametrize("name", VALID)
def test_case_decision_follows_the_contract(name: str) -> None:
    decision = decide(parse_workup((CASES / name).read_bytes()), Policy())
    jsonschema.validate(decision.to_dict(), DECISION_SCHEMA)


@pytest.mark.parametrize("name", INVALID)
def test_invalid_case_names_the_field(name: str) -> None:
    with pytest.raises(InvalidWorkup) as caught:
        parse_workup((CASES / name).read_bytes())
    field = EXPECTED[name]["error_field"]
    assert any(error.path.split(".")[-1] == field for error in caught.value.errors)


@pytest.mark.parametrize("name", INVALID)
def test_invalid_case_exits_2_from_the_command_line(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["screen", str(CASES / name)])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    field = EXPECTED[name]["error_field"]
    assert f"{CASES / name}: " in captured.err
    assert f".{field}: " in captured.err


def test_all_cases_together_decide_the_valid_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(CASES / name) for name in sorted(EXPECTED)]

    status = main(["screen", *files])

    lines = capsys.readouterr().out.splitlines()
    assert status == 2
    assert [json.loads(line)["patient_id"] for line in lines] == [
        json.loads((CASES / name).read_text())["patient"]["id"] for name in VALID
    ]
