"""What the record of an injection says beside its product (PATHWAY.md section 10): the volume
given per level, the guidance with its fluoroscopy time and dose, and the pre-procedure checks
with who did them.

The checks are the Universal Protocol's (The Joint Commission): the patient's consent
confirmed, the site marked, and a time-out performed, led by a named member of the team; the
clinician who records the injection is its operator and confirms them. Fluoroscopy is recorded
as the machine reports it at the end: the screening time in seconds and the cumulative air
kerma at the interventional reference point in mGy (IEC 60601-2-43), the dose most fluoroscopes
display. Pure: the web, the command line and the API all ask these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# An intradiscal injection is 1-3 ml, a facet joint 1-2 ml, a ligament or the sacroiliac joint
# rarely more than 10 ml: more than this at one level is a typing error (a total, or a slip).
VOLUME_MAX_ML = Decimal(20)
# A lumbar injection needs seconds to a few minutes of screening, and tens of mGy: values past
# these are typing errors (minutes typed as seconds, uGy as mGy), not a record.
FLUOROSCOPY_MAX_SECONDS = 3600
AIR_KERMA_MAX_MGY = Decimal(5000)


@dataclass(frozen=True, slots=True)
class Fluoroscopy:
    """The fluoroscopy of one injection: screening time (seconds) and cumulative air kerma at
    the interventional reference point (mGy)."""

    seconds: int | None = None
    air_kerma_mgy: Decimal | None = None

    @property
    def given(self) -> bool:
        return self.seconds is not None or self.air_kerma_mgy is not None


@dataclass(frozen=True, slots=True)
class PreProcedureChecks:
    """The checks before the needle, each ticked by the operator, and the staff member who led
    the time-out (an account id)."""

    consent_confirmed: bool = False
    site_marked: bool = False
    time_out_done: bool = False
    time_out_led_by: int | None = None


def volume_problem(volume_ml: Decimal | None) -> str | None:
    """Why the volume given at the level may not be recorded; None when it may."""
    if volume_ml is None or volume_ml <= 0:
        return "Enter the volume injected at this level (ml per level)."
    if volume_ml > VOLUME_MAX_ML:
        return f"Enter the volume per level: at most {VOLUME_MAX_ML} ml at one level."
    return None


def fluoroscopy_problems(guidance: str, fluoroscopy: Fluoroscopy) -> dict[str, str]:
    """An injection under fluoroscopy records its time and dose; one under other guidance
    records none (its dose would be a mistake on the record), by form field."""
    problems: dict[str, str] = {}
    if guidance != "fluoroscopy":
        said = "is recorded only for an injection under fluoroscopy: leave it empty."
        if fluoroscopy.seconds is not None:
            problems["fluoroscopy_seconds"] = f"Fluoroscopy time {said}"
        if fluoroscopy.air_kerma_mgy is not None:
            problems["air_kerma_mgy"] = f"Air kerma {said}"
        return problems
    seconds, kerma = fluoroscopy.seconds, fluoroscopy.air_kerma_mgy
    if seconds is None or not 1 <= seconds <= FLUOROSCOPY_MAX_SECONDS:
        problems["fluoroscopy_seconds"] = (
            "Enter the fluoroscopy time the machine reports, in seconds "
            f"(1-{FLUOROSCOPY_MAX_SECONDS})."
        )
    if kerma is None or not 0 < kerma <= AIR_KERMA_MAX_MGY:
        problems["air_kerma_mgy"] = (
            "Enter the air kerma the machine reports, in mGy "
            f"(more than 0, at most {AIR_KERMA_MAX_MGY})."
        )
    return problems


def checks_problems(checks: PreProcedureChecks) -> dict[str, str]:
    """Every check not confirmed, by form field: an injection is recorded only once each was
    done, and the time-out names who led it."""
    problems: dict[str, str] = {}
    if not checks.consent_confirmed:
        problems["consent_confirmed"] = "Confirm the patient's consent was checked before."
    if not checks.site_marked:
        problems["site_marked"] = "Confirm the injection site was marked."
    if not checks.time_out_done:
        problems["time_out_done"] = "Confirm the time-out was performed before the injection."
    if checks.time_out_led_by is None:
        problems["time_out_by"] = "Name who led the time-out."
    return problems


def record_problems(
    *,
    guidance: str,
    volume_ml: Decimal | None,
    fluoroscopy: Fluoroscopy,
    checks: PreProcedureChecks,
) -> dict[str, str]:
    """Everything the record of an injection still lacks beside its product, by form field."""
    problems: dict[str, str] = {}
    volume = volume_problem(volume_ml)
    if volume is not None:
        problems["volume_ml"] = volume
    problems.update(fluoroscopy_problems(guidance, fluoroscopy))
    problems.update(checks_problems(checks))
    return problems
