"""The clinic's policy: every number the pathway leaves to the clinic (PATHWAY.md section 6).

A policy is data: it is written in TOML (``spinepath/policies/default.toml`` ships the defaults)
and parsed here from text, so this module reads no file. Every decision records the policy's
name and version. Unknown keys and values outside their range are errors naming the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import time
from typing import Any

from spinepath.pathway.biologics import (
    ALWAYS_IND,
    DEFAULT_ROUTES,
    PRODUCT_KINDS,
    REGULATORY_ROUTES,
)
from spinepath.pathway.reminders import CHANNELS, DEFAULT_STEPS, QuietHours, Step


class InvalidPolicy(ValueError):
    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")


@dataclass(frozen=True, slots=True)
class VisitWindow:
    """One reassessment visit: due a number of weeks or months after the last injection."""

    key: str
    label: str
    after_weeks: int = 0
    after_months: int = 0
    opens_days_before: int = 14
    closes_days_after: int = 14
    optional: bool = False


DEFAULT_VISITS: tuple[VisitWindow, ...] = (
    VisitWindow("6w", "6 weeks", after_weeks=6, opens_days_before=14, closes_days_after=14),
    VisitWindow("3m", "3 months", after_months=3, opens_days_before=21, closes_days_after=28),
    VisitWindow("6m", "6 months", after_months=6, opens_days_before=28, closes_days_after=42),
    VisitWindow("12m", "12 months", after_months=12, opens_days_before=42, closes_days_after=60),
    # Standard, not optional, since 2.2: the ICHOM low back pain set measures at 24 months.
    VisitWindow("24m", "24 months", after_months=24, opens_days_before=60, closes_days_after=90),
)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str = "spinepath-default"
    version: str = "2.3"
    # Candidacy (PATHWAY.md section 3 and 6)
    mri_max_age_months: int = 12
    chronic_min_months: float = 3
    conservative_min_pt_weeks: float = 6
    # Grade II (inhomogeneous, normal height) is normal ageing in most adults: a disc counts as
    # degenerated, and can be a target, from grade III (PATHWAY.md sections 3 and 6).
    pfirrmann_degenerated_min: int = 3
    pfirrmann_eligible: tuple[int, int] = (3, 4)
    disc_height_loss_max_pct: float = 50
    max_disc_levels: int = 2
    mbb_relief_min_pct: float = 80
    si_relief_min_pct: float = 75
    facet_block_required: bool = True
    sacroiliac_eligible: bool = False
    recovery_min_months: int = 6
    # Outcomes (section 5)
    odi_max_missing_sections: int = 1
    pain_responder_min_pct: float = 30
    odi_responder_min_pct: float = 30
    odi_responder_min_points: float = 10
    # "either": a 30% or a 10-point ODI reduction makes a responder; "both" needs the two.
    odi_responder_rule: str = "either"
    baseline_max_days_before_injection: int = 30
    # Spine tissue responds slowly: non-response is judged at this visit, not before.
    non_response_judged_from_visit: str = "6m"
    # Follow-up completion (PATHWAY.md section 11): registries lose a third to two-thirds of
    # patients by a year, and those lost differ from those who answer; below this share of the
    # 12-month visits answered inside their windows, the outcomes may not represent everyone
    # treated, and the clinic's completion page and outcomes report say so.
    completion_target_pct: float = 80
    # Follow-up questionnaires: how long a patient's link stays valid, and the reminder ladder
    # of each visit (PATHWAY.md section 11): its steps, the clinic-local hours no message is
    # sent in ("HH:MM"; a start after the end spans midnight) and the most steps per visit.
    questionnaire_link_days: int = 14
    reminder_steps: tuple[Step, ...] = field(default=DEFAULT_STEPS)
    reminder_quiet_start: str = "20:00"
    reminder_quiet_end: str = "09:00"
    reminder_max_steps: int = 5
    # Safety (section 10): days from the clinic learning of a serious adverse reaction related
    # to the product to its report (21 CFR 1271.350: 15 days for reportable HCT/P reactions).
    adverse_reaction_report_days: int = 15
    # The trials' composite endpoint at 12 and 24 months (disc MSC trials): pain reduced by at
    # least this percent AND the ODI improved by at least this many points, with any further
    # intervention at the treated level a failure.
    composite_pain_min_pct: float = 50
    composite_odi_min_points: float = 15
    # Instruments whose owners require a licence are asked and exported only when the clinic
    # holds one (PATHWAY.md section 11, docs/instruments.md): EQ-5D (EuroQol).
    eq5d_licensed: bool = False
    # Honest odds at consent (docs/pathway.md, "Patients like you"): no figure from fewer of the
    # clinic's own patients answered at 12 months than this; and the clinic's model of 12-month
    # pain response gives a patient their own estimate only while its cross-validated
    # calibration passes every one of these.
    odds_min_patients: int = 30
    model_min_patients: int = 200
    model_slope_low: float = 0.8
    model_slope_high: float = 1.2
    model_max_abs_intercept: float = 0.2
    model_min_c_statistic: float = 0.65
    model_max_brier: float = 0.25
    visits: tuple[VisitWindow, ...] = field(default=DEFAULT_VISITS)
    # The regulatory route of each kind of product, (kind, route) in the order of
    # PRODUCT_KINDS (PATHWAY.md section 10): "ind" means offered, accepted and injected only
    # with the IND number on the plan.
    regulatory_routes: tuple[tuple[str, str], ...] = field(
        default=tuple((kind, DEFAULT_ROUTES[kind]) for kind in PRODUCT_KINDS)
    )

    def visit_keys(self) -> list[str]:
        return [v.key for v in self.visits]

    def fingerprint_data(self) -> dict[str, object]:
        """Every number of the policy with its name and version: what a signature binds."""
        return asdict(self)

    @property
    def quiet_hours(self) -> QuietHours:
        return QuietHours(_clock(self.reminder_quiet_start), _clock(self.reminder_quiet_end))

    def visit(self, key: str) -> VisitWindow:
        for v in self.visits:
            if v.key == key:
                return v
        raise KeyError(key)


_PERCENT_KEYS = {
    "disc_height_loss_max_pct",
    "mbb_relief_min_pct",
    "si_relief_min_pct",
    "pain_responder_min_pct",
    "odi_responder_min_pct",
    "composite_pain_min_pct",
    "completion_target_pct",
}
_RANGES: dict[str, tuple[float, float]] = {
    "mri_max_age_months": (1, 60),
    "chronic_min_months": (0, 120),
    "conservative_min_pt_weeks": (0, 104),
    "max_disc_levels": (1, 5),
    "pfirrmann_degenerated_min": (2, 5),
    "recovery_min_months": (0, 60),
    "odi_max_missing_sections": (0, 9),
    "odi_responder_min_points": (0, 100),
    "baseline_max_days_before_injection": (0, 365),
    "questionnaire_link_days": (1, 90),
    "reminder_max_steps": (1, 10),
    "adverse_reaction_report_days": (1, 90),
    "composite_odi_min_points": (0, 100),
    "odds_min_patients": (10, 10_000),
    "model_min_patients": (50, 1_000_000),
    "model_slope_low": (0, 1),
    "model_slope_high": (1, 5),
    "model_max_abs_intercept": (0, 2),
    "model_min_c_statistic": (0.5, 1),
    "model_max_brier": (0, 0.25),
    **{key: (0, 100) for key in _PERCENT_KEYS},
}
_INT_KEYS = {
    "mri_max_age_months",
    "pfirrmann_degenerated_min",
    "max_disc_levels",
    "recovery_min_months",
    "odi_max_missing_sections",
    "baseline_max_days_before_injection",
    "questionnaire_link_days",
    "reminder_max_steps",
    "adverse_reaction_report_days",
    "odds_min_patients",
    "model_min_patients",
}
_VISIT_KEYS = {f.name for f in fields(VisitWindow)}
_STEP_KEYS = {f.name for f in fields(Step)}


def _clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


def _clock_text(key: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise InvalidPolicy(key, f"must be a clinic-local time written HH:MM (got {value!r})")
    try:
        _clock(value)
    except ValueError:
        raise InvalidPolicy(key, f"must be a time of day written HH:MM (got {value!r})") from None
    return value


def _steps(value: Any) -> tuple[Step, ...]:
    key = "reminder_steps"
    if not isinstance(value, list) or not value:
        raise InvalidPolicy(key, "must be a non-empty list of [[reminder_steps]] tables")
    steps = []
    for i, raw in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(raw, dict):
            raise InvalidPolicy(where, "must be a table")
        unknown = set(raw) - _STEP_KEYS
        if unknown:
            raise InvalidPolicy(f"{where}.{sorted(unknown)[0]}", "is not a reminder step setting")
        if not isinstance(raw.get("key"), str) or not raw["key"].strip():
            raise InvalidPolicy(f"{where}.key", "is required text")
        if raw.get("channel") not in CHANNELS:
            raise InvalidPolicy(f"{where}.channel", f"must be one of {', '.join(CHANNELS)}")
        for name in ("after_days", "min_days_left"):
            number = raw.get(name, 0)
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 365:
                raise InvalidPolicy(
                    f"{where}.{name}", f"must be a whole number 0-365 (got {number!r})"
                )
        steps.append(Step(**raw))
    keys = [s.key for s in steps]
    if len(set(keys)) != len(keys):
        raise InvalidPolicy(key, "step keys must be different from each other")
    days = [s.after_days for s in steps]
    if days != sorted(days):
        raise InvalidPolicy(key, "steps must come in the order of their after_days")
    return tuple(steps)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPolicy(key, f"must be a number (got {value!r})")
    if key in _INT_KEYS and not isinstance(value, int):
        raise InvalidPolicy(key, f"must be a whole number (got {value!r})")
    low, high = _RANGES[key]
    if not low <= value <= high:
        raise InvalidPolicy(key, f"must be between {low:g} and {high:g} (got {value!r})")
    return value


def _pfirrmann_range(value: Any) -> tuple[int, int]:
    key = "pfirrmann_eligible"
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        raise InvalidPolicy(key, f"must be a pair of grades such as [2, 4] (got {value!r})")
    low, high = value
    if not 1 <= low <= high <= 5:
        raise InvalidPolicy(key, f"must be grades 1-5 with the lower first (got {value!r})")
    return (low, high)


def _visits(value: Any) -> tuple[VisitWindow, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidPolicy("visits", "must be a non-empty list of [[visits]] tables")
    visits = []
    for i, raw in enumerate(value):
        where = f"visits[{i}]"
        if not isinstance(raw, dict):
            raise InvalidPolicy(where, "must be a table")
        unknown = set(raw) - _VISIT_KEYS
        if unknown:
            raise InvalidPolicy(f"{where}.{sorted(unknown)[0]}", "is not a visit setting")
        for name in ("key", "label"):
            if not isinstance(raw.get(name), str) or not raw[name]:
                raise InvalidPolicy(f"{where}.{name}", "is required text")
        for name in ("after_weeks", "after_months", "opens_days_before", "closes_days_after"):
            number = raw.get(name, 0)
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 1200:
                raise InvalidPolicy(
                    f"{where}.{name}", f"must be a whole number 0-1200 (got {number!r})"
                )
        if not raw.get("after_weeks") and not raw.get("after_months"):
            raise InvalidPolicy(where, "needs after_weeks or after_months")
        if not isinstance(raw.get("optional", False), bool):
            raise InvalidPolicy(f"{where}.optional", "must be true or false")
        visits.append(VisitWindow(**raw))
    keys = [v.key for v in visits]
    if len(set(keys)) != len(keys):
        raise InvalidPolicy("visits", "visit keys must be different from each other")
    return tuple(visits)


def _routes(value: Any, base: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """A table of kind = route over the base's routes: a clinic names only what it changes."""
    key = "regulatory_routes"
    if not isinstance(value, dict):
        raise InvalidPolicy(key, "must be a [regulatory_routes] table of kind = route")
    routes = dict(base)
    for kind, route in value.items():
        where = f"{key}.{kind}"
        if kind not in PRODUCT_KINDS:
            raise InvalidPolicy(where, f"is not a kind of product ({', '.join(PRODUCT_KINDS)})")
        if route not in REGULATORY_ROUTES:
            raise InvalidPolicy(where, f"must be one of {', '.join(REGULATORY_ROUTES)}")
        if kind in ALWAYS_IND and route != "ind":
            raise InvalidPolicy(
                where,
                "must be ind: the FDA regulates it as a drug or biologic, given only under an IND",
            )
        routes[kind] = route
    return tuple((kind, routes[kind]) for kind in PRODUCT_KINDS)


