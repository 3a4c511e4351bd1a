"""The policy what-if: the default policy changes nothing; tightening the MRI's age moves
exactly the patients whose MRI is older; the command line prints one JSON object."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone
from treatment_helpers import on_day
from web_helpers import import_encounter

from spinepath.commands import rescreen as command
from spinepath.consultations.services import decision_sign
from spinepath.outcomes.whatif import rescreen_clinic
from spinepath.policies import default_policy, load_policy


def signed(clinician: Any, pid: str, mri_days: int) -> Any:
    review = timezone.localdate() - timedelta(days=3)
    mri = {
        "modality": "MRI",
        "date": (review - timedelta(days=mri_days)).isoformat(),
        "reviewed": True,
        "levels": [
            {
                "level": "L4-L5",
                "pfirrmann": 4,
                "disc_height_loss_pct": 20,
                "endplate_bone_on_bone": False,
            }
        ],
    }
    with on_day(review):
        encounter = import_encounter(
            clinician, assessed_on=review.isoformat(), imaging=[mri], patient__id=pid
        )
        decision = decision_sign(encounter=encounter, user=clinician, token=pid.ljust(24, "x"))
    return decision


def cohort(clinician: Any) -> tuple[list[str], list[str]]:
    recent = [signed(clinician, f"recent-{i}", 30).patient.mrn for i in range(3)]
    older = [signed(clinician, f"older-{i}", 150).patient.mrn for i in range(2)]
    return recent, older


def test_the_default_policy_changes_nothing(clinician: Any) -> None:
    cohort(clinician)
    result, skipped = rescreen_clinic(default_policy())
    assert result.workups == 5 and result.changed == 0 and not skipped


def test_a_younger_mri_limit_moves_exactly_the_older_mris(clinician: Any, tmp_path: Path) -> None:
    recent, older = cohort(clinician)
    draft = tmp_path / "draft.toml"
    draft.write_text('name = "tighter"\nversion = "2"\nmri_max_age_months = 3\n')
    result, _ = rescreen_clinic(load_policy(draft))
    assert result.as_json()["patients"] == sorted(older)
    assert result.as_json()["transitions"] == {"candidate->needs_imaging": 2}
    assert not set(recent) & set(result.as_json()["patients"])

    out = io.StringIO()
    with redirect_stdout(out):
        status = command.run(command_args(draft))
    assert status == 0
    printed = json.loads(out.getvalue())
    assert printed == {
        "policy": {"name": "tighter", "version": "2"},
        "workups": 5,
        "changed": 2,
        "transitions": {"candidate->needs_imaging": 2},
        "patients": sorted(older),
    }


def test_an_invalid_policy_file_exits_2_naming_the_setting(tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nversion = "2"\nmri_max_age_months = "soon"\n')
    assert command.run(command_args(bad)) == 2
    assert "mri_max_age_months" in capsys.readouterr().err


def command_args(path: Path) -> Any:
    import argparse

    return argparse.Namespace(policy=str(path))
