"""Safety as an outcome (PATHWAY.md section 10, issue 26): the share of injections followed by
a related and by a serious related adverse event, per material, product and lot, with exact
intervals, beside the rate the Regenexx registry published."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from shared_world import on_the_suite_day, shared_world
from treatment_helpers import treated
from web_helpers import acting, new_clinician

from spinepath.pathway.safety import EventFacts
from spinepath.plans.models import BiologicProduct, Procedure, ProductLot
from spinepath.plans.procedures import procedure_void
from spinepath.safety import services

pytestmark = pytest.mark.django_db


def _event(clinician: Any, procedure: Procedure, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "term": "Post-injection flare",
        "onset_on": procedure.performed_on + timedelta(days=2),
        "grade": 2,
        "serious_criteria": frozenset(),
        "related_procedure": "probable",
        "related_product": "unlikely",
        "expected": True,
        "action": "medication",
        "outcome": "recovering",
        "resolved_on": None,
    }
    values.update(changes)
    return services.event_record(
        actor=acting(clinician),
        patient=procedure.patient,
        entry=services.EventInput(EventFacts(**values)),
        aware_on=timezone.localdate(),
        procedure_id=procedure.pk,
    )


SERIOUS = {
    "term": "Discitis",
    "grade": 3,
    "serious_criteria": frozenset({"hospitalisation"}),
    "related_product": "possible",
    "action": "hospitalisation",
    "outcome": "ongoing",
}


def _injected(clinician: Any) -> dict[str, Procedure]:
    """Four patients injected with MSC: two from lot A-1, one from lot A-2 of the same marrow
    kit, one before the catalogue (no lot)."""
    kit = BiologicProduct.objects.create(
        name="Marrow concentrate kit", kind="bmac", source="autologous", establishment="Lab"
    )
    expires = timezone.localdate() + timedelta(days=400)
    lots = {
        name: ProductLot.objects.create(
            product=kit, lot=name, code=f"code-{name}", expires_on=expires
        )
        for name in ("A-1", "A-2")
    }
    found: dict[str, Procedure] = {}
    given = ((200, "p1", "A-1"), (190, "p2", "A-1"), (180, "p3", "A-2"), (170, "p4", None))
    for days, name, lot in given:
        patient = treated(clinician, days_ago=days, email=f"{name}@example.org")
        procedure = Procedure.objects.get(patient=patient)
        # p4 stands for a record made before the catalogue, which names no lot.
        Procedure.objects.filter(pk=procedure.pk).update(lot=lots[lot] if lot else None)
        procedure.refresh_from_db()
        found[name] = procedure
    return found


@pytest.fixture(scope="module")
def injected_for_the_module(
    django_db_setup: Any, django_db_blocker: Any
) -> Iterator[tuple[int, dict[str, int]]]:
    """The clinician and the four injections, made once for the module's tests
    (tests/shared_world.py): (the clinician's id, each procedure's id)."""
    with shared_world(django_db_blocker), on_the_suite_day():
        clinician = new_clinician()
        injected = _injected(clinician)
        yield clinician.pk, {name: procedure.pk for name, procedure in injected.items()}


@pytest.fixture
def clinician(db: Any, injected_for_the_module: tuple[int, dict[str, int]]) -> Any:
    """The clinician who injected them (tests/web/conftest.py's), read afresh for each test."""
    return User.objects.get(pk=injected_for_the_module[0])


@pytest.fixture
def injections(
    db: Any, injected_for_the_module: tuple[int, dict[str, int]]
) -> dict[str, Procedure]:
    """The four injections, read afresh for each test; each test's changes are rolled back
    after it."""
    return {name: Procedure.objects.get(pk=pk) for name, pk in injected_for_the_module[1].items()}


def test_each_injection_counts_once_by_material_product_and_lot(
    clinician: Any, injections: dict[str, Procedure]
) -> None:
    from spinepath.outcomes.safety_rates import NO_LOT, NO_PRODUCT, safety_figures

    p1, p2, p3, p4 = (injections[k] for k in ("p1", "p2", "p3", "p4"))
    _event(clinician, p1, **SERIOUS)
    _event(clinician, p1)  # a second related event: the injection still counts once
    _event(clinician, p2, related_procedure="unlikely", related_product="not_related")
    _event(clinician, p3)  # related, not serious
    wrong = _event(clinician, p3, **SERIOUS)
    services.event_in_error(actor=acting(clinician), event_id=wrong.pk, reason="Wrong chart")
    _event(clinician, p4, **SERIOUS)
    procedure_void(procedure=p4, actor=acting(clinician), reason="Entered on the wrong day")

    figures = safety_figures()
    total = figures.total
    assert (total.injections, total.related.successes, total.serious.successes) == (3, 2, 1)
    assert [(r.label, r.injections) for r in figures.materials] == [("MSC", 3)]
    assert [(r.label, r.injections, r.related.successes) for r in figures.products] == [
        ("Marrow concentrate kit", 3, 2)
    ]
    lots = {r.label: r for r in figures.lots}
    assert NO_LOT not in lots and NO_PRODUCT not in {r.label for r in figures.products}
    one, two = lots["Marrow concentrate kit, lot A-1"], lots["Marrow concentrate kit, lot A-2"]
    assert (one.injections, one.related.successes, one.serious.successes) == (2, 1, 1)
    assert (two.injections, two.related.successes, two.serious.successes) == (1, 1, 0)
    # No serious event in A-2's one injection: 0% with the exact upper limit, 1 - 0.05^(1/1).
    assert (two.serious.rate, two.serious.low) == (0.0, 0.0)
    assert two.serious.high == pytest.approx(0.95)
    # The serious rate against the registry's 0.55%: too few injections to tell.
    assert figures.benchmark is not None and figures.benchmark.rate == 0.0055
    assert total.published is not None and total.published.verdict == "too_small"


def test_injections_before_the_catalogue_are_a_row_of_their_own(
    clinician: Any, injections: dict[str, Procedure]
) -> None:
    from spinepath.outcomes.safety_rates import NO_LOT, NO_PRODUCT, safety_figures

    figures = safety_figures()
    assert [r.label for r in figures.products][-1] == NO_PRODUCT
    assert figures.lots[-1].label == NO_LOT and figures.lots[-1].injections == 1
    assert sum(r.injections for r in figures.lots) == figures.total.injections == 4


def test_the_figures_take_three_queries_however_many_events(
    clinician: Any, injections: dict[str, Procedure]
) -> None:
    from spinepath.outcomes.safety_rates import safety_figures

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            safety_figures()
        return len(captured)

    before = queries()
    for procedure in injections.values():
        _event(clinician, procedure, **SERIOUS)
        _event(clinician, procedure)
    assert queries() == before == 3


def test_the_dashboard_the_evidence_library_and_the_report_show_them(
    clinician: Any,
    clinician_client: Client,
    injections: dict[str, Procedure],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _event(clinician, injections["p1"], **SERIOUS)
    page = clinician_client.get("/outcomes/").content.decode()
    assert '<h2 id="safety">Safety</h2>' in page
    assert "Marrow concentrate kit, lot A-1" in page and "By lot" in page
    assert "Published: 0.55% of 2,372 patients" in page
    assert '25% <span class="small muted">(' in page  # 1 of 4 injections
    assert "1 of 4" in page
    library = clinician_client.get("/outcomes/evidence/").content.decode()
    assert "Regenexx registry" in library and "Int Orthop 2016" in library
    assert "published 0.55% of 2,372 patients" in library

    import spinepath.plans.pdf as pdf

    shown: list[str] = []
    monkeypatch.setattr(pdf, "html_to_pdf", lambda html: shown.append(html) or b"%PDF-")
    assert clinician_client.get("/outcomes/report.pdf").status_code == 200
    assert "Safety: adverse events after each injection" in shown[0]
    assert "Product: Marrow concentrate kit" in shown[0]
    assert "lot A-1" not in shown[0]  # an autologous lot is one patient's: not in the report


def test_a_new_event_changes_the_cached_dashboard(
    clinician: Any, clinician_client: Client, injections: dict[str, Procedure]
) -> None:
    def serious() -> int:
        return clinician_client.get("/outcomes/").context["safety"].total.serious.successes

    assert serious() == 0
    _event(clinician, injections["p2"], **SERIOUS)
    assert serious() == 1


def test_an_event_changed_by_sql_typed_by_hand_changes_the_cached_dashboard(
    clinician: Any, clinician_client: Client, injections: dict[str, Procedure]
) -> None:
    """The dashboard's figures are kept under the versions of the tables they read, which the
    database changes itself: a change no code of the application made shows at once."""
    from django.db import connection

    def serious() -> int:
        return clinician_client.get("/outcomes/").context["safety"].total.serious.successes

    _event(clinician, injections["p2"], **SERIOUS)
    assert serious() == 1
    with connection.cursor() as cursor:
        cursor.execute("UPDATE safety_eventversion SET grade = 1, serious_criteria = '[]'")
    assert serious() == 0
