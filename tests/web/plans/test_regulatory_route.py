"""The regulatory route is part of the plan (PATHWAY.md section 10, issue 26): each injection
line names its kind of product; material the FDA regulates as a drug or biologic is written,
released and accepted only with its IND number, which the plan shows - tried from the outside.
(The patient's own acceptance route: tests/web/portal/test_plan_release.py.)"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader
from treatment_helpers import DISC, released
from web_helpers import acting, adopt_policy, import_encounter

from spinepath.consultations.actions import decision_sign
from spinepath.errors import Conflict, Invalid
from spinepath.plans import acceptance, selectors, services
from spinepath.plans.models import CarePlan, PlanLine

# Point-of-care marrow put under an IND by the clinic (e.g. while it runs a trial of it).
MARROW_UNDER_IND = 'name = "trial-clinic"\nversion = "1"\n[regulatory_routes]\nbmac = "ind"\n'


@pytest.fixture
def plan(clinician: Any) -> CarePlan:
    encounter = import_encounter(clinician)
    decision_sign(encounter=encounter, actor=acting(clinician), token="r" * 24)
    return services.plan_create(patient=encounter.patient, actor=acting(clinician))


def add_disc_injection(plan: CarePlan, user: Any, **changes: Any) -> PlanLine:
    values: dict[str, Any] = {
        "target": DISC,
        "material": "msc",
        "guidance": "fluoroscopy",
        "product_kind": "msc_expanded",
    }
    values.update(changes)
    return services.plan_injection_add(plan=plan, actor=acting(user), **values)


def injection_post(client: Client, plan: CarePlan, **changes: str) -> Any:
    key = client.get(f"/plans/{plan.pk}/").context["injection_form"].initial["submission"]
    data = {
        "action": "injection",
        "inj-submission": key,
        "inj-target": "discogenic|L4-L5|",
        "inj-material": "msc",
        "inj-guidance": "ct",
        "inj-product_kind": "msc_expanded",
    }
    data.update({f"inj-{name}": value for name, value in changes.items()})
    return client.post(f"/plans/{plan.pk}/", data)


# --- each line names its kind; a kind under an IND carries its number -------------------------


def test_a_plan_written_from_the_decision_names_the_point_of_care_product(
    plan: CarePlan,
) -> None:
    line = plan.lines.get(phase="inject")
    assert (line.product_kind, line.ind_number) == ("bmac", "")


def test_culture_expanded_msc_is_not_added_without_its_ind_number(
    plan: CarePlan, clinician: Any, clinician_client: Client
) -> None:
    before = plan.lines.count()
    with pytest.raises(Invalid) as refused:
        add_disc_injection(plan, clinician)
    assert set(refused.value.fields) == {"ind_number"}
    said = refused.value.fields["ind_number"]
    assert said.startswith("An IND number is required for culture-expanded MSC")
    response = injection_post(clinician_client, plan, planned_on="2026-12-10")
    assert response.status_code == 400
    form = response.context["injection_form"]
    assert "An IND number is required" in form.errors["ind_number"][0]
    assert form["planned_on"].value() == "2026-12-10"  # what was entered stays
    assert plan.lines.count() == before


@pytest.mark.parametrize("typed", ["pending", "IND 123", "IND 1234567", "IND ١٢٣٤٥"])
def test_an_ind_number_that_is_not_one_is_refused_saying_what_is_expected(
    plan: CarePlan, clinician_client: Client, typed: str
) -> None:
    response = injection_post(clinician_client, plan, ind_number=typed)
    assert response.status_code == 400
    assert response.context["injection_form"].errors["ind_number"] == [
        "Enter the IND number the FDA gave: 5 or 6 digits, e.g. IND 012345."
    ]
    assert not plan.lines.filter(product_kind="msc_expanded").exists()


def test_the_ind_number_is_kept_in_its_one_written_form(
    plan: CarePlan, clinician_client: Client
) -> None:
    response = injection_post(clinician_client, plan, ind_number=" ind-012345 ")
    assert response.status_code == 302
    line = plan.lines.get(product_kind="msc_expanded")
    assert line.ind_number == "IND 012345"


@pytest.mark.parametrize("kind", ["prp", "exosome", "", "stem_cells"])
def test_a_kind_that_is_not_of_the_lines_material_is_refused(
    plan: CarePlan, clinician: Any, kind: str
) -> None:
    with pytest.raises(Invalid) as refused:
        add_disc_injection(plan, clinician, product_kind=kind, ind_number="IND 012345")
    assert set(refused.value.fields) == {"product_kind"}


# --- what the plan shows, and what the patient's acceptance binds -----------------------------


def test_the_plan_shows_each_injection_its_route_in_words_and_the_ind(
    plan: CarePlan, clinician: Any, clinician_client: Client
) -> None:
    add_disc_injection(plan, clinician, ind_number="IND 012345")
    page = clinician_client.get(f"/plans/{plan.pk}/").content.decode()
    assert "What is injected, and under which rules" in page
    assert "autologous bone marrow concentrate, same surgical procedure exception" in page
    assert "21 CFR 1271.15(b)" in page
    assert "culture-expanded MSC, regulated as a drug or biologic" in page
    assert "under IND 012345" in page
    pdf = clinician_client.get(f"/plans/{plan.pk}/plan.pdf")
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split()
    )
    assert "culture-expanded MSC, regulated as a drug or biologic" in text
    assert "under IND 012345" in text


def test_the_kind_the_route_and_the_ind_are_part_of_what_is_accepted(
    plan: CarePlan, clinician: Any, admin_user: Any
) -> None:
    line = add_disc_injection(plan, clinician, ind_number="IND 012345")
    shown = selectors.plan_content_hash(plan)
    PlanLine.objects.filter(pk=line.pk).update(ind_number="IND 054321")
    assert selectors.plan_content_hash(plan) != shown
    PlanLine.objects.filter(pk=line.pk).update(ind_number="IND 012345", product_kind="bmac")
    assert selectors.plan_content_hash(plan) != shown
    PlanLine.objects.filter(pk=line.pk).update(product_kind="msc_expanded")
    assert selectors.plan_content_hash(plan) == shown
    adopt_policy(MARROW_UNDER_IND, admin_user)  # the first line's route changes
    assert selectors.plan_content_hash(plan) != shown


def test_a_new_version_keeps_each_lines_kind_and_ind(plan: CarePlan, clinician: Any) -> None:
    add_disc_injection(plan, clinician, ind_number="IND 012345")
    plan = released(plan, clinician)
    new = services.plan_revise(plan=plan, actor=acting(clinician))
    assert sorted(new.lines.filter(phase="inject").values_list("product_kind", "ind_number")) == [
        ("bmac", ""),
        ("msc_expanded", "IND 012345"),
    ]


# --- no release, no acceptance without the IND: every route -----------------------------------


def test_a_clinician_does_not_release_material_under_an_ind_without_its_number(
    plan: CarePlan, clinician: Any, admin_user: Any, clinician_client: Client
) -> None:
    adopt_policy(MARROW_UNDER_IND, admin_user)
    with pytest.raises(Conflict) as refused:
        released(plan, clinician)
    assert refused.value.codes == ["ind_required"]
    assert "An IND number is required" in str(refused.value)
    assert "Intradiscal injection L4-L5" in str(refused.value)
    page = clinician_client.get(f"/plans/{plan.pk}/")
    posted = clinician_client.post(
        f"/plans/{plan.pk}/release/", {"shown": page.context["shown"]}, follow=True
    )
    assert "An IND number is required" in posted.content.decode()
    plan.refresh_from_db()
    assert plan.status == CarePlan.DRAFT


def test_a_line_forged_without_its_kind_is_not_released(plan: CarePlan, clinician: Any) -> None:
    plan.lines.filter(phase="inject").update(product_kind="")
    with pytest.raises(Conflict) as refused:
        released(plan, clinician)
    assert refused.value.codes == ["product_kind_not_stated"]


def test_no_acceptance_in_the_clinic_once_the_material_needs_an_ind(
    plan: CarePlan, clinician: Any, coordinator: Any, admin_user: Any, clinician_client: Client
) -> None:
    plan = released(plan, clinician)
    adopt_policy(MARROW_UNDER_IND, admin_user)
    with pytest.raises(Conflict, match="An IND number is required"):
        acceptance.plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(coordinator))
    shown = clinician_client.get(f"/plans/{plan.pk}/accept/").context["form"]["shown"].value()
    response = clinician_client.post(
        f"/plans/{plan.pk}/accept/",
        {"typed_name": "Maria Lopez", "understood": "on", "shown": shown},
    )
    assert response.status_code == 400
    assert "An IND number is required" in response.context["form"].errors["typed_name"][0]
    plan.refresh_from_db()
    assert plan.status == CarePlan.RELEASED and plan.accepted_at is None


def test_an_offer_made_before_plans_named_the_kind_is_still_accepted(
    plan: CarePlan, clinician: Any
) -> None:
    plan = released(plan, clinician)
    plan.lines.filter(phase="inject").update(product_kind="")  # as the migration left it
    accepted = acceptance.plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician))
    assert accepted.status == CarePlan.ACCEPTED


def test_a_released_line_forged_into_cells_under_an_ind_is_not_accepted(
    plan: CarePlan, clinician: Any
) -> None:
    """The gate reads the kind the line holds, however it came to hold it."""
    plan = released(plan, clinician)
    plan.lines.filter(phase="inject").update(product_kind="msc_expanded")
    with pytest.raises(Conflict) as refused:
        acceptance.plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician))
    assert refused.value.codes == ["ind_required"]
    plan.refresh_from_db()
    assert plan.status == CarePlan.RELEASED
