"""Helpers of the web tests: users and imported consultations."""

from __future__ import annotations

from typing import Any

from workup_builder import document

from spinepath.consultations.models import Encounter
from spinepath.consultations.services import workup_import
from spinepath.pathway.workup import workup_from_dict

PASSWORD = "correct-horse-battery"


def import_encounter(
    user: Any, names: tuple[str, str] = ("Maria", "Lopez"), **changes: Any
) -> Encounter:
    return workup_import(workup=workup_from_dict(document(**changes)), user=user, names=names)
