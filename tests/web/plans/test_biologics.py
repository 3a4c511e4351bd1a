"""The biologic injected is traceable (PATHWAY.md section 10, issue 26): a catalogue of
products and lots the clinic admin keeps, a lot scanned into the procedure record and refused
when expired, of another material or without its dose, and the look-back that finds exactly
the patients who received a lot."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from treatment_helpers import accepted_plan_for, inject, procedure_form_details, reviewed_patient
from web_helpers import acting

from spinepath.audit.models import AuditEvent
from spinepath.cli import main as cli
from spinepath.errors import Conflict, Invalid, NotAllowed
from spinepath.pathway.biologics import Dose, dose_problems, lot_problems, source_problem
from spinepath.plans.biologics import lookback, lot_by_code, lot_create, product_create
from spinepath.plans.models import Procedure
from spinepath.plans.procedures import procedure_void

pytestmark = pytest.mark.django_db


def test_a_lot_of_another_material_or_expired_on_the_day_is_refused() -> None:
    day = date(2026, 11, 24)
    assert lot_problems(kind="bmac", material="msc", expires_on=day, performed_on=day) == {}
    expired = lot_problems(
        kind="bmac", material="msc", expires_on=day - timedelta(days=1), performed_on=day
    )
    assert expired == {"lot": "This lot expired on 2026-11-23, before the injection on 2026-11-24."}
    other = lot_problems(kind="prp", material="msc", expires_on=day, performed_on=day)
    assert "not the material recorded" in other["lot"]


def test_the_dose_names_what_its_kind_needs() -> None:
    assert set(dose_problems("bmac", Dose())) == {"cells_million", "viability_pct"}
    assert dose_problems("bmac", Dose(Decimal(10), Decimal(92))) == {}
    assert "viability_pct" in dose_problems("bmac", Dose(Decimal(10), Decimal(120)))
    assert set(dose_problems("prp", Dose())) == {"platelets_k_per_ul", "leukocytes_k_per_ul"}
    assert dose_problems("exosome", Dose()) == {}
    assert (
        source_problem("prp", "allogeneic")
        == "A product of kind platelet-rich plasma (PRP) is autologous."
    )


@pytest.fixture
def catalogue(admin_user: Any) -> dict[str, Any]:
    bmac = product_create(
        actor=acting(admin_user),
        name="Marrow concentrate kit",
        kind="bmac",
        source="autologous",
        establishment="Spine Regenerative Clinic cell lab (FEI 3001234567)",
    )
    today = timezone.localdate()
    return {
        "product": bmac,
        "good": lot_create(
            actor=acting(admin_user),
            product_id=bmac.pk,
            lot="L2026-11",
            code="=)0000123456789L2026-11",
            expires_on=today + timedelta(days=90),
        ),
        "expired": lot_create(
            actor=acting(admin_user),
            product_id=bmac.pk,
            lot="L2025-01",
            code="=)0000123456789L2025-01",
            expires_on=today - timedelta(days=1),
        ),
    }


def test_only_the_clinic_admin_keeps_the_catalogue(coordinator: Any, clinician: Any) -> None:
    for user in (coordinator, clinician):
        with pytest.raises(NotAllowed):
            product_create(
                actor=acting(user), name="X", kind="prp", source="autologous", establishment="Y"
            )


def test_the_catalogue_refuses_what_a_label_cannot_say(
    admin_user: Any, catalogue: dict[str, Any]
) -> None:
    with pytest.raises(Invalid) as refused:
        product_create(
            actor=acting(admin_user), name="PRP", kind="prp", source="allogeneic", establishment="Y"
        )
    assert refused.value.fields == {
        "source": "A product of kind platelet-rich plasma (PRP) is autologous."
    }
    with pytest.raises(Conflict, match="in the catalogue already"):
        lot_create(
            actor=acting(admin_user),
            product_id=catalogue["product"].pk,
            lot="other",
            code=catalogue["good"].code,
            expires_on=date(2027, 1, 1),
        )
    donor_cells = product_create(
        actor=acting(admin_user),
        name="Donor MSC",
        kind="msc_allogeneic",
        source="allogeneic",
        establishment="A cell bank (FEI 1)",
    )
    with pytest.raises(Invalid, match="names its donor"):
        lot_create(
            actor=acting(admin_user),
            product_id=donor_cells.pk,
            lot="D1",
            code="DONOR-D1",
            expires_on=date(2027, 1, 1),
        )
    assert lot_by_code("  L2026-11 ") == catalogue["good"]  # by lot number too


def _patient(clinician: Any, tag: str) -> Any:
    review = timezone.localdate() - timedelta(days=2)
    patient = reviewed_patient(clinician, review, tag)
    accepted_plan_for(patient, clinician, review, sessions=2)
    return patient


def test_a_scanned_lot_is_checked_and_recorded_with_its_dose(
    clinician: Any, catalogue: dict[str, Any]
) -> None:
    patient = _patient(clinician, "bio-1")
    today = timezone.localdate()
    with pytest.raises(Invalid) as unknown:
        inject(patient, clinician, today, lot_code="NOT-A-LOT")
    assert "No lot in the catalogue has the code 'NOT-A-LOT'" in unknown.value.fields["lot_code"]
    with pytest.raises(Invalid) as expired:
        inject(
            patient,
            clinician,
            today,
            lot_code=catalogue["expired"].code,
            dose_measured=Dose(Decimal(10), Decimal(90)),
        )
    assert "expired on" in expired.value.fields["lot_code"]
    with pytest.raises(Invalid) as no_dose:
        inject(patient, clinician, today, lot_code=catalogue["good"].code)
    assert set(no_dose.value.fields) == {"cells_million", "viability_pct"}
    assert not Procedure.objects.exists()
    done = inject(
        patient,
        clinician,
        today,
        lot_code=catalogue["good"].code,
        dose_measured=Dose(Decimal("12.5"), Decimal("91.0")),
    )
    assert done.lot == catalogue["good"] and done.cells_million == Decimal("12.5")


def test_the_look_back_finds_exactly_the_patients_of_a_lot(
    clinician: Any, admin_user: Any, catalogue: dict[str, Any], capsys: Any
) -> None:
    today = timezone.localdate()
    dose = Dose(Decimal(10), Decimal(90))
    received = _patient(clinician, "bio-a")
    received.family_name = "=HYPERLINK(1)"  # a name a spreadsheet would run as a formula
    received.save()
    inject(received, clinician, today, lot_code=catalogue["good"].code, dose_measured=dose)
    voided = _patient(clinician, "bio-b")
    wrong = inject(voided, clinician, today, lot_code=catalogue["good"].code, dose_measured=dose)
    procedure_void(procedure=wrong, actor=acting(clinician), reason="Entered for the wrong patient")
    other_lot = lot_create(
        actor=acting(admin_user),
        product_id=catalogue["product"].pk,
        lot="L2026-12",
        code="CODE-L2026-12",
        expires_on=today + timedelta(days=60),
    )
    elsewhere = _patient(clinician, "bio-c")
    inject(elsewhere, clinician, today, lot_code=other_lot.code, dose_measured=dose)
    found = lookback(lot=catalogue["good"].code)
    assert [r.patient for r in found] == [received]
    assert [r.patient for r in lookback(lot="L2026-11")] == [received]
    by_product = {r.patient for r in lookback(product_id=catalogue["product"].pk)}
    assert by_product == {received, elsewhere}

    assert cli(["lookback", "--lot", catalogue["good"].code, "--by", "boss"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["record_number"] for row in rows] == [received.mrn]
    assert rows[0]["lot"] == "L2026-11"
    assert rows[0]["family_name"] == "'=HYPERLINK(1)"
    disclosed = AuditEvent.objects.filter(action=AuditEvent.EXPORT, patient=received)
    assert disclosed.filter(what__contains="look-back").exists()
    assert cli(["lookback", "--lot", "x", "--by", "clin"]) == 2  # a clinician's role may not
    assert "--by" in capsys.readouterr().err


def test_the_admin_keeps_the_catalogue_on_its_page_and_others_may_not(
    admin_client: Any, coordinator_client: Any, clinician_client: Any
) -> None:
    assert coordinator_client.get("/products/").status_code == 403
    assert clinician_client.get("/products/lookback/?lot=x").status_code == 403
    refused = admin_client.post(
        "/products/",
        {
            "do": "product",
            "name": "PRP kit",
            "kind": "prp",
            "source": "allogeneic",
            "establishment": "Clinic lab",
        },
    )
    assert refused.status_code == 400
    assert "is autologous" in refused.content.decode()
    assert 'value="PRP kit"' in refused.content.decode()  # what was typed is kept
    admin_client.post(
        "/products/",
        {
            "do": "product",
            "name": "PRP kit",
            "kind": "prp",
            "source": "autologous",
            "establishment": "Clinic lab",
        },
    )
    page = admin_client.get("/products/").content.decode()
    assert "PRP kit" in page and "Platelet-rich plasma (PRP), autologous" in page


def test_the_procedure_form_takes_a_scanned_lot_and_names_what_is_wrong(
    clinician: Any, clinician_client: Any, catalogue: dict[str, Any], admin_client: Any
) -> None:
    patient = _patient(clinician, "bio-form")
    form = clinician_client.get(f"/patients/{patient.pk}/procedures/new/").content.decode()
    assert 'data-scan="1"' in form and "scan.js" in form
    key = form.split('name="submission" value="')[1].split('"')[0]
    target = form.split('name="target"')[1].split('value="')[1].split('"')[0]
    post = {
        "submission": key,
        "target": target,
        "performed_on": timezone.localdate().isoformat(),
        "material": "msc",
        "guidance": "fluoroscopy",
        "lot_code": catalogue["expired"].code,
        "cells_million": "10",
        "viability_pct": "90",
        **procedure_form_details(clinician, kind=None),
    }
    refused = clinician_client.post(f"/patients/{patient.pk}/procedures/new/", post)
    assert "expired on" in refused.content.decode()
    assert not Procedure.objects.exists()
    done = clinician_client.post(
        f"/patients/{patient.pk}/procedures/new/", {**post, "lot_code": catalogue["good"].code}
    )
    assert done.status_code == 302
    chart = clinician_client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Marrow concentrate kit, lot L2026-11" in chart
    found = admin_client.get(f"/products/lookback/?lot={catalogue['good'].code}")
    assert patient.mrn in found.content.decode()
    csv_text = admin_client.get(
        f"/products/lookback/?lot={catalogue['good'].code}&format=csv"
    ).content.decode()
    assert patient.mrn in csv_text


def test_the_record_carries_the_lot_as_a_biologically_derived_product(
    clinician: Any, catalogue: dict[str, Any]
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    from spinepath.records.fhir import patient_bundle

    patient = _patient(clinician, "bio-fhir")
    inject(
        patient,
        clinician,
        timezone.localdate(),
        lot_code=catalogue["good"].code,
        dose_measured=Dose(Decimal(10), Decimal(90)),
    )
    resources = [e["resource"] for e in patient_bundle(patient)["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    product = next(r for r in resources if r["resourceType"] == "BiologicallyDerivedProduct")
    assert {"system": product["identifier"][0]["system"], "value": catalogue["good"].code} in (
        product["identifier"]
    )
    assert product["storage"][0]["duration"]["end"] == catalogue["good"].expires_on.isoformat()
    injection = next(
        r for r in resources if r["resourceType"] == "Procedure" and "usedReference" in r
    )
    assert injection["usedReference"] == [
        {"reference": f"BiologicallyDerivedProduct/{product['id']}"}
    ]


def test_a_scanned_or_typed_value_names_one_lot_only(
    admin_user: Any, clinician: Any, catalogue: dict[str, Any]
) -> None:
    """Found by the attack: a code equal to another lot's number recorded the wrong lot."""
    product = catalogue["product"]
    with pytest.raises(Conflict) as as_code:
        lot_create(
            actor=acting(admin_user),
            product_id=product.pk,
            lot="L2099",
            code="l2026-11",  # another lot's number, in other case
            expires_on=date(2027, 1, 1),
        )
    assert "code" in as_code.value.fields
    with pytest.raises(Conflict) as as_number:
        lot_create(
            actor=acting(admin_user),
            product_id=product.pk,
            lot=catalogue["good"].code.lower(),
            code="NEW-CODE",
            expires_on=date(2027, 1, 1),
        )
    assert "lot" in as_number.value.fields
    other = product_create(
        actor=acting(admin_user),
        name="Second kit",
        kind="bmac",
        source="autologous",
        establishment="Lab",
    )
    # The same lot number on two products' labels happens: typing it is then ambiguous.
    ProductLotModel = type(catalogue["good"])
    ProductLotModel.objects.create(
        product=other, lot="SHARED-1", code="C-SHARED-A", expires_on=date(2027, 1, 1)
    )
    ProductLotModel.objects.create(
        product=product, lot="SHARED-1", code="C-SHARED-B", expires_on=date(2027, 1, 1)
    )
    patient = _patient(clinician, "bio-ambiguous")
    with pytest.raises(Invalid) as ambiguous:
        inject(
            patient,
            clinician,
            timezone.localdate(),
            lot_code="SHARED-1",
            dose_measured=Dose(Decimal(10), Decimal(90)),
        )
    assert "Several lots have the lot number 'SHARED-1'" in ambiguous.value.fields["lot_code"]
    recorded = inject(
        patient,
        clinician,
        timezone.localdate(),
        lot_code=catalogue["good"].code.lower(),  # a code typed in lower case still finds it
        dose_measured=Dose(Decimal(10), Decimal(90)),
    )
    assert recorded.lot == catalogue["good"]


