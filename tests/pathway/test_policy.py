"""The clinic's policy file: the defaults of PATHWAY.md section 6, and a clinic's overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from spinepath.pathway.policy import InvalidPolicy, Policy, parse_policy
from spinepath.policies import default_policy, load_policy


def test_shipped_policy_holds_the_pathway_defaults() -> None:
    policy = default_policy()
    assert policy == Policy()
    assert (policy.mri_max_age_months, policy.max_disc_levels, policy.mbb_relief_min_pct) == (
        12,
        2,
        80,
    )
    assert policy.pfirrmann_eligible == (3, 4)
    assert policy.pfirrmann_degenerated_min == 3
    assert policy.facet_block_required is True and policy.sacroiliac_eligible is False
    assert dict(policy.regulatory_routes)["exosome"] == "ind"
    assert dict(policy.regulatory_routes)["bmac"] == "same_surgical_procedure"


def test_the_24_month_visit_is_standard_from_policy_2_2() -> None:
    """The ICHOM low back pain set measures at 24 months (PATHWAY.md section 11)."""
    policy = default_policy()
    assert policy.version == "2.3"
    assert policy.visit("24m").optional is False
    assert [v.key for v in policy.visits if v.optional] == []


def test_a_licensed_instrument_is_off_until_the_clinic_says_it_holds_the_licence() -> None:
    assert default_policy().eq5d_licensed is False
    policy = parse_policy('name = "x"\nversion = "1"\neq5d_licensed = true')
    assert policy.eq5d_licensed is True


def test_override_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "clinic.toml"
    path.write_text('name = "north-clinic"\nversion = "2026.2"\nmbb_relief_min_pct = 75\n')
    policy = load_policy(path)
    assert (policy.name, policy.version, policy.mbb_relief_min_pct) == (
        "north-clinic",
        "2026.2",
        75,
    )
    assert policy.mri_max_age_months == 12


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('name="x"\nversion="1"\nmri_max_age_month = 6', "mri_max_age_month"),
        ('name="x"\nversion="1"\nmbb_relief_min_pct = 120', "mbb_relief_min_pct"),
        ('name="x"\nversion="1"\nmax_disc_levels = 0', "max_disc_levels"),
        ('name="x"\nversion="1"\nmax_disc_levels = 2.5', "max_disc_levels"),
        ('name="x"\nversion="1"\nfacet_block_required = "yes"', "facet_block_required"),
        ('name="x"\nversion="1"\neq5d_licensed = 1', "eq5d_licensed"),
        ('name="x"\nversion="1"\npfirrmann_eligible = [4, 2]', "pfirrmann_eligible"),
        ('name="x"\nversion="1"\nodi_responder_rule = "any"', "odi_responder_rule"),
        ("mbb_relief_min_pct = 70", "name"),
        ('name="x"\nversion="1"\nregulatory_routes = "ind"', "regulatory_routes"),
        ('name="x"\nversion="1"\n[regulatory_routes]\ncord = "ind"', "regulatory_routes.cord"),
        ('name="x"\nversion="1"\n[regulatory_routes]\nprp = "exempt"', "regulatory_routes.prp"),
        ('name="x"\nversion="1"\n[regulatory_routes]\nexosome = "ind"\nprp = 1', "regulatory_"),
        (
            'name="x"\nversion="1"\n[[visits]]\nkey="6w"\nlabel="6 weeks"\nafter_days=42',
            "visits[0]",
        ),
    ],
)
def test_bad_policy_names_the_key(text: str, key: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        parse_policy(text)
    assert caught.value.key.startswith(key)


def test_not_toml_is_an_error() -> None:
    with pytest.raises(InvalidPolicy):
        parse_policy("name = ")


def test_missing_policy_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidPolicy, match="cannot be read"):
        load_policy(tmp_path / "nowhere.toml")
