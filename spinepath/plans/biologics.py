"""The biologic products the clinic injects, their lots, and the look-back (PATHWAY.md
section 10): which patients received a lot, a product or a donor's material.

The catalogue is the clinic admin's (the ``product_catalogue`` fact). A lot is found by its
distinct identification code as scanned from the label (a keyboard-wedge scanner types it
and Enter), or by its lot number. The look-back is one query over the injections, voided ones
left out, with each patient's contact details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q

from spinepath.actions import action
from spinepath.actors import Actor
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.pathway.biologics import source_problem
from spinepath.patients.models import Patient
from spinepath.plans.models import BiologicProduct, Procedure, ProductLot
from spinepath.web.spreadsheet import cell


@action("product_catalogue")
def product_create(
    *, actor: Actor, name: str, kind: str, source: str, establishment: str
) -> BiologicProduct:
    """A product in the catalogue; its kind and source must agree."""
    problem = source_problem(kind, source)
    if problem is not None:
        raise Invalid(problem, fields={"source" if kind else "kind": problem})
    if not establishment.strip():
        refusal = "Name the establishment that made or processed it."
        raise Invalid(refusal, fields={"establishment": refusal})
    try:
        with transaction.atomic():
            return BiologicProduct.objects.create(
                name=name.strip(), kind=kind, source=source, establishment=establishment.strip()
            )
    except IntegrityError as clash:
        refusal = "A product of that name is in the catalogue already."
        raise Conflict(refusal, fields={"name": refusal}) from clash


@action("product_catalogue")
def lot_create(
    *,
    actor: Actor,
    product_id: int,
    lot: str,
    code: str,
    expires_on: date,
    donor: str = "",
) -> ProductLot:
    """A lot of a catalogue product, by its label: the code is unique across the catalogue."""
    product = BiologicProduct.objects.filter(pk=product_id).first()
    if product is None:
        raise NotAvailable("There is no such product.")
    code, lot = code.strip(), lot.strip()
    if not code:
        refusal = "Enter the distinct identification code on the label."
        raise Invalid(refusal, fields={"code": refusal})
    if not lot:
        refusal = "Enter the lot number."
        raise Invalid(refusal, fields={"lot": refusal})
    if product.source == "allogeneic" and not donor.strip():
        refusal = "An allogeneic lot names its donor (the donor id on the label)."
        raise Invalid(refusal, fields={"donor": refusal})
    try:
        with transaction.atomic():
            return ProductLot.objects.create(
                product=product, lot=lot, code=code, expires_on=expires_on, donor=donor.strip()
            )
    except IntegrityError as clash:
        refusal = "That code or lot number is in the catalogue already."
        raise Conflict(refusal, fields={"code": refusal}) from clash


def lot_by_code(scanned: str) -> ProductLot | None:
    """The lot a scanned or typed code names: its distinct identification code, else its lot
    number when that names one lot only."""
    text = scanned.strip()
    if not text:
        return None
    found = ProductLot.objects.select_related("product").filter(code=text).first()
    if found is not None:
        return found
    by_number = list(ProductLot.objects.select_related("product").filter(lot=text)[:2])
    return by_number[0] if len(by_number) == 1 else None


@dataclass(frozen=True, slots=True)
class Recipient:
    """A patient who received the lot, product or donor's material looked back on."""

    patient: Patient
    injections: tuple[Procedure, ...]


def lookback(*, lot: str = "", product_id: int | None = None, donor: str = "") -> list[Recipient]:
    """Every patient who received the lot (by code or lot number), the product or the donor's
    material, with their injections of it (voided entries left out): one query."""
    query = Q()
    if lot.strip():
        query &= Q(lot__code=lot.strip()) | Q(lot__lot=lot.strip())
    if product_id is not None:
        query &= Q(lot__product_id=product_id)
    if donor.strip():
        query &= Q(lot__donor=donor.strip())
    if not query:
        raise Invalid(
            "Name a lot, a product or a donor to look back on.", fields={"lot": "Name a lot."}
        )
    rows = (
        Procedure.objects.not_voided()
        .filter(query)
        .select_related("patient", "lot", "lot__product")
        .order_by("patient__family_key", "patient_id", "performed_on", "id")
    )
    out: list[Recipient] = []
    for procedure in rows:
        if out and out[-1].patient.pk == procedure.patient_id:
            out[-1] = Recipient(out[-1].patient, (*out[-1].injections, procedure))
        else:
            out.append(Recipient(procedure.patient, (procedure,)))
    return out


LOOKBACK_HEADER = [
    "record_number",
    "family_name",
    "given_name",
    "birth_date",
    "email",
    "phone",
    "injected_on",
    "target",
    "product",
    "lot",
    "code",
]


def lookback_rows(found: list[Recipient]) -> list[list[str]]:
    """One row per injection of the look-back, for the CSV the page and the command give
    (each text cell safe to open in a spreadsheet)."""
    rows = []
    for recipient in found:
        patient = recipient.patient
        for injection in recipient.injections:
            lot = injection.lot
            where = " ".join(part for part in (injection.side, injection.level) if part)
            rows.append(
                [
                    cell(value)
                    for value in (
                        patient.mrn,
                        patient.family_name,
                        patient.given_name,
                        patient.birth_date.isoformat() if patient.birth_date else "",
                        patient.email,
                        patient.phone,
                        injection.performed_on.isoformat(),
                        f"{where} {injection.get_generator_display()}".strip(),
                        lot.product.name if lot else "",
                        lot.lot if lot else "",
                        lot.code if lot else "",
                    )
                ]
            )
    return rows
