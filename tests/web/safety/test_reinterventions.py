"""Re-intervention at a treated level (PATHWAY.md section 10, issue 26): a spine surgery or an
injection elsewhere, recorded from the chart by any staff member, never deleted; the clinic's
own later injection at the level counts by itself from its procedure record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from treatment_helpers import accepted_plan_for, inject, on_day, treated
from web_helpers import acting, import_encounter

from spinepath.errors import Invalid, NotAllowed
from spinepath.plans.models import Procedure
from spinepath.safety import services
from spinepath.safety.models import KeptForever, Reintervention
from spinepath.safety.selectors import first_reinterventions, patient_reinterventions

pytestmark = pytest.mark.django_db


def _days_ago(days: int) -> Any:
    return timezone.localdate() - timedelta(days=days)


def _form(client: Client, patient: Any, **changes: str) -> dict[str, str]:
    page = client.get(f"/patients/{patient.pk}/reinterventions/new/")
    assert page.status_code == 200
    form = page.context["form"]
    values = {
        "submission": form["submission"].value(),
        "procedure": str(form["procedure"].value()),
        "kind": "surgery",
        "performed_on": _days_ago(30).isoformat(),
        "level": "L4-L5",
        "side": "",
        "description": "L4-L5 fusion at the county hospital",
        "source": "reported_by_patient",
    }
    values.update(changes)
    return values


def test_a_coordinator_records_what_the_patient_reports_from_the_chart_once(
    clinician: Any, coordinator_client: Client
) -> None:
    patient = treated(clinician, days_ago=200)
    chart = coordinator_client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Record a re-intervention" in chart
    assert "No re-intervention at a treated level recorded." in chart
    form = _form(coordinator_client, patient)
    first = coordinator_client.post(f"/patients/{patient.pk}/reinterventions/new/", form)
    again = coordinator_client.post(f"/patients/{patient.pk}/reinterventions/new/", form)
    assert first.status_code == again.status_code == 302
    record = Reintervention.objects.get()
    assert (record.kind, record.level, record.recorded_role) == ("surgery", "L4-L5", "coordinator")
    chart = coordinator_client.get(f"/patients/{patient.pk}/").content.decode()
    assert "L4-L5 fusion at the county hospital" in chart
    assert "Reported by the patient" in chart
    plan_id = Procedure.objects.get(patient=patient).plan_id
    assert first_reinterventions() == {plan_id: _days_ago(30)}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"performed_on": "2999-01-01"}, "performed_on", "is in the future"),
        ({"performed_on": "2020-01-01"}, "performed_on", "is not after the injection"),
        ({"level": "L2-L3"}, "level", "is not at the treated level"),
        ({"level": ""}, "level", "is not at the treated level"),
        ({"kind": ""}, "kind", "Choose a spine surgery or an injection."),
        ({"source": ""}, "source", "Say where this comes from"),
        ({"description": " "}, "description", "Say what was done"),
    ],
)
def test_a_refusal_names_the_field_and_keeps_the_entry(
    clinician: Any, coordinator_client: Client, changes: dict[str, str], field: str, words: str
) -> None:
    patient = treated(clinician, days_ago=200)
    form = _form(coordinator_client, patient, **changes)
    posted = coordinator_client.post(f"/patients/{patient.pk}/reinterventions/new/", form)
    assert posted.status_code == 400
    errors = posted.context["form"].errors
    assert field in errors and words in " ".join(errors[field])
    assert not Reintervention.objects.exists()


def test_a_voided_injection_or_another_patients_is_no_treated_level(clinician: Any) -> None:
    patient = treated(clinician, days_ago=200)
    other = treated(clinician, days_ago=150, email="other@example.org")
    theirs = Procedure.objects.get(patient=other)
    kwargs: dict[str, Any] = {
        "actor": acting(clinician),
        "patient": patient,
        "kind": "surgery",
        "performed_on": _days_ago(10),
        "level": "L4-L5",
        "side": "",
        "description": "Fusion",
        "source": "recorded",
    }
    with pytest.raises(Invalid) as caught:
        services.reintervention_record(procedure_id=theirs.pk, **kwargs)
    assert "procedure" in caught.value.fields


def _new_course(patient: Any, clinician: Any, injected: Any) -> Procedure:
    """A new consultation signed for ``patient`` (an MRI a month before it), a plan accepted
    and an injection at the disc on ``injected``: another course of treatment."""
    from spinepath.consultations.actions import decision_sign

    review = injected - timedelta(days=10)
    mri = {
        "modality": "MRI",
        "date": (review - timedelta(days=30)).isoformat(),
        "reviewed": True,
        "levels": [
            {
                "level": "L4-L5",
                "pfirrmann": 4,
                "disc_height_loss_pct": 20,
                "endplate_bone_on_bone": False,
            }
        ],
    }
    with on_day(review):
        encounter = import_encounter(
            clinician,
            patient=patient,
            assessed_on=review.isoformat(),
            imaging=[mri],
            patient__id=patient.external_id or "t-again",
        )
        decision_sign(encounter=encounter, actor=acting(clinician), token="again".ljust(24, "x"))
    # The new plan supersedes the first one, whose injection counts against it (the standing's
    # course of treatment follows the versions): it holds a second injection at the disc.
    accepted_plan_for(patient, clinician, review, sessions=2)
    with on_day(injected):
        return inject(patient, clinician, injected)


def test_a_second_session_of_the_same_course_is_the_treatment_even_on_a_revised_plan(
    clinician: Any,
) -> None:
    patient = treated(clinician, days_ago=200)
    first = Procedure.objects.get(patient=patient)
    revised, given = _days_ago(190), _days_ago(170)
    accepted_plan_for(patient, clinician, revised, sessions=2)  # revised: version 2
    with on_day(given):
        second = inject(patient, clinician, given)
    assert second.plan_id != first.plan_id and second.plan.decision_id == first.plan.decision_id
    assert patient_reinterventions(patient) == [] and first_reinterventions() == {}


def test_the_clinics_own_injection_of_a_later_course_counts_by_itself_and_is_not_typed(
    clinician: Any, clinician_client: Client
) -> None:
    patient = treated(clinician, days_ago=400)
    first = Procedure.objects.get(patient=patient)
    again = _days_ago(60)
    second = _new_course(patient, clinician, again)
    assert second.plan.decision_id != first.plan.decision_id
    rows = patient_reinterventions(patient)
    assert [(r.performed_on, r.after) for r in rows] == [
        (again, f"the injection of {first.performed_on}")
    ]
    assert first_reinterventions() == {first.plan_id: again}
    typed = clinician_client.post(
        f"/patients/{patient.pk}/reinterventions/new/",
        _form(
            clinician_client,
            patient,
            procedure=str(first.pk),
            kind="injection",
            performed_on=again.isoformat(),
        ),
    )
    assert typed.status_code == 400
    assert "counts as a re-intervention by itself" in " ".join(typed.context["form"].errors["kind"])


def test_a_spine_surgery_a_later_consultation_lists_counts_at_the_treated_level(
    clinician: Any,
) -> None:
    from spinepath.consultations.models import PriorProcedure

    patient = treated(clinician, days_ago=300)
    plan_id = Procedure.objects.get(patient=patient).plan_id
    PriorProcedure.objects.create(
        patient=patient, kind="discectomy", performed_on=_days_ago(100), levels=["L3-L4"]
    )
    assert first_reinterventions() == {}  # another level
    PriorProcedure.objects.create(
        patient=patient, kind="fusion", performed_on=_days_ago(50), levels=["L4-L5", "L5-S1"]
    )
    assert first_reinterventions() == {plan_id: _days_ago(50)}
    assert [r.what for r in patient_reinterventions(patient)] == ["Fusion"]


def test_what_a_clinician_recorded_only_a_clinician_marks_in_error_and_nothing_is_deleted(
    clinician: Any, coordinator: Any, coordinator_client: Client, clinician_client: Client
) -> None:
    patient = treated(clinician, days_ago=200)
    record = services.reintervention_record(
        actor=acting(clinician),
        patient=patient,
        procedure_id=Procedure.objects.get(patient=patient).pk,
        kind="surgery",
        performed_on=_days_ago(20),
        level="L4-L5",
        side="left",
        description="Microdiscectomy, operative note received",
        source="recorded",
    )
    page = coordinator_client.get(f"/safety/reinterventions/{record.pk}/").content.decode()
    assert "only a clinician marks it entered in error" in page
    refused = coordinator_client.post(
        f"/safety/reinterventions/{record.pk}/", {"reason": "Patient says it never happened"}
    )
    assert refused.status_code == 403
    with pytest.raises(NotAllowed):
        services.reintervention_in_error(
            actor=acting(coordinator), reintervention_id=record.pk, reason="No"
        )
    with pytest.raises(KeptForever):
        record.delete()
    with pytest.raises(KeptForever):
        Reintervention.objects.filter(pk=record.pk).delete()
    with pytest.raises(KeptForever):
        Reintervention.objects.filter(pk=record.pk).update(level="L3-L4")
    for method in ("delete", "put", "patch"):
        response = getattr(clinician_client, method)(f"/safety/reinterventions/{record.pk}/")
        assert response.status_code == 405
    marked = clinician_client.post(
        f"/safety/reinterventions/{record.pk}/", {"reason": "Wrong patient's letter"}
    )
    assert marked.status_code == 302
    record.refresh_from_db()
    assert record.in_error and record.in_error_by == clinician
    assert first_reinterventions() == {}  # no longer counts
    chart = clinician_client.get(f"/patients/{patient.pk}/").content.decode()
    assert "entered in error" in chart and "Microdiscectomy" in chart


def test_a_patient_has_no_route_to_record_one(clinician: Any) -> None:
    from portal_helpers import signed_in_portal

    patient = treated(clinician, days_ago=200)
    client = signed_in_portal(patient)
    url = f"/patients/{patient.pk}/reinterventions/new/"
    assert client.get(url).status_code in (302, 403)
    posted = client.post(
        url,
        {
            "procedure": str(Procedure.objects.get(patient=patient).pk),
            "kind": "surgery",
            "performed_on": _days_ago(5).isoformat(),
            "level": "L4-L5",
            "description": "x",
            "source": "reported_by_patient",
            "submission": "p" * 24,
        },
    )
    assert posted.status_code in (302, 403)
    assert not Reintervention.objects.exists()