def test_the_catalogue_keeps_label_text_only(admin_user: Any, catalogue: dict[str, Any]) -> None:
    with pytest.raises(Conflict):
        product_create(
            actor=acting(admin_user),
            name="marrow CONCENTRATE kit",
            kind="bmac",
            source="autologous",
            establishment="Lab",
        )
    with pytest.raises(Invalid, match="control characters"):
        product_create(
            actor=acting(admin_user),
            name="Red\u202eevil",
            kind="prp",
            source="autologous",
            establishment="Lab",
        )
    for changes, field in (
        ({"expires_on": date(1, 1, 1)}, "expires_on"),
        ({"donor": "D-9"}, "donor"),  # an autologous lot has no donor
    ):
        values: dict[str, Any] = {
            "lot": "L-NEW",
            "code": "CODE-NEW",
            "expires_on": date(2027, 1, 1),
            **changes,
        }
        with pytest.raises(Invalid) as refused:
            lot_create(actor=acting(admin_user), product_id=catalogue["product"].pk, **values)
        assert field in refused.value.fields


def test_an_empty_procedure_form_names_every_field_it_lacks_at_once(
    clinician: Any, clinician_client: Any
) -> None:
    patient = _patient(clinician, "empty-form")
    page = clinician_client.get(f"/patients/{patient.pk}/procedures/new/")
    form = page.context["form"]
    posted = {
        "submission": form["submission"].value(),
        "target": form.fields["target"].choices[0][0],
        "performed_on": timezone.localdate().isoformat(),
        "material": "msc",
        "guidance": "fluoroscopy",
        "viability_pct": "150",
    }
    refused = clinician_client.post(f"/patients/{patient.pk}/procedures/new/", posted)
    assert refused.status_code == 400
    named = set(refused.context["form"].errors)
    assert {
        "lot_code",
        "volume_ml",
        "fluoroscopy_seconds",
        "air_kerma_mgy",
        "consent_confirmed",
        "site_marked",
        "time_out_done",
        "viability_pct",
    } <= named, named
    future = clinician_client.post(
        f"/patients/{patient.pk}/procedures/new/",
        {**posted, "performed_on": "9999-12-31"},
    )
    assert "is in the future" in " ".join(future.context["form"].errors["performed_on"])


def test_the_form_says_before_anything_is_typed_that_the_plan_is_used(
    clinician: Any, clinician_client: Any
) -> None:
    patient = _patient(clinician, "used-plan")  # a plan of two injections at the disc
    day = timezone.localdate()
    inject(patient, clinician, day)
    assert "Every injection of the accepted plan is recorded" not in (
        clinician_client.get(f"/patients/{patient.pk}/procedures/new/").content.decode()
    )
    inject(patient, clinician, day)
    page = clinician_client.get(f"/patients/{patient.pk}/procedures/new/").content.decode()
    assert "Every injection of the accepted plan is recorded" in page
    assert "(no injection left in the plan)" in page
