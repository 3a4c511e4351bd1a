"""What the record of an injection says beside its product (PATHWAY.md section 10): the volume
per level, the fluoroscopy time and air kerma, the pre-procedure checks and who led the
time-out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spinepath.pathway.injections import (
    Fluoroscopy,
    PreProcedureChecks,
    checks_problems,
    fluoroscopy_problems,
    record_problems,
    volume_problem,
)

DONE = PreProcedureChecks(
    consent_confirmed=True, site_marked=True, time_out_done=True, time_out_led_by=7
)
SCREENED = Fluoroscopy(seconds=40, air_kerma_mgy=Decimal("5.2"))


@pytest.mark.parametrize("ml", ["0.5", "1.5", "20"])
def test_a_volume_per_level_is_recorded(ml: str) -> None:
    assert volume_problem(Decimal(ml)) is None


@pytest.mark.parametrize("ml", [None, "0", "-1", "20.01", "150"])
def test_no_volume_none_or_more_than_a_level_takes_is_refused(ml: str | None) -> None:
    said = volume_problem(Decimal(ml) if ml is not None else None)
    assert said is not None and "per level" in said


def test_an_injection_under_fluoroscopy_records_its_time_and_air_kerma() -> None:
    assert fluoroscopy_problems("fluoroscopy", SCREENED) == {}
    assert set(fluoroscopy_problems("fluoroscopy", Fluoroscopy())) == {
        "fluoroscopy_seconds",
        "air_kerma_mgy",
    }
    only_time = fluoroscopy_problems("fluoroscopy", Fluoroscopy(seconds=40))
    assert set(only_time) == {"air_kerma_mgy"}
    assert "in mGy" in only_time["air_kerma_mgy"]


@pytest.mark.parametrize(
    ("seconds", "kerma", "field"),
    [
        (0, "5", "fluoroscopy_seconds"),
        (-3, "5", "fluoroscopy_seconds"),
        (3601, "5", "fluoroscopy_seconds"),  # an hour of screening is minutes typed as seconds
        (40, "0", "air_kerma_mgy"),
        (40, "-1", "air_kerma_mgy"),
        (40, "5000.01", "air_kerma_mgy"),  # uGy typed as mGy
    ],
)
def test_fluoroscopy_out_of_any_plausible_range_is_refused(
    seconds: int, kerma: str, field: str
) -> None:
    assert set(fluoroscopy_problems("fluoroscopy", Fluoroscopy(seconds, Decimal(kerma)))) == {field}


@pytest.mark.parametrize("guidance", ["ct", "ultrasound"])
def test_fluoroscopy_is_not_recorded_for_an_injection_under_other_guidance(
    guidance: str,
) -> None:
    assert fluoroscopy_problems(guidance, Fluoroscopy()) == {}
    refused = fluoroscopy_problems(guidance, SCREENED)
    assert set(refused) == {"fluoroscopy_seconds", "air_kerma_mgy"}
    assert "only for an injection under fluoroscopy" in refused["fluoroscopy_seconds"]


def test_every_check_is_confirmed_and_the_time_out_names_its_leader() -> None:
    assert checks_problems(DONE) == {}
    assert set(checks_problems(PreProcedureChecks())) == {
        "consent_confirmed",
        "site_marked",
        "time_out_done",
        "time_out_by",
    }
    unnamed = PreProcedureChecks(consent_confirmed=True, site_marked=True, time_out_done=True)
    assert checks_problems(unnamed) == {"time_out_by": "Name who led the time-out."}


def test_a_record_says_every_missing_thing_at_once() -> None:
    assert (
        record_problems(
            guidance="fluoroscopy", volume_ml=Decimal("1.5"), fluoroscopy=SCREENED, checks=DONE
        )
        == {}
    )
    everything = record_problems(
        guidance="fluoroscopy",
        volume_ml=None,
        fluoroscopy=Fluoroscopy(),
        checks=PreProcedureChecks(),
    )
    assert set(everything) == {
        "volume_ml",
        "fluoroscopy_seconds",
        "air_kerma_mgy",
        "consent_confirmed",
        "site_marked",
        "time_out_done",
        "time_out_by",
    }
