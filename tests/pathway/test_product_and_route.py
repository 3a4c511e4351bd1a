"""The product of an injection and its regulatory route (PATHWAY.md section 10): the policy's
route of each kind, the IND number's one written form, and what an injection line must say."""

from __future__ import annotations

import pytest

from spinepath.pathway.biologics import (
    IND_EXPECTED,
    PRODUCT_KINDS,
    REGULATORY_ROUTES,
    needs_ind,
    normalised_ind,
    regulatory_route,
)
from spinepath.pathway.plans import planned_product_problems
from spinepath.pathway.policy import InvalidPolicy, Policy, parse_policy

POLICY = Policy()


def test_point_of_care_products_need_no_ind_grown_or_donor_cells_and_exosomes_do() -> None:
    routes = {kind: regulatory_route(kind, POLICY) for kind in PRODUCT_KINDS}
    assert routes == {
        "bmac": "same_surgical_procedure",
        "adipose": "same_surgical_procedure",
        "msc_expanded": "ind",
        "msc_allogeneic": "ind",
        "exosome": "ind",
        "prp": "not_hctp",
    }
    assert set(REGULATORY_ROUTES) == {"same_surgical_procedure", "hctp_361", "not_hctp", "ind"}
    assert "21 CFR 1271.15(b)" in REGULATORY_ROUTES["same_surgical_procedure"]
    assert "IND" in REGULATORY_ROUTES["ind"]


def test_a_kind_not_stated_has_no_route_and_needs_no_ind_here() -> None:
    assert regulatory_route(None, POLICY) is None
    assert not needs_ind(None, POLICY)


def test_a_clinic_puts_digested_fat_under_an_ind_and_keeps_the_rest() -> None:
    policy = parse_policy('name = "x"\nversion = "1"\n[regulatory_routes]\nadipose = "ind"\n')
    assert needs_ind("adipose", policy)
    assert regulatory_route("bmac", policy) == "same_surgical_procedure"
    assert regulatory_route("prp", policy) == "not_hctp"


@pytest.mark.parametrize("kind", ["msc_expanded", "msc_allogeneic", "exosome"])
def test_no_policy_takes_a_drug_or_biologic_out_of_its_ind(kind: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        parse_policy(f'name = "x"\nversion = "1"\n[regulatory_routes]\n{kind} = "hctp_361"\n')
    assert caught.value.key == f"regulatory_routes.{kind}"
    assert "must be ind" in caught.value.reason


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("IND 012345", "IND 012345"),
        ("ind012345", "IND 012345"),
        (" IND-12345 ", "IND 12345"),
        ("IND #123456", "IND 123456"),
        ("123456", "IND 123456"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_an_ind_number_is_written_one_way(typed: str, written: str) -> None:
    assert normalised_ind(typed) == written


@pytest.mark.parametrize(
    "typed", ["IND 1234", "IND 1234567", "IDE 012345", "12 345", "IND ٠١٢٣٤٥", "IND 01234x"]
)
def test_what_is_not_an_ind_number_is_refused(typed: str) -> None:
    assert normalised_ind(typed) is None


def test_an_injection_line_names_a_kind_of_its_material() -> None:
    ok = planned_product_problems(kind="bmac", material="msc", ind_text="", policy=POLICY)
    assert ok == {}
    unstated = planned_product_problems(kind="", material="msc", ind_text="", policy=POLICY)
    assert unstated == {"product_kind": "Choose the kind of product this injection gives."}
    other = planned_product_problems(kind="prp", material="msc", ind_text="", policy=POLICY)
    assert other["product_kind"].startswith(
        "Platelet-rich plasma (PRP) is not mesenchymal stem cells (MSC)"
    )


def test_a_kind_under_an_ind_carries_its_number() -> None:
    missing = planned_product_problems(
        kind="exosome", material="exosome", ind_text="", policy=POLICY
    )
    assert set(missing) == {"ind_number"}
    assert missing["ind_number"].startswith("An IND number is required for exosome preparation")
    assert IND_EXPECTED in missing["ind_number"]
    given = planned_product_problems(
        kind="exosome", material="exosome", ind_text="IND 012345", policy=POLICY
    )
    assert given == {}
    garbled = planned_product_problems(
        kind="exosome", material="exosome", ind_text="pending", policy=POLICY
    )
    assert garbled == {"ind_number": IND_EXPECTED}
