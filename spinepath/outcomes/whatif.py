"""The policy what-if over the clinic's records: each patient's latest signed workup, decided
again under a draft policy by the pure engine (spinepath/pathway/rescreen.py).

The rows are streamed in chunks, so memory stays flat at any number of patients. A workup that
no longer parses (a format older than today's) is counted apart, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
from django.db.models import Max

from spinepath.consultations.models import CandidacyDecision
from spinepath.pathway.policy import Policy
from spinepath.pathway.rescreen import Rescreen, rescreen
from spinepath.pathway.workup import InvalidWorkup, Workup, parse_workup

CHUNK = 2000


def latest_signed() -> object:
    """Each patient's latest signed decision (the one a policy change would touch)."""
    latest = CandidacyDecision.objects.values("patient_id").annotate(last=Max("id")).values("last")
    return CandidacyDecision.objects.filter(id__in=latest)


def signed_count() -> int:
    return CandidacyDecision.objects.values("patient_id").distinct().count()


def signed_workups(skipped: list[str] | None = None) -> Iterator[tuple[str, str, Workup]]:
    rows = (
        latest_signed()  # type: ignore[attr-defined]
        .order_by("id")
        .values_list("patient__mrn", "decision", "workup_json")
        .iterator(chunk_size=CHUNK)
    )
    for mrn, decision, workup in rows:
        try:
            yield mrn or "", decision, parse_workup(orjson.dumps(workup))
        except InvalidWorkup:
            if skipped is not None:
                skipped.append(mrn or "")


def rescreen_clinic(
    policy: Policy, progress: Callable[[int], None] | None = None
) -> tuple[Rescreen, list[str]]:
    """(the what-if, the record numbers whose stored workup could not be read)."""
    skipped: list[str] = []
    return rescreen(signed_workups(skipped), policy, progress), skipped
