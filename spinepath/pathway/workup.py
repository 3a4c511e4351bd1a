"""The workup: everything the candidacy review needs about one patient at one point in time.

Parsed from the interchange format ``spinepath.workup/1`` (spinepath/contracts/workup.schema.json).
A field that is absent means "not recorded", which the rules treat as ``unknown`` - never as
false or zero. Besides what the schema says, :func:`parse_workup` checks what a schema cannot
express: no date after the review, nothing dated before the patient was born, one finding per
level in a study.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

WORKUP_SCHEMA = "spinepath.workup/1"

Level = Literal["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
LEVELS: tuple[Level, ...] = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
Side = Literal["left", "right", "bilateral"]
Pattern = Literal["axial", "radicular", "mixed"]
MotorDeficit = Literal["none", "stable", "progressive"]
Herniation = Literal["none", "bulge", "protrusion", "extrusion", "sequestration"]
ProcedureKind = Literal[
    "discectomy",
    "fusion",
    "laminectomy",
    "disc_replacement",
    "radiofrequency_ablation",
    "epidural_steroid",
    "facet_steroid",
    "regenerative_injection",
    "other",
]
BlockKind = Literal["medial_branch", "sacroiliac", "discography"]
Payer = Literal[
    "self_pay",
    "commercial",
    "medicare_ab_supplement",
    "medicare_ab",
    "medicare_advantage",
    "medicaid",
    "other",
]

# Spine surgery changes the anatomy and needs time to heal; injections and ablation do not.
SPINE_SURGERY: frozenset[str] = frozenset(
    {"discectomy", "fusion", "laminectomy", "disc_replacement"}
)
# A fused or replaced level has no native disc left to inject.
DISC_REMOVING_SURGERY: frozenset[str] = frozenset({"fusion", "disc_replacement"})

Percent = Annotated[float, Field(ge=0, le=100)]


class _Record(BaseModel):
    # strict: a JSON string is never read as a number, nor a number as a boolean.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Patient(_Record):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    birth_date: date | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None


class ConservativeCare(_Record):
    physical_therapy_weeks: Annotated[float, Field(ge=0, le=520)] | None = None
    nsaid_trial: bool | None = None
    status: Literal["not_tried", "improving", "plateaued"] | None = None


class PriorProcedure(_Record):
    kind: ProcedureKind
    date: date
    levels: tuple[Level, ...] = ()
    improved_after: bool | None = None


class History(_Record):
    pain_duration_months: Annotated[float, Field(ge=0, le=1200)] | None = None
    pattern: Pattern | None = None
    conservative_care: ConservativeCare | None = None
    # None: the question was not asked; () : asked, and there were none.
    prior_procedures: tuple[PriorProcedure, ...] | None = None
    medications: tuple[Annotated[str, Field(max_length=200)], ...] = ()
    goals: Annotated[str, Field(max_length=4000)] | None = None


class RedFlags(_Record):
    cauda_equina: bool | None = None
    infection: bool | None = None
    malignancy: bool | None = None
    fracture: bool | None = None


class Exam(_Record):
    motor_deficit: MotorDeficit | None = None
    radiculopathy_onset: Literal["acute", "chronic"] | None = None
    facet_pattern: bool | None = None
    si_provocation_positive: Annotated[int, Field(ge=0, le=6)] | None = None
    ligament_tenderness: bool | None = None


class LevelFinding(_Record):
    level: Level
    pfirrmann: Annotated[int, Field(ge=1, le=5)] | None = None
    modic: Annotated[int, Field(ge=0, le=3)] | None = None
    disc_height_loss_pct: Percent | None = None
    endplate_bone_on_bone: bool | None = None
    herniation: Herniation | None = None
    nerve_root_compression: bool | None = None
    facet_arthropathy: Annotated[int, Field(ge=0, le=3)] | None = None
    ligament_injury: bool | None = None


class ImagingStudy(_Record):
    modality: Literal["MRI", "CT", "XR"]
    date: date
    reviewed: bool | None = None
    levels: tuple[LevelFinding, ...] = ()
    infection: bool | None = None
    malignancy: bool | None = None
    fracture: Literal["none", "healed", "acute"] | None = None

    @model_validator(mode="after")
    def _one_finding_per_level(self) -> ImagingStudy:
        seen: set[str] = set()
        for finding in self.levels:
            if finding.level in seen:
                raise ValueError(f"level {finding.level} is listed twice in one study")
            seen.add(finding.level)
        return self

    def finding_at(self, level: str) -> LevelFinding | None:
        for finding in self.levels:
            if finding.level == level:
                return finding
        return None


class DiagnosticBlock(_Record):
    kind: BlockKind
    date: date
    levels: tuple[Level, ...] | None = None
    side: Side | None = None
    relief_pct: Percent | None = None
    concordant: bool | None = None

    @model_validator(mode="after")
    def _required_by_kind(self) -> DiagnosticBlock:
        if self.kind in ("medial_branch", "sacroiliac") and self.relief_pct is None:
            raise ValueError(f"relief_pct is required for a {self.kind} block")
        if self.kind == "discography":
            if self.concordant is None:
                raise ValueError("concordant is required for a discography")
            if self.levels is None:
                raise ValueError("levels are required for a discography")
        return self


class Outcomes(_Record):
    pain_vas: Percent | None = None
    odi_sections: (
        Annotated[
            tuple[Annotated[int, Field(ge=0, le=5)] | None, ...],
            Field(min_length=10, max_length=10),
        ]
        | None
    ) = None


class Workup(_Record):
    schema_: Literal["spinepath.workup/1"] = Field(alias="schema")
    patient: Patient
    assessed_on: date
    history: History = History()
    red_flags: RedFlags = RedFlags()
    exam: Exam = Exam()
    imaging: tuple[ImagingStudy, ...] = ()
    diagnostic_blocks: tuple[DiagnosticBlock, ...] = ()
    outcomes: Outcomes = Outcomes()
    payer: Payer | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    def to_json_dict(self) -> dict[str, object]:
        """The interchange form: absent facts stay absent."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a workup is invalid, at a JSON path such as ``imaging[0].levels[3].pfirrmann``."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class InvalidWorkup(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def json_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(document)"


_PLAIN_REASONS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of the workup format",
    "literal_error": "must be one of {expected}",
    "less_than_equal": "must be at most {le} (got {input})",
    "greater_than_equal": "must be at least {ge} (got {input})",
    "int_type": "must be a whole number (got {input!r})",
    "bool_type": "must be true or false (got {input!r})",
    "float_type": "must be a number (got {input!r})",
    "string_type": "must be text (got {input!r})",
    "date_type": "must be a date written YYYY-MM-DD (got {input!r})",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD (got {input!r})",
    "date_parsing": "must be a date written YYYY-MM-DD (got {input!r})",
    "too_short": "must have {min_length} items",
    "too_long": "must have at most {max_length} items",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "json_invalid": "is not valid JSON ({error})",
    "model_type": "must be an object",
    "tuple_type": "must be a list",
}


