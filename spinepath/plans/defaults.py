"""The clinic's starting price list (self-pay amounts); the clinic admin changes them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

ITEMS = [
    ("pre-procedure-visit", "Pre-procedure visit", "visit", "per visit", "", "", "250"),
    ("follow-up-visit", "Reassessment visit", "visit", "per visit", "", "", "150"),
    (
        "intradiscal-msc",
        "Intradiscal MSC injection",
        "regenerative",
        "per disc level",
        "discogenic",
        "msc",
        "7500",
    ),
    ("facet-msc", "Facet joint MSC injection", "regenerative", "per joint", "facet", "msc", "4500"),
    (
        "facet-exosome",
        "Facet joint exosome injection",
        "regenerative",
        "per joint",
        "facet",
        "exosome",
        "3200",
    ),
    ("facet-prp", "Facet joint PRP injection", "regenerative", "per joint", "facet", "prp", "1200"),
    (
        "ligament-prp",
        "Ligament PRP injection (ultrasound)",
        "regenerative",
        "per site",
        "myoligamentous",
        "prp",
        "950",
    ),
    (
        "ligament-exosome",
        "Ligament exosome injection (ultrasound)",
        "regenerative",
        "per site",
        "myoligamentous",
        "exosome",
        "2400",
    ),
    (
        "si-prp",
        "Sacroiliac joint PRP injection",
        "regenerative",
        "per joint",
        "sacroiliac",
        "prp",
        "1200",
    ),
    (
        "si-exosome",
        "Sacroiliac joint exosome injection",
        "regenerative",
        "per joint",
        "sacroiliac",
        "exosome",
        "2400",
    ),
    ("shockwave", "Softwave shockwave session", "shockwave", "per session", "", "", "350"),
    ("medial-branch-block", "Medial branch block", "diagnostic", "per level", "", "", "850"),
    ("repeat-mri", "Repeat lumbar MRI", "imaging", "per study", "", "", "1100"),
]


def ensure_default_prices(price_item: Any, price_version: Any, financing_terms: Any) -> None:
    """Create the starting price list and financing terms where they are missing. Takes the
    model classes, so the data migration can pass its historical models."""
    for code, name, category, unit, generator, material, amount in ITEMS:
        item, created = price_item.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "unit": unit,
                "generator": generator,
                "material": material,
            },
        )
        if created:
            price_version.objects.create(item=item, amount=Decimal(amount))
    if not financing_terms.objects.exists():
        financing_terms.objects.create(
            provider="Clinic payment plan", term_months=12, annual_rate_pct=Decimal("0")
        )
