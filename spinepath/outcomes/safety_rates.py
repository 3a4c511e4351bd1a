"""Safety as an outcome (PATHWAY.md section 10): event rates per material, product and lot, with
exact intervals, beside the published rate the clinic cites.

What counts:

- the denominator is **injections** (procedure records that stand; voided entries leave), not
  patients: a lot or a product is given per injection, and a patient injected twice had two
  chances of an event;
- an injection counts once however many events followed it: an event a clinician linked to it
  (not entered in error), whose latest version judges it at least *possibly* related to the
  procedure or to the product (``spinepath.pathway.safety.RELATED``); serious by the ICH E2A
  criteria for the second rate. Events linked to no injection are counted apart;
- rates come with exact (Clopper-Pearson) 95% intervals, and the serious rate is tested against
  the published one (exact binomial test).

Two queries whatever the cohort: the injections grouped by lot (a lot names its product and
material), and the versions of the events linked to an injection; the rest is counted here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count

from spinepath.outcomes.evidence import SafetyBenchmark, safety_benchmark
from spinepath.outcomes.stats import (
    BenchmarkComparison,
    RateInterval,
    clopper_pearson,
    compare_with_benchmark,
)
from spinepath.pathway.biologics import PRODUCT_KINDS
from spinepath.pathway.safety import RELATED
from spinepath.plans.models import MATERIAL_CHOICES, Procedure
from spinepath.safety.models import AdverseEvent, EventVersion

PUBLISHED_MEASURE = "serious_related_event"
NO_PRODUCT = "No product recorded (injections before the catalogue)"
NO_LOT = "No lot recorded"


@dataclass(frozen=True)
class SafetyRow:
    """One material, product or lot: its injections and the shares followed by an event."""

    label: str
    detail: str
    injections: int
    related: RateInterval  # followed by an event at least possibly related
    serious: RateInterval  # ... and serious (ICH E2A)
    published: BenchmarkComparison | None  # the serious rate against the published one


@dataclass(frozen=True)
class SafetyFigures:
    total: SafetyRow
    materials: list[SafetyRow]
    products: list[SafetyRow]
    lots: list[SafetyRow]
    benchmark: SafetyBenchmark | None
    unlinked_events: int  # events (not in error) linked to no injection: not in the rates

    @property
    def groups(self) -> list[tuple[str, list[SafetyRow]]]:
        return [("Material", self.materials), ("Product", self.products), ("Lot", self.lots)]

    @property
    def published_groups(self) -> list[tuple[str, list[SafetyRow]]]:
        """What the publishable report shows: not the lots (an autologous lot is one
        patient's own material, so a row per lot would be a row per patient)."""
        return [("Material", self.materials), ("Product", self.products)]


def _latest_versions(before: datetime | None = None) -> dict[int, dict[str, Any]]:
    """By event linked to an injection that stands (not entered in error): its latest version,
    with the injection's id, material, lot and product; with ``before``, as they stood then
    (events and versions recorded before it)."""
    latest: dict[int, dict[str, Any]] = {}
    versions = EventVersion.objects.filter(
        event__in_error_at__isnull=True,
        event__procedure__isnull=False,
        event__procedure__voided_at__isnull=True,
    )
    if before is not None:
        versions = versions.filter(event__created_at__lt=before, recorded_at__lt=before)
    versions = versions.values(
        "event_id",
        "number",
        "related_procedure",
        "related_product",
        "serious_criteria",
        "event__procedure_id",
        "event__procedure__material",
        "event__procedure__lot_id",
        "event__procedure__lot__product_id",
    )
    for version in versions.order_by().iterator(chunk_size=2000):
        known = latest.get(version["event_id"])
        if known is None or version["number"] > known["number"]:
            latest[version["event_id"]] = version
    return latest


@dataclass(frozen=True)
class _Followed:
    """An injection followed by an event at least possibly related, and where it belongs."""

    material: str
    product: int | None
    lot: int | None
    serious: bool


def followed_by_events(before: datetime | None = None) -> dict[int, _Followed]:
    """By injection followed by an event at least possibly related to the procedure or the
    product: its material, product and lot, and whether one such event was serious (with
    ``before``, as recorded before it)."""
    found: dict[int, _Followed] = {}
    for version in _latest_versions(before).values():
        if (
            version["related_procedure"] not in RELATED
            and version["related_product"] not in RELATED
        ):
            continue
        pk = version["event__procedure_id"]
        earlier = found.get(pk)
        found[pk] = _Followed(
            version["event__procedure__material"],
            version["event__procedure__lot__product_id"],
            version["event__procedure__lot_id"],
            bool(version["serious_criteria"]) or (earlier is not None and earlier.serious),
        )
    return found


def _row(
    label: str, detail: str, n: int, related: int, serious: int, benchmark: SafetyBenchmark | None
) -> SafetyRow:
    return SafetyRow(
        label,
        detail,
        n,
        clopper_pearson(related, n),
        clopper_pearson(serious, n),
        compare_with_benchmark(serious, n, benchmark.rate) if benchmark and n else None,
    )


def safety_figures() -> SafetyFigures:
    """Per material, product and lot: the injections, and the shares followed by a related and
    by a serious related adverse event (two queries, and a count of unlinked events)."""
    followed = followed_by_events()
    benchmark = safety_benchmark(PUBLISHED_MEASURE)
    by_lot = (
        Procedure.objects.not_voided()
        .values(
            "material",
            "lot_id",
            "lot__lot",
            "lot__expires_on",
            "lot__product_id",
            "lot__product__name",
            "lot__product__kind",
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    injections: Counter[tuple[str, Any]] = Counter()
    labels: dict[tuple[str, Any], tuple[str, str]] = {}
    for row in by_lot:
        product, lot = row["lot__product_id"], row["lot_id"]
        for key in (("material", row["material"]), ("product", product), ("lot", lot)):
            injections[key] += row["n"]
        labels[("product", product)] = (
            (row["lot__product__name"], PRODUCT_KINDS.get(row["lot__product__kind"], ""))
            if product
            else (NO_PRODUCT, "")
        )
        name = f"{row['lot__product__name']}, lot {row['lot__lot']}"
        labels[("lot", lot)] = (name, f"expires {row['lot__expires_on']}") if lot else (NO_LOT, "")
    related: Counter[tuple[str, Any]] = Counter()
    serious: Counter[tuple[str, Any]] = Counter()
    for injection in followed.values():
        for key in (
            ("material", injection.material),
            ("product", injection.product),
            ("lot", injection.lot),
            ("all", None),
        ):
            related[key] += 1
            serious[key] += injection.serious

    def figure(key: tuple[str, Any], label: str, detail: str = "") -> SafetyRow:
        return _row(label, detail, injections[key], related[key], serious[key], benchmark)

    def rows(kind: str) -> list[SafetyRow]:
        found = [figure(key, *labels[key]) for key in injections if key[0] == kind]
        # Unrecorded products and lots last; otherwise by name.
        return sorted(found, key=lambda r: (r.label in (NO_PRODUCT, NO_LOT), r.label))

    injections[("all", None)] = sum(n for (kind, _), n in injections.items() if kind == "material")
    return SafetyFigures(
        total=figure(("all", None), "All injections"),
        materials=[
            figure(("material", material), name)
            for material, name in MATERIAL_CHOICES
            if injections[("material", material)]
        ],
        products=rows("product"),
        lots=rows("lot"),
        benchmark=benchmark,
        unlinked_events=AdverseEvent.objects.filter(
            in_error_at__isnull=True, procedure__isnull=True
        ).count(),
    )
