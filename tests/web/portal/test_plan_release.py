"""Issue 25, PATHWAY.md section 4: a plan is the clinic's working draft until a clinician
releases it to the patient; only the released version is shown to the patient and can be
accepted, by any route - and the routes an insider tried around it."""

from __future__ import annotations

from typing import Any

import pytest
from test_portal import candidate, patient_client
from treatment_helpers import released
from web_helpers import acting, adopt_policy, signed_in

from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.errors import Conflict, NotAllowed
from spinepath.plans.acceptance import plan_accept, plan_accept_by_patient, plan_release
from spinepath.plans.models import CarePlan, PriceItem
from spinepath.plans.selectors import plan_content_hash
from spinepath.plans.services import plan_create, plan_item_add, plan_revise
from spinepath.records.fhir import patient_bundle


def _draft(clinician: Any) -> CarePlan:
    return plan_create(patient=candidate(clinician), actor=acting(clinician))


def _add_a_visit(plan: CarePlan, user: Any) -> None:
    plan_item_add(
        plan=plan,
        actor=acting(user),
        item=PriceItem.objects.filter(category="visit").first(),
        quantity=1,
        phase="follow",
    )


def test_the_patient_never_sees_the_clinics_draft(clinician: Any, coordinator: Any) -> None:
    draft = _draft(clinician)
    client = patient_client(coordinator, draft.patient)
    home = client.get("/my/").content.decode()
    assert "ready to read" not in home and "No written plan yet" in home
    page = client.get("/my/plan/").content.decode()
    assert "Accept the plan" not in page and "Treatment plan" not in page
    assert client.get(f"/my/plan/{draft.pk}/plan.pdf").status_code == 404
    # Accepting it anyway, with the hash of the draft: refused, nothing accepted.
    posted = client.post(
        "/my/plan/",
        {"shown": plan_content_hash(draft), "typed_name": "Maria Lopez", "consent": "on"},
    )
    assert posted.status_code == 409
    draft.refresh_from_db()
    assert draft.status == CarePlan.DRAFT and draft.accepted_at is None
    # FHIR leaves the working draft out too.
    kinds = [e["resource"]["resourceType"] for e in patient_bundle(draft.patient)["entry"]]
    assert "CarePlan" not in kinds


def test_no_route_accepts_a_draft(clinician: Any, coordinator: Any) -> None:
    draft = _draft(clinician)
    with pytest.raises(Conflict, match="working draft"):
        plan_accept(plan=draft, typed_name="Maria Lopez", actor=acting(coordinator))
    staff = signed_in(coordinator)
    page = staff.get(f"/plans/{draft.pk}/accept/").content.decode()
    assert "still the clinic's working draft" in page and "Accept the plan</button>" not in page
    posted = staff.post(
        f"/plans/{draft.pk}/accept/",
        {"typed_name": "Maria Lopez", "understood": "on", "shown": plan_content_hash(draft)},
    )
    assert posted.status_code == 400 and "working draft" in posted.content.decode()
    draft.refresh_from_db()
    assert draft.status == CarePlan.DRAFT


def test_only_a_clinician_releases_and_the_page_says_who(clinician: Any, coordinator: Any) -> None:
    draft = _draft(clinician)
    coordinators = signed_in(coordinator)
    page = coordinators.get(f"/plans/{draft.pk}/").content.decode()
    assert "Release to the patient</button>" not in page
    assert "The patient does not see it until a clinician releases it" in page
    refused = coordinators.post(f"/plans/{draft.pk}/release/", {"shown": plan_content_hash(draft)})
    assert refused.status_code == 403
    with pytest.raises(NotAllowed):
        plan_release(actor=acting(coordinator), plan_id=draft.pk, shown=plan_content_hash(draft))
    draft.refresh_from_db()
    assert draft.status == CarePlan.DRAFT

    clinicians = signed_in(clinician)
    page = clinicians.get(f"/plans/{draft.pk}/")
    shown = page.content.decode().split('name="shown" value="')[1].split('"')[0]
    done = clinicians.post(f"/plans/{draft.pk}/release/", {"shown": shown}, follow=True)
    text = done.content.decode()
    assert "Released to the patient: it is on their own pages" in text
    assert "Patient accepts in the clinic" in text and "Add an injection session" not in text
    draft.refresh_from_db()
    assert draft.status == CarePlan.RELEASED and draft.released_by == clinician
    assert draft.released_content_hash == shown
    assert AuditEvent.objects.filter(
        patient_id=draft.patient_id, what=f"plan v{draft.version} released to the patient"
    ).exists()
    # Now the patient reads it, and may accept it.
    client = patient_client(coordinator, draft.patient)
    assert "Accept the plan" in client.get("/my/plan/").content.decode()


