"""Issue 24: every write is an action with a typed actor, checked against the authority table
and recorded as one audit event - and the routes an insider tried around it."""

from __future__ import annotations

import inspect
import json
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from repo_paths import CASES
from web_helpers import acting, parallel_posts, signed_in, start

from spinepath.actions import WRITES
from spinepath.audit.models import AuditEvent
from spinepath.consultations.models import ImagingStudy, PriorProcedure
from spinepath.errors import NotAllowed
from spinepath.patients.models import Patient


def _upload(document: dict[str, Any]) -> Any:
    return SimpleUploadedFile("workup.json", json.dumps(document).encode(), "application/json")


def test_every_write_takes_an_actor_and_no_request() -> None:
    import spinepath.site.urls  # noqa: F401  (every app's services imported)

    assert len(WRITES) >= 50
    for name in WRITES:
        module, _, function = name.rpartition(".")
        write = getattr(__import__(module, fromlist=[function]), function)
        parameters = inspect.signature(write).parameters
        assert "actor" in parameters, name
        assert parameters["actor"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert "request" not in parameters and "user" not in parameters, name
        with pytest.raises(TypeError, match="takes actor=Actor"):
            write(actor=None)


def test_a_write_refuses_a_role_the_authority_table_does_not_name(coordinator: Any) -> None:
    from spinepath.plans.models import PriceItem
    from spinepath.plans.pricing import price_set

    item = PriceItem.objects.order_by("pk").first()
    with pytest.raises(NotAllowed, match="Only a clinic admin can record or change the price"):
        price_set(actor=acting(coordinator), item=item, amount=1)
    assert not AuditEvent.objects.filter(what__startswith="price of").exists()


def test_a_write_is_one_audit_event_with_every_record_it_changed(
    clinician: Any, clinician_client: Client
) -> None:
    encounter = start(clinician_client, clinician)
    before = AuditEvent.objects.count()
    response = clinician_client.post(
        f"/consultations/{encounter.pk}/imaging/",
        {
            "form": "procedure",
            "proc-kind": "fusion",
            "proc-performed_on": "2024-03-01",
            "proc-levels": "L5-S1",
            "proc-improved_after": "",
        },
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302
    [event] = AuditEvent.objects.filter(seq__gt=before).exclude(action="view")
    assert (event.username, event.address, event.patient_id) == (
        "clin",
        "10.9.8.7",
        encounter.patient_id,
    )
    assert event.what.startswith("prior Fusion 2024-03-01")
    assert [c["action"] for c in event.detail["changes"]] == ["create"]


def test_ten_parallel_posts_of_an_earlier_procedure_record_it_once(
    clinician: Any, transactional_db: Any
) -> None:
    client = signed_in(clinician)
    encounter = start(client, clinician)
    url = f"/consultations/{encounter.pk}/imaging/"
    data = {
        "form": "procedure",
        "proc-kind": "fusion",
        "proc-performed_on": "2024-03-01",
        "proc-levels": "L5-S1",
    }
    clients = [signed_in(clinician) for _ in range(10)]
    assert set(parallel_posts(clients, url, data)) == {302}
    assert PriorProcedure.objects.filter(patient=encounter.patient).count() == 1


def test_a_coordinators_import_records_no_imaging_red_flags(coordinator_client: Client) -> None:
    """The study's infection, malignancy and fracture are imaging findings: a clinician's."""
    document = json.loads((CASES / "01-pub-01.json").read_text())
    document["patient"]["id"] = "red-flags-by-import"
    document["imaging"][0].update({"malignancy": True, "fracture": "acute", "infection": True})
    response = coordinator_client.post(
        "/import/",
        {"file": _upload(document), "given_name": "Red", "family_name": "Flag"},
    )
    assert response.status_code == 302
    study = ImagingStudy.objects.get(patient__external_id="red-flags-by-import")
    assert (study.infection, study.malignancy, study.fracture, study.reviewed) == (
        None,
        None,
        "",
        False,
    )
    assert not study.levels.exists()


def test_an_import_into_a_chart_holding_the_same_mri_twice_is_no_error(
    clinician: Any, clinician_client: Client
) -> None:
    document = json.loads((CASES / "01-pub-01.json").read_text())
    document["patient"]["id"] = "twice-on-the-chart"
    first = clinician_client.post(
        "/import/", {"file": _upload(document), "given_name": "Twice", "family_name": "Chart"}
    )
    assert first.status_code == 302
    patient = Patient.objects.get(external_id="twice-on-the-chart")
    study = ImagingStudy.objects.get(patient=patient)
    # The same MRI on the same day again (as a DICOM upload can add it, with its UID).
    ImagingStudy.objects.create(
        patient=patient,
        modality=study.modality,
        performed_on=study.performed_on,
        reviewed=False,
        study_uid="1.2.3.4.5",
    )
    document["assessed_on"] = date.today().isoformat()
    again = clinician_client.post(
        "/import/",
        {"file": _upload(document), "patient": patient.pk, "confirm_changes": "on"},
    )
    assert again.status_code in (302, 409)
    assert ImagingStudy.objects.filter(patient=patient).count() == 2


def test_a_write_reads_its_day_and_the_policy_once(db: Any, monkeypatch: Any) -> None:
    """A write that runs over midnight, or while the clinic adopts a policy, sees one day and
    one policy from its start to its end."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    import time_machine

    from spinepath import actions
    from spinepath.actions import action, today_of_write
    from spinepath.actors import Actor
    from spinepath.web import policy as web_policy

    reads: list[str] = []
    real = web_policy._policy_now

    def counted(*, fresh: bool) -> Any:
        reads.append("fresh" if fresh else "cached")
        return real(fresh=fresh)

    monkeypatch.setattr(web_policy, "_policy_now", counted)
    monkeypatch.setattr(actions, "WRITES", dict(actions.WRITES))  # the test's write goes after
    seen: list[Any] = []
    before_midnight = datetime(2026, 12, 4, 23, 59, 59, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(before_midnight, tick=False) as clock:

        @action(None)
        def a_long_write(*, actor: Actor) -> None:
            seen.append((today_of_write(), web_policy.clinic_policy()))
            clock.shift(timedelta(seconds=2))  # past midnight
            seen.append((today_of_write(), web_policy.clinic_policy()))
            seen.append((today_of_write(), web_policy.clinic_policy(fresh=True)))
            seen.append((today_of_write(), web_policy.clinic_policy()))

        a_long_write(actor=Actor.system())
        assert {day for day, _ in seen} == {date(2026, 12, 4)}
        assert today_of_write() == date(2026, 12, 5)  # outside a write: the clock's day
    assert reads == ["cached", "fresh"]  # once, and once more when a signature asks fresh
    assert seen[2][1] is seen[3][1]
