"""Malformed ids in query strings and forms answer 400 or a form error, never a server error."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from treatment_helpers import treated
from web_helpers import acting, import_encounter

from spinepath.consultations.actions import decision_sign
from spinepath.plans import services
from spinepath.plans.models import PlanLine, PriceItem, PriceVersion

HUGE = "99999999999999999999"  # beyond any database integer


@pytest.fixture
def draft(clinician: Any) -> Any:
    encounter = import_encounter(clinician)
    decision_sign(encounter=encounter, actor=acting(clinician), token="c" * 24)
    return services.plan_create(patient=encounter.patient, actor=acting(clinician))


@pytest.mark.parametrize("line", ["abc", HUGE, "-1", "", "1.5"])
def test_removing_a_malformed_plan_line_is_a_400(
    draft: Any, clinician_client: Client, line: str
) -> None:
    before = PlanLine.objects.count()
    response = clinician_client.post(f"/plans/{draft.pk}/", {"action": "remove", "line": line})
    assert response.status_code == 400
    assert b"That line is not on this plan." in response.content
    assert PlanLine.objects.count() == before


@pytest.mark.parametrize("item", ["abc", HUGE, "", "-3"])
def test_pricing_a_malformed_item_is_a_400(admin_client: Client, item: str) -> None:
    before = PriceVersion.objects.count()
    response = admin_client.post("/prices/", {"item": item, "amount": "10"})
    assert response.status_code == 400
    assert b"Choose an item from the price list." in response.content
    assert PriceVersion.objects.count() == before


def test_a_negative_price_for_a_real_item_is_named_at_the_item(admin_client: Client) -> None:
    item = PriceItem.objects.get(code="shockwave")
    response = admin_client.post("/prices/", {"item": item.pk, "amount": "-5"})
    assert response.status_code == 400
    assert response.context["errors"] == {
        item.pk: "Ensure this value is greater than or equal to 0."
    }


@pytest.mark.parametrize(
    "query", [f"patient={HUGE}", "patient=abc", "patient=-1", "state=bogus", "sort=;drop"]
)
def test_a_malformed_worklist_filter_is_a_400(
    clinician: Any, coordinator_client: Client, query: str
) -> None:
    treated(clinician, 40)
    response = coordinator_client.get(f"/worklist/?{query}")
    assert response.status_code == 400
    assert b"This list cannot be shown" in response.content


def test_a_well_formed_worklist_filter_still_works(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, 40)
    response = coordinator_client.get(f"/worklist/?patient={patient.pk}&state=open&sort=patient")
    assert response.status_code == 200 and len(response.context["rows"]) == 1


@pytest.mark.parametrize("clinician_id", ["abc", HUGE, "-2", "1e3"])
def test_a_malformed_clinician_filter_is_named_on_the_dashboard(
    clinician_client: Client, clinician_id: str
) -> None:
    response = clinician_client.get(f"/outcomes/?clinician={clinician_id}")
    assert response.status_code == 400
    assert b"Choose a clinician from the list." in response.content
    export = clinician_client.get(f"/outcomes/export/cohort.csv?clinician={clinician_id}")
    assert export.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/plans/{HUGE}/",
        f"/plans/{HUGE}/plan.pdf",
        f"/patients/{HUGE}/plans/",
        f"/patients/{HUGE}/procedures/new/",
        f"/procedures/{HUGE}/void/",
        f"/visits/{HUGE}/",
        f"/patients/{HUGE}/outcomes.svg",
    ],
)
def test_an_id_beyond_any_record_in_an_address_is_a_404(
    clinician_client: Client, path: str
) -> None:
    assert clinician_client.get(path).status_code == 404


def test_a_link_for_a_visit_beyond_any_record_is_a_404(coordinator_client: Client) -> None:
    assert coordinator_client.post(f"/visits/{HUGE}/link/").status_code == 404
