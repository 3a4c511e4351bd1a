"""Adopting a policy: a label names one set of rules forever; a signature binds the policy in
force at the moment it is made; a draft keeps the clinic's own file for what it leaves out; a
run that stalls can be started again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from test_rescreen import TIGHTER, cohort, signed
from web_helpers import acting

from spinepath.errors import Conflict
from spinepath.outcomes import whatif
from spinepath.pathway.policy import InvalidPolicy, parse_policy
from spinepath.policies import load_policy
from spinepath.policies.models import PolicyDraft
from spinepath.web.policy import clinic_policy, file_policy, forget_policy


def run(text: str, user: Any) -> PolicyDraft:
    draft = whatif.draft_upload(actor=acting(user), text=text)
    return whatif.draft_run(draft.pk)


def test_a_label_already_on_signed_decisions_is_never_adopted_again(
    clinician: Any, admin_user: Any
) -> None:
    cohort(clinician)  # signed under the default policy's label
    default = clinic_policy()
    relabelled = f'name = "{default.name}"\nversion = "{default.version}"\nmri_max_age_months = 2\n'
    draft = run(relabelled, admin_user)
    with pytest.raises(Conflict, match="already names a policy"):
        whatif.draft_adopt(actor=acting(admin_user), draft_id=draft.pk)


def test_a_signature_binds_the_policy_in_force_when_it_is_made(
    clinician: Any, admin_user: Any
) -> None:
    from web_helpers import import_encounter

    from spinepath.consultations.actions import decision_review, decision_sign

    encounter = import_encounter(clinician, patient__id="race-1")
    shown = decision_review(encounter).fingerprint  # the page, under the policy of then
    draft = run(TIGHTER, admin_user)
    whatif.draft_adopt(actor=acting(admin_user), draft_id=draft.pk)
    # This process still holds the earlier policy for a moment; the signature reads afresh.
    from spinepath.consultations.actions import ReviewChanged

    with pytest.raises(ReviewChanged):
        decision_sign(
            encounter=encounter, actor=acting(clinician), token="r" * 24, fingerprint=shown
        )
    forget_policy()


def test_a_draft_keeps_the_clinics_file_for_what_it_leaves_out(
    admin_user: Any, settings: Any, tmp_path: Path
) -> None:
    clinic = tmp_path / "clinic.toml"
    clinic.write_text('name = "our-clinic"\nversion = "7"\nchronic_min_months = 6\n')
    settings.SPINEPATH_POLICY_FILE = str(clinic)
    file_policy.cache_clear()
    forget_policy()
    try:
        draft = run('name = "our-clinic"\nversion = "8"\nmri_max_age_months = 6\n', admin_user)
        whatif.draft_adopt(actor=acting(admin_user), draft_id=draft.pk)
        forget_policy()
        policy = clinic_policy()
        assert (policy.version, policy.mri_max_age_months, policy.chronic_min_months) == (
            "8",
            6,
            6,
        )
    finally:
        file_policy.cache_clear()
        forget_policy()


def test_names_and_versions_are_short_printable_text(tmp_path: Path) -> None:
    for text in (
        f'name = "{"n" * 101}"\nversion = "1"\n',
        f'name = "x"\nversion = "{"1" * 51}"\n',
        'name = "a\\u0000b"\nversion = "1"\n',
        'name = "x"\nversion = "1\\nx"\n',
    ):
        with pytest.raises(InvalidPolicy, match="printable characters"):
            parse_policy(text)
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "clinique é"\nversion = "1"\n'.encode("latin-1"))
    with pytest.raises(InvalidPolicy, match="not UTF-8"):
        load_policy(latin)


def test_a_stalled_run_can_be_started_again(admin_user: Any, settings: Any) -> None:
    draft = whatif.draft_upload(actor=acting(admin_user), text=TIGHTER)
    PolicyDraft.objects.filter(pk=draft.pk).update(
        status=PolicyDraft.RUNNING, heartbeat=timezone.now() - timedelta(minutes=5)
    )
    draft.refresh_from_db()
    assert whatif.stalled(draft)
    settings.SPINEPATH_JOBS_INLINE = True
    again = whatif.draft_restart(actor=acting(admin_user), draft_id=draft.pk)
    assert again.status == PolicyDraft.DONE and again.result is not None


def test_a_fresh_run_is_not_stalled(admin_user: Any) -> None:
    draft = whatif.draft_upload(actor=acting(admin_user), text=TIGHTER)
    assert not whatif.stalled(draft)
    assert signed  # the helpers are shared with the what-if tests


def test_the_page_offers_to_run_a_stalled_draft_again(admin_user: Any, admin_client: Any) -> None:
    draft = whatif.draft_upload(actor=acting(admin_user), text=TIGHTER)
    PolicyDraft.objects.filter(pk=draft.pk).update(
        status=PolicyDraft.RUNNING, heartbeat=timezone.now() - timedelta(minutes=5)
    )
    page = admin_client.get(f"/outcomes/policy/{draft.pk}/")
    assert b"The run stopped without finishing" in page.content
    assert b"Run it again" in page.content


def test_a_file_and_pasted_text_together_are_refused(admin_client: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("draft.toml", TIGHTER.encode())
    page = admin_client.post("/outcomes/policy/", {"file": upload, "policy": TIGHTER})
    assert page.status_code == 400 and b"not both" in page.content


def test_a_worker_never_keeps_a_policy_whose_id_came_back_with_another_text(
    db: Any, monkeypatch: Any
) -> None:
    """After a restore, the database may give the next adoption an id a worker has seen with
    another text: the worker's copy follows the text, not the id alone."""
    import spinepath.web.policy as web_policy

    base = web_policy.file_policy()
    first = f'name = "{base.name}"\nversion = "restored-a"\n'
    second = f'name = "{base.name}"\nversion = "adopted-again"\n'
    rows = iter([(5, first), (5, second)])
    monkeypatch.setattr(web_policy, "_latest_adopted", lambda: next(rows))
    forget_policy()
    assert clinic_policy().version == "restored-a"
    assert clinic_policy(fresh=True).version == "adopted-again"
