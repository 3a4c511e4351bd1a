"""The patient chart: the timeline of consultations, imaging, blocks and decisions."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def test_chart_shows_the_timeline(clinician_client: Client, candidate_encounter: Any) -> None:
    response = clinician_client.get(f"/patients/{candidate_encounter.patient_id}/")
    kinds = [kind for kind, _day, _item in response.context["timeline"]]
    assert kinds.count("consultation") == 1 and kinds.count("imaging") == 1
    assert b"Lopez, Maria" in response.content


def test_chart_queries_do_not_grow_with_records(
    clinician_client: Client, clinician: Any, candidate_encounter: Any
) -> None:
    import time_machine
    from django.core.cache import cache
    from django.utils import timezone
    from web_helpers import import_encounter

    path = f"/patients/{candidate_encounter.patient_id}/"
    # The clock stands still: a slow machine must not cross a session-renewal minute between
    # the two counts (one more query that has nothing to do with the records).
    with time_machine.travel(timezone.now(), tick=False):
        cache.clear()
        clinician_client.get(path)  # the session's first request renews it and fills the cache
        with CaptureQueriesContext(connection) as one:
            clinician_client.get(path)
        for _ in range(3):
            import_encounter(
                clinician, patient=candidate_encounter.patient, history__pain_duration_months=30
            )
        # Figures kept per version of their data (the worklist's count in the menu) are
        # computed again after a write: both counts are of a page whose cache was just filled.
        cache.clear()
        clinician_client.get(path)
        with CaptureQueriesContext(connection) as more:
            clinician_client.get(path)
    import difflib

    a = [q["sql"][:150] for q in one.captured_queries]
    b = [q["sql"][:150] for q in more.captured_queries]
    assert len(more) == len(one), "\n".join(difflib.unified_diff(a, b, lineterm=""))


def test_unknown_patient_is_404(clinician_client: Client, db: Any) -> None:
    assert clinician_client.get("/patients/999999/").status_code == 404
