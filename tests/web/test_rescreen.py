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
from web_helpers import acting, import_encounter

from spinepath.commands import rescreen as command
from spinepath.consultations.actions import decision_sign
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
        decision = decision_sign(
            encounter=encounter, actor=acting(clinician), token=pid.ljust(24, "x")
        )
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

    return argparse.Namespace(policy=str(path), draft=None)


# --- The clinic admin's what-if page -----------------------------------------------------------

TIGHTER = 'name = "tighter"\nversion = "2"\nmri_max_age_months = 3\n'


def test_only_the_clinic_admin_tries_policies(
    clinician_client: Any, coordinator_client: Any
) -> None:
    for client in (clinician_client, coordinator_client):
        assert client.get("/outcomes/policy/").status_code == 403
        assert client.post("/outcomes/policy/", {"policy": TIGHTER}).status_code == 403


def test_a_bad_draft_is_named_and_kept(admin_client: Any) -> None:
    text = 'name = "x"\nversion = "2"\nmri_max_age_months = "soon"\n'
    page = admin_client.post("/outcomes/policy/", {"policy": text})
    assert page.status_code == 400
    assert b"mri_max_age_months: must be a number" in page.content
    assert b"soon" in page.content  # what was typed is kept


def test_the_what_if_reports_and_the_draft_is_adopted(
    clinician: Any, admin_client: Any, admin_user: Any, settings: Any
) -> None:
    from spinepath.audit.models import AuditEvent
    from spinepath.policies.models import AdoptedPolicy
    from spinepath.web.policy import clinic_policy, forget_policy

    settings.SPINEPATH_JOBS_INLINE = True
    _recent, older = cohort(clinician)
    response = admin_client.post("/outcomes/policy/", {"policy": TIGHTER})
    assert response.status_code == 302
    report = admin_client.get(response["Location"])
    text = report.content.decode()
    assert "2 of 5 decisions would change" in text
    assert "candidate-&gt;needs_imaging" in text or "candidate->needs_imaging" in text
    for mrn in older:
        assert mrn in text
    adopt = response["Location"] + "adopt/"
    assert admin_client.post(adopt).status_code == 302
    assert admin_client.post(adopt).status_code == 302  # a second click adopts once
    assert AdoptedPolicy.objects.count() == 1
    forget_policy()
    assert (clinic_policy().name, clinic_policy().version) == ("tighter", "2")
    assert AuditEvent.objects.filter(what__startswith="policy tighter 2 adopted").count() == 1
    # A new decision is made under the adopted version; the signed ones keep theirs.
    later = signed(clinician, "after-adoption", 150)
    assert (later.policy_name, later.policy_version) == ("tighter", "2")
    assert later.decision == "needs_imaging"
    # The same name and version cannot be adopted again from another draft.
    again = admin_client.post("/outcomes/policy/", {"policy": TIGHTER})
    refused = admin_client.post(again["Location"] + "adopt/")
    assert refused.status_code == 409
