"""A patient through the pathway on the days it happened: review, decision, plan, injection.

A procedure is dated on or after the signed decision and the plan's acceptance (PATHWAY.md
section 7), so a patient injected weeks ago was reviewed, signed and accepted before that:
the helpers run those steps with the clock at the day they happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import time_machine
from django.utils import timezone
from web_helpers import acting, import_encounter

from spinepath.consultations.actions import decision_sign
from spinepath.pathway.biologics import CELL_KINDS, KIND_SOURCES, PRODUCT_KINDS, Dose
from spinepath.pathway.injections import Fluoroscopy, PreProcedureChecks
from spinepath.pathway.plans import Target
from spinepath.plans.acceptance import plan_accept, plan_release
from spinepath.plans.models import BiologicProduct, CarePlan, Procedure, ProductLot
from spinepath.plans.procedures import procedure_record
from spinepath.plans.selectors import plan_content_hash
from spinepath.plans.services import plan_create, plan_injection_add

DISC = Target("discogenic", "L4-L5", None)


@contextmanager
def on_day(day: date, hour: int = 10) -> Iterator[None]:
    """Run as if it were ``day`` at ``hour`` in the clinic's time zone."""
    with time_machine.travel(timezone.make_aware(datetime.combine(day, time(hour))), tick=False):
        yield


def reviewed_patient(clinician: Any, review: date, patient_id: str, **changes: Any) -> Any:
    """A candidate reviewed and signed on ``review``, with an MRI a month before."""
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
            assessed_on=review.isoformat(),
            imaging=[mri],
            patient__id=patient_id,
            **changes,
        )
        decision_sign(
            encounter=encounter, actor=acting(clinician), token=patient_id.ljust(24, "x")[:64]
        )
    return encounter.patient


def released(plan: CarePlan, clinician: Any) -> CarePlan:
    """``plan`` released to the patient by ``clinician``, as they read it."""
    return plan_release(actor=acting(clinician), plan_id=plan.pk, shown=plan_content_hash(plan))


def accepted_plan_for(
    patient: Any, clinician: Any, day: date, sessions: int = 1, **target: Any
) -> CarePlan:
    """A plan written, released and accepted on ``day``, holding ``sessions`` injections at
    the disc."""
    with on_day(day, 11):
        plan = plan_create(patient=patient, actor=acting(clinician))
        for _ in range(sessions - 1):
            plan_injection_add(
                plan=plan,
                actor=acting(clinician),
                target=DISC,
                material="msc",
                guidance="fluoroscopy",
                product_kind="bmac",
            )
        plan = released(plan, clinician)
        return plan_accept(plan=plan, typed_name="Maria Lopez", actor=acting(clinician))


def catalogue_lot(kind: str = "bmac") -> ProductLot:
    """A lot of a catalogue product of ``kind``, far from its expiry: made once in the test's
    world (a test's own, or a module's shared one) and found again after."""
    source = "autologous" if "autologous" in KIND_SOURCES[kind] else "allogeneic"
    product, _ = BiologicProduct.objects.get_or_create(
        name=f"Test {PRODUCT_KINDS[kind]}",
        defaults={
            "kind": kind,
            "source": source,
            "establishment": "Test cell laboratory (FEI 3000000001)",
        },
    )
    lot, _ = ProductLot.objects.get_or_create(
        code=f"TEST-{kind.upper()}-0001",
        defaults={
            "product": product,
            "lot": f"T-{kind.upper()}",
            "expires_on": date(2099, 12, 31),
            "donor": "DONOR-0001" if source == "allogeneic" else "",
        },
    )
    return lot


def measured_dose(kind: str = "bmac") -> Dose:
    """A dose as measured that a lot of ``kind`` needs (cells and viability, or PRP counts)."""
    if kind in CELL_KINDS:
        return Dose(cells_million=Decimal(10), viability_pct=Decimal(92))
    if kind == "prp":
        return Dose(platelets_k_per_ul=Decimal(1100), leukocytes_k_per_ul=Decimal("0.4"))
    return Dose()


def product_details(kind: str = "bmac") -> dict[str, Any]:
    """What a procedure record says of the product: a catalogue lot of ``kind`` and its dose."""
    return {"lot_code": catalogue_lot(kind).code, "dose_measured": measured_dose(kind)}


def procedure_details(*, time_out_by: Any, guidance: str = "fluoroscopy") -> dict[str, Any]:
    """What a procedure record says beside the product: 1.5 ml at the level, the fluoroscopy
    time and air kerma of an injection under fluoroscopy, and the checks done, the time-out led
    by ``time_out_by``."""
    return {
        "volume_ml": Decimal("1.5"),
        "fluoroscopy": (
            Fluoroscopy(seconds=40, air_kerma_mgy=Decimal("5.2"))
            if guidance == "fluoroscopy"
            else Fluoroscopy()
        ),
        "checks": PreProcedureChecks(
            consent_confirmed=True,
            site_marked=True,
            time_out_done=True,
            time_out_led_by=time_out_by.pk,
        ),
    }


def injection_details(
    kind: str = "bmac", *, time_out_by: Any, guidance: str = "fluoroscopy"
) -> dict[str, Any]:
    """Everything a procedure record says beside its target, day, material and guidance."""
    return {
        **product_details(kind),
        **procedure_details(time_out_by=time_out_by, guidance=guidance),
    }


def procedure_form_details(time_out_by: Any, kind: str | None = "bmac") -> dict[str, str]:
    """The same, as the procedure form posts it for an injection under fluoroscopy (without
    the product when ``kind`` is None)."""
    posted = {
        "volume_ml": "1.5",
        "fluoroscopy_seconds": "40",
        "air_kerma_mgy": "5.2",
        "consent_confirmed": "on",
        "site_marked": "on",
        "time_out_done": "on",
        "time_out_by": str(time_out_by.pk),
    }
    if kind is None:
        return posted
    dose = measured_dose(kind)
    measured = {
        "cells_million": dose.cells_million,
        "viability_pct": dose.viability_pct,
        "platelets_k_per_ul": dose.platelets_k_per_ul,
        "leukocytes_k_per_ul": dose.leukocytes_k_per_ul,
    }
    return {
        "lot_code": catalogue_lot(kind).code,
        **{name: str(value) for name, value in measured.items() if value is not None},
        **posted,
    }


def inject(patient: Any, clinician: Any, day: date, **changes: Any) -> Procedure:
    """An injection at the disc, recorded by ``clinician`` (who led the time-out too): a test
    lot of bone marrow concentrate with its dose unless ``changes`` names a lot."""
    values: dict[str, Any] = {
        "target": DISC,
        "performed_on": day,
        "material": "msc",
        "guidance": "fluoroscopy",
        **procedure_details(time_out_by=clinician, guidance=changes.get("guidance", "fluoroscopy")),
    }
    if "lot_code" not in changes:
        values.update(product_details())
    values.update(changes)
    return procedure_record(patient=patient, actor=acting(clinician), **values)


def treated(
    clinician: Any, days_ago: int, email: str = "maria@example.org", sessions: int = 1
) -> Any:
    """A patient reviewed and planned ten days before an injection ``days_ago`` days ago."""
    injected = timezone.localdate() - timedelta(days=days_ago)
    review = injected - timedelta(days=10)
    patient = reviewed_patient(clinician, review, f"t-{days_ago}")
    patient.email = email
    patient.save()
    accepted_plan_for(patient, clinician, review, sessions=sessions)
    inject(patient, clinician, injected)
    return patient