def test_a_released_plan_is_frozen(clinician: Any, coordinator: Any) -> None:
    plan = released(_draft(clinician), clinician)
    with pytest.raises(Conflict, match="released to the patient and is frozen"):
        _add_a_visit(plan, coordinator)
    page = signed_in(coordinator).post(f"/plans/{plan.pk}/", {"action": "item"}, follow=True)
    assert "released to the patient and is frozen" in page.content.decode()


def test_a_draft_changed_since_the_clinician_read_it_is_not_released(
    clinician: Any, coordinator: Any
) -> None:
    draft = _draft(clinician)
    clinicians = signed_in(clinician)
    page = clinicians.get(f"/plans/{draft.pk}/").content.decode()
    shown = page.split('name="shown" value="')[1].split('"')[0]
    _add_a_visit(draft, coordinator)  # a coordinator edits it meanwhile
    after = clinicians.post(f"/plans/{draft.pk}/release/", {"shown": shown}, follow=True)
    assert "The plan changed since this page was opened" in after.content.decode()
    draft.refresh_from_db()
    assert draft.status == CarePlan.DRAFT


def test_a_new_version_released_withdraws_the_one_offered(clinician: Any, coordinator: Any) -> None:
    first = released(_draft(clinician), clinician)
    client = patient_client(coordinator, first.patient)
    second = plan_revise(plan=first, actor=acting(coordinator))
    # Until the new version is released, the patient is still offered the first one.
    assert f"version {first.version}" in client.get("/my/plan/").content.decode()
    _add_a_visit(second, coordinator)
    released(second, clinician)
    first.refresh_from_db()
    assert first.status == CarePlan.SUPERSEDED
    assert f"version {second.version}" in client.get("/my/plan/").content.decode()
    with pytest.raises(Conflict):
        plan_accept(plan=first, typed_name="Maria Lopez", actor=acting(coordinator))
    posted = client.post(
        "/my/plan/",
        {"shown": first.released_content_hash, "typed_name": "Maria Lopez", "consent": "on"},
    )
    assert posted.status_code == 409
    assert not CarePlan.objects.filter(patient=first.patient, status=CarePlan.ACCEPTED).exists()


def test_releasing_twice_is_one_release(clinician: Any) -> None:
    draft = _draft(clinician)
    shown = plan_content_hash(draft)
    once = plan_release(actor=acting(clinician), plan_id=draft.pk, shown=shown)
    again = plan_release(actor=acting(clinician), plan_id=draft.pk, shown=shown)
    assert once.released_at == again.released_at
    events = AuditEvent.objects.filter(what__contains="released to the patient")
    assert events.count() == 1


def test_the_staff_plan_list_names_the_state(clinician: Any) -> None:
    plan = released(_draft(clinician), clinician)
    page = signed_in(clinician).get(f"/patients/{plan.patient_id}/plans/").content.decode()
    assert "Released to the patient" in page


def test_the_patient_does_not_accept_material_under_an_ind_without_its_number(
    clinician: Any, coordinator: Any, admin_user: Any
) -> None:
    """PATHWAY.md section 10: a kind the clinic's policy gives only under an IND since the
    release (here its point-of-care marrow) is not accepted on the patient's own pages until a
    new version carries the IND number; the page says why."""
    plan = released(_draft(clinician), clinician)
    client = patient_client(coordinator, plan.patient)
    adopt_policy('name = "trial"\nversion = "1"\n[regulatory_routes]\nbmac = "ind"\n', admin_user)
    page = client.get("/my/plan/")
    shown = page.context["form"]["shown"].value()
    form = {"shown": shown, "typed_name": "Maria Lopez", "consent": "on"}
    posted = client.post("/my/plan/", form)
    assert posted.status_code == 409
    assert "An IND number is required" in posted.content.decode()
    plan.refresh_from_db()
    assert plan.status == CarePlan.RELEASED and plan.accepted_at is None
    with pytest.raises(Conflict, match="An IND number is required"):
        plan_accept_by_patient(
            actor=Actor.for_patient(
                plan.patient_id, "Maria Lopez", address="127.0.0.1", path="/my/plan/"
            ),
            plan_id=plan.pk,
            typed_name="Maria Lopez",
            shown=shown,
            consent_given=True,
        )