def policy_from_mapping(data: Mapping[str, Any], base: Policy | None = None) -> Policy:
    """Apply settings on top of ``base`` (the defaults). ``name`` and ``version`` are required,
    because a decision made under changed numbers must never carry the default policy's label."""
    base = base or Policy()
    known = {f.name for f in fields(Policy)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise InvalidPolicy(key, "is not a policy setting")
        if key in ("name", "version"):
            if not isinstance(value, str) or not value.strip():
                raise InvalidPolicy(key, "must be non-empty text")
            limit = 100 if key == "name" else 50
            if len(value.strip()) > limit or not value.strip().isprintable():
                raise InvalidPolicy(key, f"must be at most {limit} printable characters")
            changes[key] = value.strip()
        elif key in ("facet_block_required", "sacroiliac_eligible", "eq5d_licensed"):
            if not isinstance(value, bool):
                raise InvalidPolicy(key, f"must be true or false (got {value!r})")
            changes[key] = value
        elif key == "pfirrmann_eligible":
            changes[key] = _pfirrmann_range(value)
        elif key == "odi_responder_rule":
            if value not in ("either", "both", "pct", "points"):
                raise InvalidPolicy(key, "must be one of either, both, pct, points")
            changes[key] = value
        elif key == "visits":
            changes[key] = _visits(value)
        elif key == "reminder_steps":
            changes[key] = _steps(value)
        elif key in ("reminder_quiet_start", "reminder_quiet_end"):
            changes[key] = _clock_text(key, value)
        elif key == "regulatory_routes":
            changes[key] = _routes(value, base.regulatory_routes)
        elif key == "non_response_judged_from_visit":
            if not isinstance(value, str):
                raise InvalidPolicy(key, "must be a visit key")
            changes[key] = value
        else:
            changes[key] = _number(key, value)
    for key in ("name", "version"):
        if key not in data:
            raise InvalidPolicy(key, "is required, so that every decision names its policy")
    policy = replace(base, **changes)
    if policy.pfirrmann_eligible[0] < policy.pfirrmann_degenerated_min:
        raise InvalidPolicy(
            "pfirrmann_eligible",
            "must start at or above pfirrmann_degenerated_min: a disc that does not count as "
            "degenerated cannot be a target",
        )
    if policy.non_response_judged_from_visit not in policy.visit_keys():
        raise InvalidPolicy(
            "non_response_judged_from_visit", "must be the key of one of the visits"
        )
    return policy


def parse_policy(text: str, base: Policy | None = None) -> Policy:
    """Parse a policy written in TOML. Raises :class:`InvalidPolicy` naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy("(file)", f"is not valid TOML ({exc})") from None
    return policy_from_mapping(data, base)
