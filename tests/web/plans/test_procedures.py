"""Procedures: one record per submission, dated honestly, within the plan, voided not deleted.

Each finding of "A record the clinic can trust" is tried from the outside, over HTTP.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from treatment_helpers import (
    DISC,
    accepted_plan_for,
    inject,
    injection_details,
    on_day,
    procedure_details,
    procedure_form_details,
    product_details,
    released,
    reviewed_patient,
    treated,
)
from web_helpers import (
    acting,
    adopt_policy,
    dashboard_due_and_measured,
    import_encounter,
    parallel_posts,
    signed_in,
)

from spinepath.consultations.actions import decision_sign
from spinepath.errors import Invalid, NotAllowed, Refused
from spinepath.followup.models import OutcomeMeasurement, ReassessmentVisit
from spinepath.followup.services import Answers, paper_form_enter
from spinepath.pathway.injections import Fluoroscopy, PreProcedureChecks
from spinepath.pathway.plans import Target
from spinepath.plans import acceptance, procedures, services
from spinepath.plans.models import CarePlan, PlanLine, Procedure

TODAY = date(2026, 11, 24)  # the suite's day: the decision below is signed on it


def logged_in(user: Any) -> Client:
    return signed_in(user)


def signed_patient(clinician: Any, token: str = "c" * 24, **changes: Any) -> Any:
    encounter = import_encounter(clinician, **changes)
    decision_sign(encounter=encounter, actor=acting(clinician), token=token)
    return encounter.patient


@pytest.fixture
def plan(clinician: Any) -> CarePlan:
    return services.plan_create(patient=signed_patient(clinician), actor=acting(clinician))


def accept(plan: CarePlan, user: Any) -> CarePlan:
    """``plan`` released by the clinician who signed its decision (if still a draft), then
    accepted in the clinic before ``user``."""
    plan.refresh_from_db()
    if plan.status == CarePlan.DRAFT:
        plan = released(plan, plan.decision.signed_by)
    return acceptance.plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(user))


def record(patient: Any, user: Any, **changes: Any) -> Procedure:
    values: dict[str, Any] = {
        "target": DISC,
        "performed_on": TODAY,
        "material": "msc",
        "guidance": "fluoroscopy",
        **injection_details(time_out_by=user),
    }
    values.update(changes)
    return procedures.procedure_record(patient=patient, actor=acting(user), **values)


def form_post(client: Client, patient: Any, **changes: str) -> Any:
    """Open the procedure form, then send it as a browser would (with the key it carries)."""
    page = client.get(f"/patients/{patient.pk}/procedures/new/")
    form = page.context["form"]
    data = {
        "submission": form["submission"].value(),
        "target": "discogenic|L4-L5|",
        "performed_on": TODAY.isoformat(),
        "material": "msc",
        "guidance": "fluoroscopy",
        # The time-out led by the first member of staff the form offers.
        **procedure_form_details(form.fields["time_out_by"].queryset.first()),
    }
    data.update(changes)
    return data


# --- the gate, as before ---------------------------------------------------------------------


def test_no_procedure_without_an_accepted_plan(plan: CarePlan, clinician: Any) -> None:
    with pytest.raises(procedures.ProcedureRefused) as refused:
        record(plan.patient, clinician)
    assert refused.value.reasons == ["there is no written plan accepted by the patient"]


def test_procedure_with_an_accepted_plan_is_recorded(plan: CarePlan, clinician: Any) -> None:
    accept(plan, clinician)
    procedure = record(plan.patient, clinician, dose="10 million cells")
    assert procedure.plan == plan and procedure.operator == clinician


def test_no_procedure_at_a_target_the_plan_does_not_list(plan: CarePlan, clinician: Any) -> None:
    accept(plan, clinician)
    with pytest.raises(procedures.ProcedureRefused) as refused:
        record(plan.patient, clinician, target=Target("discogenic", "L5-S1", None))
    assert refused.value.reasons == ["the accepted plan does not list L5-S1 disc"]


def test_no_procedure_once_the_mri_is_too_old(plan: CarePlan, clinician: Any) -> None:
    accept(plan, clinician)
    # Recorded on that day (a day in the future is refused before anything else).
    with on_day(date(2027, 8, 21)), pytest.raises(procedures.ProcedureRefused) as refused:
        record(plan.patient, clinician, performed_on=date(2027, 8, 21))
    assert any("older than 12 months" in r for r in refused.value.reasons)


def test_no_procedure_when_the_decision_is_no_longer_candidate(
    plan: CarePlan, clinician: Any
) -> None:
    accept(plan, clinician)
    later = import_encounter(
        clinician, patient=plan.patient, history__conservative_care__status="improving"
    )
    decision_sign(encounter=later, actor=acting(clinician), token="z" * 24)
    with pytest.raises(procedures.ProcedureRefused) as refused:
        record(plan.patient, clinician)
    assert "the decision in force is 'not_candidate', not 'candidate'" in refused.value.reasons


def test_a_coordinator_cannot_record_a_procedure(
    plan: CarePlan, clinician: Any, coordinator: Any, coordinator_client: Client
) -> None:
    accept(plan, clinician)
    with pytest.raises(NotAllowed):
        record(plan.patient, coordinator)
    response = coordinator_client.post(
        f"/patients/{plan.patient_id}/procedures/new/",
        {
            "target": "discogenic|L4-L5|",
            "performed_on": "2026-11-20",
            "material": "msc",
            "guidance": "fluoroscopy",
            **procedure_form_details(clinician),
        },
    )
    assert response.status_code == 403
    assert not Procedure.objects.exists()


def test_the_refusal_page_says_which_condition_failed(
    clinician_client: Client, plan: CarePlan
) -> None:
    response = clinician_client.post(
        f"/patients/{plan.patient_id}/procedures/new/", form_post(clinician_client, plan.patient)
    )
    assert response.status_code == 400
    assert b"There is no written plan accepted by the patient" in response.content


def test_the_wrong_material_is_refused(plan: CarePlan, clinician: Any) -> None:
    accept(plan, clinician)
    with pytest.raises(procedures.ProcedureRefused, match="not injected with platelet-rich"):
        record(plan.patient, clinician, material="prp", **product_details("prp"))


# --- one record per submission -----------------------------------------------------------------


def test_a_double_click_records_one_procedure(
    plan: CarePlan, clinician: Any, clinician_client: Client
) -> None:
    accept(plan, clinician)
    data = form_post(clinician_client, plan.patient)
    url = f"/patients/{plan.patient_id}/procedures/new/"
    first = clinician_client.post(url, data)
    second = clinician_client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert Procedure.objects.count() == 1
    assert Procedure.objects.get().submission_key == data["submission"]


def test_a_form_without_its_key_records_nothing(
    plan: CarePlan, clinician: Any, clinician_client: Client
) -> None:
    accept(plan, clinician)
    data = form_post(clinician_client, plan.patient)
    for key in ("", "short", "x" * 65, "not a key!" * 3):
        response = clinician_client.post(
            f"/patients/{plan.patient_id}/procedures/new/", {**data, "submission": key}
        )
        assert response.status_code == 400
        assert b"This form has expired" in response.content
    assert not Procedure.objects.exists()


def test_each_opened_form_is_its_own_submission(clinician: Any, clinician_client: Client) -> None:
    patient = reviewed_patient(clinician, TODAY - timedelta(days=20), "two-sessions")
    accepted_plan_for(patient, clinician, TODAY - timedelta(days=15), sessions=2)
    url = f"/patients/{patient.pk}/procedures/new/"
    day = (TODAY - timedelta(days=10)).isoformat()
    first = clinician_client.post(url, form_post(clinician_client, patient, performed_on=day))
    assert first.status_code == 302
    assert clinician_client.post(url, form_post(clinician_client, patient)).status_code == 302
    assert Procedure.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_posts_of_one_form_record_one_procedure(clinician: Any) -> None:
    patient = reviewed_patient(clinician, TODAY - timedelta(days=20), "parallel")
    accepted_plan_for(patient, clinician, TODAY - timedelta(days=15), sessions=3)
    clients = [logged_in(clinician) for _ in range(10)]
    data = form_post(clients[0], patient)
    url = f"/patients/{patient.pk}/procedures/new/"
    assert parallel_posts(clients, url, data) == [302] * 10
    assert Procedure.objects.count() == 1
    assert ReassessmentVisit.objects.filter(patient=patient).count() == 5


# --- dated on or after the decision and the acceptance, never in the future -------------------


@pytest.fixture
def planned(clinician: Any) -> Any:
    """Reviewed and signed on 1 November, plan accepted on 10 November."""
    patient = reviewed_patient(clinician, date(2026, 11, 1), "dated")
    accepted_plan_for(patient, clinician, date(2026, 11, 10))
    return patient


def test_a_procedure_dated_before_the_decision_is_refused(
    planned: Any, clinician_client: Client
) -> None:
    url = f"/patients/{planned.pk}/procedures/new/"
    response = clinician_client.post(
        url, form_post(clinician_client, planned, performed_on="2026-10-31")
    )
    assert response.status_code == 400
    assert b"2026-10-31 is before the candidacy decision signed on 2026-11-01" in response.content
    assert not Procedure.objects.exists()


def test_a_procedure_dated_before_the_plan_was_accepted_is_refused(
    planned: Any, clinician_client: Client
) -> None:
    url = f"/patients/{planned.pk}/procedures/new/"
    response = clinician_client.post(
        url, form_post(clinician_client, planned, performed_on="2026-11-05")
    )
    assert response.status_code == 400
    assert b"2026-11-05 is before the patient accepted the plan on 2026-11-10" in response.content
    assert not Procedure.objects.exists()


def test_a_procedure_dated_in_the_future_is_refused(planned: Any, clinician_client: Client) -> None:
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    url = f"/patients/{planned.pk}/procedures/new/"
    response = clinician_client.post(
        url, form_post(clinician_client, planned, performed_on=tomorrow)
    )
    assert response.status_code == 400
    assert f"{tomorrow} is in the future".encode() in response.content
    assert not Procedure.objects.exists()


def test_a_procedure_on_the_day_of_the_acceptance_is_recorded(
    planned: Any, clinician_client: Client
) -> None:
    url = f"/patients/{planned.pk}/procedures/new/"
    response = clinician_client.post(
        url, form_post(clinician_client, planned, performed_on="2026-11-10")
    )
    assert response.status_code == 302
    assert Procedure.objects.get().performed_on == date(2026, 11, 10)


# --- no more injections per target than the accepted plan holds --------------------------------


def test_no_more_sessions_than_the_plan_holds(planned: Any, clinician_client: Client) -> None:
    url = f"/patients/{planned.pk}/procedures/new/"
    first = clinician_client.post(
        url, form_post(clinician_client, planned, performed_on="2026-11-12")
    )
    assert first.status_code == 302
    second = clinician_client.post(url, form_post(clinician_client, planned))
    assert second.status_code == 400
    assert (
        b"The accepted plan holds 1 injection at L4-L5 disc and 1 injection is already recorded"
        in second.content
    )
    assert Procedure.objects.count() == 1


# --- a wrong entry is voided with a reason, never deleted ------------------------------------


def test_a_clinician_voids_a_wrong_entry_and_it_stays_struck_through(
    planned: Any, clinician: Any, clinician_client: Client
) -> None:
    wrong = inject(planned, clinician, date(2026, 11, 12))
    page = clinician_client.get(f"/procedures/{wrong.pk}/void/")
    assert page.status_code == 200 and b"Void this entry" in page.content
    response = clinician_client.post(
        f"/procedures/{wrong.pk}/void/", {"reason": "Entered for the wrong patient"}
    )
    assert response.status_code == 302
    wrong.refresh_from_db()
    assert wrong.voided_by == clinician and wrong.voided_at is not None
    listing = clinician_client.get(f"/patients/{planned.pk}/procedures/new/").content.decode()
    struck = listing.split("<del>", 1)[1].split("</del>", 1)[0]
    assert "2026-11-12" in struck
    assert "voided</span>" in listing and "by Ana Rivera on" in listing
    assert "Entered for the wrong patient" in listing
    assert Procedure.objects.count() == 1  # kept, never deleted


def test_voiding_needs_a_reason_and_a_clinician(
    planned: Any, clinician: Any, clinician_client: Client, coordinator_client: Client
) -> None:
    wrong = inject(planned, clinician, date(2026, 11, 12))
    empty = clinician_client.post(f"/procedures/{wrong.pk}/void/", {"reason": "   "})
    assert empty.status_code == 400
    refused = coordinator_client.post(f"/procedures/{wrong.pk}/void/", {"reason": "Wrong"})
    assert refused.status_code == 403
    wrong.refresh_from_db()
    assert wrong.voided_at is None


def test_voiding_twice_voids_once(planned: Any, clinician: Any) -> None:
    wrong = inject(planned, clinician, date(2026, 11, 12))
    first = procedures.procedure_void(procedure=wrong, actor=acting(clinician), reason="Typo")
    second = procedures.procedure_void(procedure=wrong, actor=acting(clinician), reason="Again")
    assert second.voided_at == first.voided_at and second.void_reason == "Typo"


def test_a_voided_entry_frees_its_session(
    planned: Any, clinician: Any, clinician_client: Client
) -> None:
    wrong = inject(planned, clinician, date(2026, 11, 12))
    clinician_client.post(f"/procedures/{wrong.pk}/void/", {"reason": "Wrong date"})
    url = f"/patients/{planned.pk}/procedures/new/"
    response = clinician_client.post(
        url, form_post(clinician_client, planned, performed_on="2026-11-13")
    )
    assert response.status_code == 302
    assert Procedure.objects.not_voided().get().performed_on == date(2026, 11, 13)


def test_voiding_the_last_injection_moves_the_schedule_back(
    clinician: Any, clinician_client: Client
) -> None:
    today = timezone.localdate()
    patient = treated(clinician, 60, sessions=2)
    first = Procedure.objects.get(patient=patient)
    wrong = inject(patient, clinician, today - timedelta(days=20))
    six_weeks = ReassessmentVisit.objects.get(patient=patient, key="6w")
    assert six_weeks.due == wrong.performed_on + timedelta(weeks=6)
    clinician_client.post(f"/procedures/{wrong.pk}/void/", {"reason": "Not done that day"})
    six_weeks.refresh_from_db()
    assert six_weeks.anchor == first
    assert six_weeks.due == first.performed_on + timedelta(weeks=6)
    page = clinician_client.get(f"/visits/{six_weeks.pk}/")
    assert f"counted from the injection of {first.performed_on}".encode() in page.content


def test_a_voided_injection_leaves_the_outcomes(clinician: Any, clinician_client: Client) -> None:
    today = timezone.localdate()
    patient = treated(clinician, 100)
    six_weeks = ReassessmentVisit.objects.get(patient=patient, key="6w")
    paper_form_enter(
        actor=acting(clinician),
        visit=six_weeks,
        measured_on=today - timedelta(days=58),
        answers=Answers(40, "vas", [2] * 10),
    )

    assert dashboard_due_and_measured(clinician_client, "6 weeks") == (1, 1)
    injection = Procedure.objects.get(patient=patient)
    with on_day(today):
        clinician_client.post(f"/procedures/{injection.pk}/void/", {"reason": "Never done"})
    assert dashboard_due_and_measured(clinician_client, "6 weeks") == (0, 0)
    assert OutcomeMeasurement.objects.filter(patient=patient).count() == 1  # kept
    csv = b"".join(clinician_client.get("/outcomes/export/cohort.csv").streaming_content)
    assert patient.mrn.encode() not in csv
    # Only the measured visit stays (its answers are a record); the others are gone.
    assert list(
        ReassessmentVisit.objects.filter(patient=patient).values_list("key", flat=True)
    ) == ["6w"]


def test_a_second_plan_from_the_same_decision_gives_no_second_course(
    plan: CarePlan, clinician: Any, coordinator: Any
) -> None:
    """Attack: instead of revising, 'write a plan' again made a fresh plan from the same
    decision, and each accepted plan allowed another injection at the same target."""
    from spinepath.plans import services as plan_services
    from spinepath.plans.procedures import procedure_record

    accept(plan, clinician)
    line = plan.lines.get(phase="inject")
    target = Target(line.generator, line.level or None, line.side or None)
    today = timezone.localdate()
    procedure_record(
        patient=plan.patient,
        actor=acting(clinician),
        target=target,
        performed_on=today,
        material=line.material,
        guidance=line.guidance,
        **injection_details(time_out_by=clinician),
    )
    again = plan_services.plan_create(patient=plan.patient, actor=acting(coordinator))
    assert again.supersedes_id == plan.pk
    accept(again, clinician)
    with pytest.raises(Refused) as refused:
        procedure_record(
            patient=plan.patient,
            actor=acting(clinician),
            target=target,
            performed_on=today,
            material=line.material,
            guidance=line.guidance,
            **injection_details(time_out_by=clinician),
        )
    assert "already recorded" in str(refused.value)
    assert Procedure.objects.filter(voided_at__isnull=True).count() == 1


# --- the product named: a lot of the kind the plan gives, under its IND (issue 26) ------------


def test_no_injection_is_recorded_without_its_lot(
    planned: Any, clinician: Any, clinician_client: Client
) -> None:
    with pytest.raises(Invalid) as refused:
        record(planned, clinician, lot_code="   ", dose_measured=None)
    assert refused.value.fields == {"lot_code": "Scan or type the code on the product's label."}
    url = f"/patients/{planned.pk}/procedures/new/"
    response = clinician_client.post(
        url, form_post(clinician_client, planned, lot_code="", performed_on="2026-11-12")
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["lot_code"] == ["Scan or type the code on the product's label."]
    assert form["performed_on"].value() == "2026-11-12"  # what was entered stays
    assert not Procedure.objects.exists()


def test_a_lot_of_another_kind_than_the_plan_gives_is_refused(planned: Any, clinician: Any) -> None:
    """The accepted plan gives point-of-care marrow at the disc: fat-derived cells are MSC too,
    and are refused all the same."""
    with pytest.raises(Invalid) as refused:
        record(planned, clinician, **product_details("adipose"))
    assert refused.value.codes == ["lot_not_planned"]
    assert refused.value.fields["lot_code"] == (
        "This lot is adipose-derived cells: the accepted plan gives autologous bone marrow "
        "concentrate at L4-L5 disc."
    )
    assert not Procedure.objects.exists()


def _accepted_with_expanded_cells(clinician: Any, ind_number: str) -> Any:
    """Reviewed on 1 November; a plan accepted on 10 November giving, at the disc, marrow
    concentrate and culture-expanded MSC under ``ind_number``."""
    patient = reviewed_patient(clinician, date(2026, 11, 1), "expanded")
    with on_day(date(2026, 11, 10), 11):
        plan = services.plan_create(patient=patient, actor=acting(clinician))
        services.plan_injection_add(
            plan=plan,
            actor=acting(clinician),
            target=DISC,
            material="msc",
            guidance="fluoroscopy",
            product_kind="msc_expanded",
            ind_number=ind_number,
        )
        acceptance.plan_accept(
            plan=released(plan, clinician), typed_name="Maria Lopez", actor=acting(clinician)
        )
    return patient


def test_cells_under_an_ind_are_recorded_with_the_plans_ind_number(clinician: Any) -> None:
    patient = _accepted_with_expanded_cells(clinician, "IND 012345")
    expanded = record(patient, clinician, **product_details("msc_expanded"))
    assert (expanded.lot.product.kind, expanded.ind_number) == ("msc_expanded", "IND 012345")
    marrow = record(patient, clinician)
    assert (marrow.lot.product.kind, marrow.ind_number) == ("bmac", "")


def test_a_lot_under_an_ind_is_refused_when_the_plan_gives_no_ind_number(
    clinician: Any,
) -> None:
    """A line written before plans named the kind admits any kind of its material, but never
    cells under an IND without the IND number."""
    patient = reviewed_patient(clinician, date(2026, 11, 1), "no-ind")
    accepted_plan_for(patient, clinician, date(2026, 11, 10))
    PlanLine.objects.filter(plan__patient=patient, phase="inject").update(product_kind="")
    with pytest.raises(Invalid) as refused:
        record(patient, clinician, **product_details("msc_expanded"))
    assert refused.value.codes == ["ind_required"]
    assert refused.value.fields["lot_code"].startswith(
        "This lot is culture-expanded MSC, which the FDA regulates as a drug or biologic"
    )
    assert "no IND number for it at L4-L5 disc" in refused.value.fields["lot_code"]
    assert not Procedure.objects.exists()
    assert record(patient, clinician, **product_details("adipose")).ind_number == ""


def test_a_kind_the_policy_put_under_an_ind_after_the_acceptance_is_refused(
    planned: Any, clinician: Any, admin_user: Any, clinician_client: Client
) -> None:
    adopt_policy('name = "trial"\nversion = "1"\n[regulatory_routes]\nbmac = "ind"\n', admin_user)
    with pytest.raises(Invalid) as refused:
        record(planned, clinician)
    assert refused.value.codes == ["ind_required"]
    response = clinician_client.post(
        f"/patients/{planned.pk}/procedures/new/",
        form_post(clinician_client, planned, performed_on="2026-11-12"),
    )
    assert response.status_code == 400
    assert "regulates as a drug or biologic" in response.context["form"].errors["lot_code"][0]
    assert not Procedure.objects.exists()


# --- the checks, the volume per level and the fluoroscopy (issue 26) --------------------------


def test_no_injection_is_recorded_with_a_check_left_unticked(
    planned: Any, clinician: Any, clinician_client: Client
) -> None:
    with pytest.raises(Invalid) as refused:
        record(planned, clinician, checks=PreProcedureChecks())
    assert set(refused.value.fields) == {
        "consent_confirmed",
        "site_marked",
        "time_out_done",
        "time_out_by",
    }
    url = f"/patients/{planned.pk}/procedures/new/"
    for unticked in ("consent_confirmed", "site_marked", "time_out_done"):
        data = form_post(clinician_client, planned, performed_on="2026-11-12")
        del data[unticked]
        response = clinician_client.post(url, data)
        assert response.status_code == 400
        form = response.context["form"]
        assert list(form.errors) == [unticked]
        assert form["lot_code"].value() == data["lot_code"]  # what was entered stays
        assert form["volume_ml"].value() == "1.5"
    assert not Procedure.objects.exists()


def test_the_time_out_is_led_by_an_active_member_of_staff(
    planned: Any, clinician: Any, coordinator: Any
) -> None:
    from django.contrib.auth.models import User

    outsider = User.objects.create_user("not-staff", password="x" * 20)
    coordinator.is_active = False
    coordinator.save()
    for leader in (outsider, coordinator):
        with pytest.raises(Invalid) as refused:
            record(planned, clinician, **procedure_details(time_out_by=leader))
        assert refused.value.fields == {
            "time_out_by": "Choose who led the time-out from the clinic's staff."
        }
    assert not Procedure.objects.exists()


@pytest.mark.parametrize("volume", [None, Decimal(0), Decimal("-1"), Decimal("25")])
def test_the_volume_per_level_is_required_and_plausible(
    planned: Any, clinician: Any, volume: Decimal | None
) -> None:
    with pytest.raises(Invalid) as refused:
        record(planned, clinician, volume_ml=volume)
    assert set(refused.value.fields) == {"volume_ml"}
    assert "per level" in refused.value.fields["volume_ml"]


def test_fluoroscopy_without_its_time_and_air_kerma_is_refused(
    planned: Any, clinician: Any, clinician_client: Client
) -> None:
    with pytest.raises(Invalid) as refused:
        record(planned, clinician, fluoroscopy=Fluoroscopy())
    assert set(refused.value.fields) == {"fluoroscopy_seconds", "air_kerma_mgy"}
    response = clinician_client.post(
        f"/patients/{planned.pk}/procedures/new/",
        form_post(clinician_client, planned, performed_on="2026-11-12", air_kerma_mgy=""),
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["air_kerma_mgy"]
    assert not Procedure.objects.exists()


def test_a_ct_guided_injection_records_no_fluoroscopy(planned: Any, clinician: Any) -> None:
    with pytest.raises(Invalid) as refused:
        record(planned, clinician, guidance="ct")  # with the fluoroscopy of another injection
    assert set(refused.value.fields) == {"fluoroscopy_seconds", "air_kerma_mgy"}
    done = record(planned, clinician, guidance="ct", fluoroscopy=Fluoroscopy())
    assert (done.fluoroscopy_seconds, done.air_kerma_mgy) == (None, None)


def test_every_refusal_is_said_at_once_on_its_field(planned: Any, clinician_client: Client) -> None:
    data = form_post(clinician_client, planned, lot_code="NOT-A-LOT", volume_ml="")
    for name in ("consent_confirmed", "fluoroscopy_seconds"):
        del data[name]
    response = clinician_client.post(f"/patients/{planned.pk}/procedures/new/", data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {
        "lot_code",
        "volume_ml",
        "consent_confirmed",
        "fluoroscopy_seconds",
    }


def test_the_record_shows_the_product_the_checks_and_the_fluoroscopy(
    planned: Any, clinician: Any, coordinator: Any, clinician_client: Client
) -> None:
    details = {**procedure_details(time_out_by=coordinator), "volume_ml": Decimal(2)}
    record(planned, clinician, **details)
    done = Procedure.objects.get()
    assert (done.operator, done.time_out_by) == (clinician, coordinator)
    assert (done.consent_confirmed, done.site_marked, done.time_out_done) == (True, True, True)
    assert (done.fluoroscopy_seconds, done.air_kerma_mgy) == (40, Decimal("5.20"))
    for page in (
        clinician_client.get(f"/patients/{planned.pk}/procedures/new/"),
        clinician_client.get(f"/patients/{planned.pk}/"),
    ):
        text = page.content.decode()
        assert "Autologous bone marrow concentrate, autologous, code TEST-BMAC-0001" in text
        assert "made or processed by Test cell laboratory (FEI 3000000001)" in text
        assert "10.00 million cells, 92.0% viable" in text
        assert "2.00 ml per level" in text
        assert "fluoroscopy 40 s, air kerma 5.20 mGy" in text
        assert "consent confirmed, site marked, time-out led by coord" in text


def test_the_fhir_procedure_carries_the_fluoroscopy_the_checks_and_who(
    clinician: Any, coordinator: Any
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    from spinepath.records.fhir import SPINEPATH_EXTENSIONS, patient_bundle

    patient = _accepted_with_expanded_cells(clinician, "IND 012345")
    record(
        patient,
        clinician,
        **product_details("msc_expanded"),
        **procedure_details(time_out_by=coordinator),
    )
    resources = [e["resource"] for e in patient_bundle(patient)["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    injection = next(r for r in resources if r["id"].startswith("inj"))
    assert injection["performer"] == [
        {"function": {"text": "operator"}, "actor": {"display": "Ana Rivera"}},
        {"function": {"text": "time-out leader"}, "actor": {"display": "coord"}},
    ]
    extensions = {
        e["url"].removeprefix(f"{SPINEPATH_EXTENSIONS}/"): e for e in injection["extension"]
    }
    assert extensions["volume-per-level"]["valueQuantity"]["value"] == 1.5
    assert {e["url"]: e["valueQuantity"] for e in extensions["fluoroscopy"]["extension"]} == {
        "time": {"value": 40.0, "unit": "s", "system": "http://unitsofmeasure.org", "code": "s"},
        "airKerma": {
            "value": 5.2,
            "unit": "mGy",
            "system": "http://unitsofmeasure.org",
            "code": "mGy",
        },
    }
    checks = extensions["pre-procedure-checks"]["extension"]
    assert {e["url"]: e["valueBoolean"] for e in checks} == {
        "consentConfirmed": True,
        "siteMarked": True,
        "timeOutPerformed": True,
    }
    assert extensions["ind-number"]["valueString"] == "IND 012345"