def _reason(error: dict[str, object]) -> str:
    kind = str(error["type"])
    ctx = {
        key: f"{value:g}" if isinstance(value, float) else value
        for key, value in dict(error.get("ctx") or {}).items()  # type: ignore[call-overload]
    }
    template = _PLAIN_REASONS.get(kind)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if template is None:
        return str(error["msg"])
    try:
        return template.format(input=error.get("input"), **ctx)
    except (KeyError, IndexError, ValueError):
        return str(error["msg"])


def _errors_from(exc: ValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if part not in _UNION_BRANCHES)
        errors.append(FieldError(json_path(loc), _reason(dict(error))))
    return errors


# pydantic names the branch of an optional field in its error location; a reader wants the field.
_UNION_BRANCHES = {"none", "tuple[...]", "float", "int", "constrained-float", "constrained-int"}


def _dated_facts(workup: Workup) -> Iterator[tuple[str, date]]:
    for i, proc in enumerate(workup.history.prior_procedures or ()):
        yield f"history.prior_procedures[{i}].date", proc.date
    for i, study in enumerate(workup.imaging):
        yield f"imaging[{i}].date", study.date
    for i, block in enumerate(workup.diagnostic_blocks):
        yield f"diagnostic_blocks[{i}].date", block.date


def chronology_errors(workup: Workup) -> list[FieldError]:
    """Dates that cannot be true: after the review, or before the patient was born."""
    errors = []
    review = workup.assessed_on
    born = workup.patient.birth_date
    if born is not None and born > review:
        errors.append(FieldError("patient.birth_date", f"is after the review date {review}"))
        born = None
    for path, when in _dated_facts(workup):
        if when > review:
            errors.append(FieldError(path, f"{when} is after the review date {review}"))
        elif born is not None and when < born:
            errors.append(FieldError(path, f"{when} is before the birth date {born}"))
    return errors


def parse_workup(document: str | bytes) -> Workup:
    """Parse and check one workup given as JSON text. Raises :class:`InvalidWorkup`."""
    try:
        workup = Workup.model_validate_json(document)
    except ValidationError as exc:
        raise InvalidWorkup(_errors_from(exc)) from None
    return _checked(workup)


def workup_from_dict(data: object) -> Workup:
    """Parse and check one workup already decoded from JSON (the web import, tests)."""
    # Through JSON text, so that Python input is held to exactly the rules JSON input meets.
    return parse_workup(json.dumps(data, default=str))


def _checked(workup: Workup) -> Workup:
    errors = chronology_errors(workup)
    if errors:
        raise InvalidWorkup(errors)
    return workup
