"""What every write in a consultation checks: a signed consultation is locked, records
dated inside a signed workup wait for an amendment, clinical dates are plausible."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import orjson
from django.db.models import Model

from spinepath.actions import today_of_write
from spinepath.actors import Actor
from spinepath.audit.services import audit_record
from spinepath.consultations.models import (
    Encounter,
    ImagingStudy,
    LevelFinding,
)
from spinepath.errors import Conflict, Invalid
from spinepath.patients.models import Patient

STUDY_FIELDS = ("modality", "performed_on", "infection", "malignancy", "fracture", "report")
FINDING_FIELDS = (
    "pfirrmann",
    "modic",
    "disc_height_loss_pct",
    "endplate_bone_on_bone",
    "herniation",
    "nerve_root_compression",
    "facet_arthropathy",
    "ligament_injury",
)
EARLIEST = date(1900, 1, 1)


def require_unlocked(encounter: Encounter) -> None:
    if encounter.is_locked:
        raise Conflict(
            f"The consultation of {encounter.assessed_on} was signed and is locked. A clinician "
            "can amend it, with a reason; the earlier values are kept."
        )


def require_open(through: Encounter | None) -> None:
    """A write made from a consultation's pages is refused while that consultation is signed
    and locked (the imaging, blocks and procedures it shows are part of what was signed)."""
    if through is not None:
        require_unlocked(Encounter.objects.get(pk=through.pk))


def require_unsigned_day(
    patient: Patient,
    day: date | None,
    *,
    new_through: Encounter | None = None,
    filed_into: Encounter | None = None,
) -> None:
    """A record dated on or before the review day of a signed consultation is part of what was
    signed: it changes (from any consultation's pages, or an import) only once a clinician has
    amended that consultation, with a reason.

    A *new* record (``new_through``: the consultation whose page adds it) is not refused when
    that consultation is open and the patient's most recent one: new information does not wait
    for a locked record (PATHWAY.md section 9). It is filed into that consultation and counts
    from it on; the signed one stays as it was signed. A record filed so (``filed_into``) is
    part only of the consultations from that one on.
    """
    if day is None:
        return
    if new_through is not None and latest_and_open(patient, new_through):
        return
    signed = signed_covering(patient, day, filed_into=filed_into)
    if signed is not None:
        raise Conflict(
            f"This record ({day}) is part of the consultation of {signed.assessed_on}, which is "
            "signed and locked: a clinician amends that consultation, with a reason, first."
        )


def signed_covering(
    patient: Patient, day: date, *, filed_into: Encounter | None = None
) -> Encounter | None:
    """The earliest signed (and not amended) consultation whose workup holds a record dated
    ``day``: reviewed on or after it, and - for a record filed into a later consultation - not
    before that one."""
    signed = Encounter.objects.filter(
        patient=patient, status=Encounter.FINISHED, assessed_on__gte=day
    ).order_by("assessed_on", "id")
    for encounter in signed:
        if filed_into is None or (encounter.assessed_on, encounter.pk) >= (
            filed_into.assessed_on,
            filed_into.pk,
        ):
            return encounter
    return None


def next_consultation(patient: Patient, actor: Actor) -> Encounter:
    """The consultation new information goes into when the one it dates from is signed: the
    patient's most recent consultation if it is open and after every signed one; otherwise a
    new one, reviewed today (PATHWAY.md section 9: new information does not wait for a locked
    record)."""
    from spinepath.consultations.actions.encounter import encounter_start

    latest = Encounter.objects.filter(patient=patient).order_by("-assessed_on", "-id").first()
    if latest is not None and latest.status == Encounter.IN_PROGRESS:
        return latest
    return encounter_start(patient=patient, actor=actor, assessed_on=today_of_write())


def latest_and_open(patient: Patient, encounter: Encounter) -> bool:
    latest = Encounter.objects.filter(patient=patient).order_by("-assessed_on", "-id").first()
    return (
        latest is not None and latest.pk == encounter.pk and latest.status == Encounter.IN_PROGRESS
    )


def plausible_day(
    name: str, day: date | None, *, patient: Patient, latest: date | None = None
) -> None:
    """A clinical date is not in the future (or after ``latest``), nor before the patient was
    born, nor before 1900."""
    if day is None:
        return
    today = today_of_write()
    if day > today:
        raise Invalid(f"{name}: the date {day} is in the future.", fields={name: "In the future."})
    if latest is not None and day > latest:
        raise Invalid(
            f"{name}: the date {day} is after the review date {latest}.",
            fields={name: f"After the review date {latest}."},
        )
    born = patient.birth_date or EARLIEST
    if day < max(born, EARLIEST):
        raise Invalid(
            f"{name}: the date {day} is before the birth date {born}.",
            fields={name: f"Before the birth date {born}."},
        )


def save_stated(record: Model, *, actor: Actor, patient: Patient, event: str, what: str) -> None:
    """Save a clinical record as ``actor`` states it: the field history names them, and the
    audit log says what was done to which patient."""
    record._history_user = actor.user  # type: ignore[attr-defined]
    record.save()
    audit_record(actor=actor, action=event, what=what, patient=patient)


def finding_values(finding: LevelFinding | None) -> dict[str, Any]:
    if finding is None:
        return {}
    values = {name: getattr(finding, name) for name in FINDING_FIELDS}
    return {k: v for k, v in values.items() if v not in (None, "")}


def study_version(study: ImagingStudy) -> str:
    """SHA-256 of a study's clinical content as recorded (date, flags, every finding): the
    review button carries it, so a review attests what the clinician saw."""
    content = {
        "study": {name: str(getattr(study, name)) for name in STUDY_FIELDS if name != "report"},
        "findings": {f.level: finding_values(f) for f in study.levels.all()},
    }
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
