"""The biologic products the clinic injects, their lots, and the look-back (PATHWAY.md
section 10): which patients received a lot, a product or a donor's material.

The catalogue is the clinic admin's (the ``product_catalogue`` fact). A lot is found by its
distinct identification code as scanned from the label (a keyboard-wedge scanner types it
and Enter), or by its lot number. The look-back is one query over the injections, voided ones
left out, with each patient's contact details.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q

from spinepath.actions import action, today_of_write
from spinepath.actors import Actor
from spinepath.audit.models import AuditEvent
from spinepath.audit.services import audit_record
from spinepath.errors import Conflict, Invalid, NotAvailable
from spinepath.pathway.biologics import source_problem
from spinepath.patients.models import Patient
from spinepath.plans.models import BiologicProduct, Procedure, ProductLot
from spinepath.web.spreadsheet import cell


def _label_text(field: str, value: str, what: str) -> str:
    """Text as printed on a label or a register: one line of visible characters."""
    text = value.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        refusal = f"{what} has invisible or control characters: type it as printed."
        raise Invalid(refusal, fields={field: refusal})
    return text


@action("product_catalogue")
def product_create(
    *, actor: Actor, name: str, kind: str, source: str, establishment: str
) -> BiologicProduct:
    """A product in the catalogue; its kind and source must agree."""
    problem = source_problem(kind, source)
    if problem is not None:
        raise Invalid(problem, fields={"source" if kind else "kind": problem})
    name = _label_text("name", name, "The name")
    establishment = _label_text("establishment", establishment, "The establishment")
    if not establishment:
        refusal = "Name the establishment that made or processed it."
        raise Invalid(refusal, fields={"establishment": refusal})
    if BiologicProduct.objects.filter(name__iexact=name).exists():
        refusal = "A product of that name is in the catalogue already."
        raise Conflict(refusal, fields={"name": refusal})
    try:
        with transaction.atomic():
            return BiologicProduct.objects.create(
                name=name, kind=kind, source=source, establishment=establishment
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
    code = _label_text("code", code, "The code")
    lot = _label_text("lot", lot, "The lot number")
    donor = _label_text("donor", donor, "The donor id")
    if not code:
        refusal = "Enter the distinct identification code on the label."
        raise Invalid(refusal, fields={"code": refusal})
    if not lot:
        refusal = "Enter the lot number."
        raise Invalid(refusal, fields={"lot": refusal})
    if not date(2000, 1, 1) <= expires_on <= date(2100, 12, 31):
        refusal = "Enter the expiry printed on the label (a date between 2000 and 2100)."
        raise Invalid(refusal, fields={"expires_on": refusal})
    if product.source == "allogeneic" and not donor:
        refusal = "An allogeneic lot names its donor (the donor id on the label)."
        raise Invalid(refusal, fields={"donor": refusal})
    if product.source == "autologous" and donor:
        refusal = "An autologous lot is the patient's own material: it has no donor."
        raise Invalid(refusal, fields={"donor": refusal})
    # A scanned or typed value names one lot only: no code equals another lot's code or lot
    # number (case set aside), and no lot number equals a code.
    if ProductLot.objects.filter(Q(code__iexact=code) | Q(lot__iexact=code)).exists():
        refusal = "That code is in the catalogue already, as a code or a lot number."
        raise Conflict(refusal, fields={"code": refusal})
    if ProductLot.objects.filter(Q(code__iexact=lot) | Q(lot__iexact=lot)).exists():
        refusal = "That lot number is in the catalogue already, as a lot number or a code."
        raise Conflict(refusal, fields={"lot": refusal})
    try:
        with transaction.atomic():
            return ProductLot.objects.create(
                product=product, lot=lot, code=code, expires_on=expires_on, donor=donor
            )
    except IntegrityError as clash:
        refusal = "That code or lot number is in the catalogue already."
        raise Conflict(refusal, fields={"code": refusal}) from clash


RECALL_REASON_MAX = 2000


@action("product_catalogue")
def lot_recall(*, actor: Actor, lot_id: int, reason: str) -> ProductLot:
    """Recall a lot: from now it is refused at every procedure, and the look-back finds who
    received it. Recalling twice recalls once; a recall is never undone."""
    reason = reason.strip()
    if not reason or len(reason) > RECALL_REASON_MAX:
        refusal = f"Say why the lot is recalled (at most {RECALL_REASON_MAX} characters)."
        raise Invalid(refusal, fields={"reason": refusal})
    lot = (
        ProductLot.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk=lot_id)
        .first()
    )
    if lot is None:
        raise NotAvailable("There is no such lot.")
    if lot.recalled_on is not None:
        return lot
    lot.recalled_on = today_of_write()
    lot.recall_reason = reason
    lot.recalled_by = actor.user
    lot.save(update_fields=["recalled_on", "recall_reason", "recalled_by"])
    audit_record(
        actor=actor,
        action=AuditEvent.UPDATE,
        what=f"lot {lot.lot} of {lot.product.name} recalled: {reason}"[:200],
    )
    return lot


class AmbiguousLot(Exception):
    """A typed lot number that several lots share: the full code on the label is needed."""


def lot_by_code(scanned: str) -> ProductLot | None:
    """The lot a scanned or typed code names: its distinct identification code, else its lot
    number when that names one lot only."""
    text = scanned.strip()
    if not text:
        return None
    found = ProductLot.objects.select_related("product").filter(code__iexact=text).first()
    if found is not None:
        return found
    by_number = list(ProductLot.objects.select_related("product").filter(lot__iexact=text)[:2])
    if len(by_number) > 1:
        raise AmbiguousLot(text)
    return by_number[0] if by_number else None


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
        # Codes and lot numbers are found in any case, as the procedure form finds them: the
        # catalogue's few matching lots first, then their injections by the lot's key.
        text = lot.strip()
        lots = ProductLot.objects.filter(Q(code__iexact=text) | Q(lot__iexact=text))
        query &= Q(lot_id__in=list(lots.values_list("pk", flat=True)))
    if product_id is not None:
        query &= Q(lot__product_id=product_id)
    if donor.strip():
        query &= Q(lot__donor__iexact=donor.strip())
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
