"""The repository's copies of the contracts and example workups agree with the requirements.

The requirements folder (``../shared``) is where the pathway's schemas and examples come
from; the project carries its own copies so that it stands on its own. When the folder is
beside the checkout, this checks the copies have not drifted from it. An example the project
added (``examples/workups`` may hold more than the requirements) is not compared.
"""

from __future__ import annotations

import json

import pytest
from repo_paths import CASES, CONTRACTS, SHARED

pytestmark = pytest.mark.skipif(
    not (SHARED / "contracts").is_dir(),
    reason=f"the requirements folder {SHARED} is not beside the repository (a fresh clone)",
)


@pytest.mark.parametrize("name", ["workup.schema.json", "decision.schema.json"])
def test_the_contract_copy_matches_the_requirements(name: str) -> None:
    ours = json.loads((CONTRACTS / name).read_text())
    theirs = json.loads((SHARED / "contracts" / name).read_text())
    assert ours == theirs, f"spinepath/contracts/{name} differs from the requirements' copy"


def test_every_required_example_is_in_the_repository_unchanged() -> None:
    theirs = json.loads((SHARED / "cases" / "expected.json").read_text())
    ours = json.loads((CASES / "expected.json").read_text())
    for name, expected in theirs.items():
        assert name in ours, f"examples/workups/{name} is missing"
        assert ours[name] == expected, f"examples/workups/expected.json differs for {name}"
        workup = json.loads((SHARED / "cases" / name).read_text())
        assert json.loads((CASES / name).read_text()) == workup, f"{name} differs"
