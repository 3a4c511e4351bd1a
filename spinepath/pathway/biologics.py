"""The biologic injected: what the clinic records of the product, and when a record is refused
(PATHWAY.md section 10; 21 CFR 1271.290 tracking from donor to recipient, 1271.270 records).

A product in the clinic's catalogue has a kind, a source and the establishment that made or
processed it; each lot has its distinct identification code and an expiry. An injection names
the lot used and its dose: cell count and viability for cells, platelet and leukocyte counts
for PRP. Each kind has a regulatory route (the clinic's policy, ``regulatory_routes``): a
plan's injection line names its kind, and a kind under an IND carries the IND number. Pure:
the web, the command line and the API all ask these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spinepath.pathway.policy import Policy

PRODUCT_KINDS: dict[str, str] = {
    "bmac": "autologous bone marrow concentrate",
    "adipose": "adipose-derived cells",
    "msc_expanded": "culture-expanded MSC",
    "msc_allogeneic": "allogeneic MSC",
    "exosome": "exosome preparation",
    "prp": "platelet-rich plasma (PRP)",
}
SOURCES: dict[str, str] = {"autologous": "autologous", "allogeneic": "allogeneic"}

# The material of the plan each kind is (pathway.plans.MATERIAL_LABELS).
KIND_MATERIAL: dict[str, str] = {
    "bmac": "msc",
    "adipose": "msc",
    "msc_expanded": "msc",
    "msc_allogeneic": "msc",
    "exosome": "exosome",
    "prp": "prp",
}
# The sources each kind may have: a patient's own marrow, fat or blood is autologous; donor
# cells and exosome preparations are allogeneic.
KIND_SOURCES: dict[str, frozenset[str]] = {
    "bmac": frozenset({"autologous"}),
    "adipose": frozenset({"autologous"}),
    "msc_expanded": frozenset({"autologous", "allogeneic"}),
    "msc_allogeneic": frozenset({"allogeneic"}),
    "exosome": frozenset({"allogeneic", "autologous"}),
    "prp": frozenset({"autologous"}),
}
CELL_KINDS = frozenset({"bmac", "adipose", "msc_expanded", "msc_allogeneic"})
# The kind a plan written from a decision starts with for each material (the coordinator or
# clinician changes it by adding the injection again): the point-of-care autologous product.
FIRST_KIND: dict[str, str] = {"msc": "bmac", "exosome": "exosome", "prp": "prp"}

# --- The regulatory route of each kind (FDA: 21 CFR 1271, section 351 of the PHS Act) ------

REGULATORY_ROUTES: dict[str, str] = {
    "same_surgical_procedure": (
        "same surgical procedure exception (21 CFR 1271.15(b)): the patient's own cells, "
        "taken and given back in one procedure"
    ),
    "hctp_361": "361 HCT/P (21 CFR 1271.10(a)): minimally manipulated, for homologous use",
    "not_hctp": (
        "not an HCT/P: a blood product prepared at the point of care with an FDA-cleared device"
    ),
    "ind": (
        "regulated as a drug or biologic (section 351 of the PHS Act): given only under an "
        "IND (investigational new drug application)"
    ),
}
# The clinic's defaults (policy key ``regulatory_routes``).
DEFAULT_ROUTES: dict[str, str] = {
    "bmac": "same_surgical_procedure",
    "adipose": "same_surgical_procedure",
    "msc_expanded": "ind",
    "msc_allogeneic": "ind",
    "exosome": "ind",
    "prp": "not_hctp",
}
# Kinds no clinic policy takes out of an IND: culture expansion is more than minimal
# manipulation, donor cells put into a disc or joint are not for homologous use, and the FDA
# regulates exosome preparations as drugs or biologics. A policy may put any other kind under
# an IND, never one of these under another route.
ALWAYS_IND = frozenset({"msc_expanded", "msc_allogeneic", "exosome"})
NOT_STATED = "product kind not stated (written before plans named it)"

IND_EXPECTED = "Enter the IND number the FDA gave: 5 or 6 digits, e.g. IND 012345."
_IND = re.compile(r"(?:IND)?[\s#:.-]*([0-9]{5,6})", re.IGNORECASE)


def regulatory_route(kind: str | None, policy: Policy) -> str | None:
    """The route of a kind of product under ``policy``; None when the kind is not stated."""
    if kind is None:
        return None
    return dict(policy.regulatory_routes).get(kind)


def needs_ind(kind: str | None, policy: Policy) -> bool:
    return regulatory_route(kind, policy) == "ind"


def normalised_ind(text: str) -> str | None:
    """An IND number in its one written form (``IND 012345``): '' when none is given, None
    when the text is not an IND number."""
    text = text.strip()
    if not text:
        return ""
    found = _IND.fullmatch(text)
    return f"IND {found.group(1)}" if found else None


@dataclass(frozen=True, slots=True)
class Dose:
    """The dose of one injection as measured: cells (millions) and their viability (%), or
    for PRP the platelet and leukocyte counts (thousands per microlitre)."""

    cells_million: Decimal | None = None
    viability_pct: Decimal | None = None
    platelets_k_per_ul: Decimal | None = None
    leukocytes_k_per_ul: Decimal | None = None


def source_problem(kind: str, source: str) -> str | None:
    if kind not in PRODUCT_KINDS:
        return "Choose the kind of product."
    if source not in KIND_SOURCES[kind]:
        allowed = " or ".join(sorted(KIND_SOURCES[kind]))
        return f"A product of kind {PRODUCT_KINDS[kind]} is {allowed}."
    return None


def lot_problems(
    *,
    kind: str,
    material: str,
    expires_on: date | None,
    performed_on: date,
    recalled_on: date | None = None,
) -> dict[str, str]:
    """Why this lot may not be recorded for an injection of ``material`` on ``performed_on``,
    by form field: a lot of another material, expired on the day, or recalled (a recalled lot
    is never injected again, whatever the day of the injection being recorded)."""
    problems: dict[str, str] = {}
    if recalled_on is not None:
        problems["lot"] = (
            f"This lot was recalled on {recalled_on}: it is not injected. Set it aside and "
            "use another lot."
        )
    if KIND_MATERIAL.get(kind) != material:
        problems["lot"] = (
            f"This lot is {PRODUCT_KINDS.get(kind, kind)}, not the material recorded for the "
            "injection."
        )
    if expires_on is None:
        problems.setdefault("lot", "This lot has no expiry date in the catalogue.")
    elif expires_on < performed_on:
        problems.setdefault(
            "lot", f"This lot expired on {expires_on}, before the injection on {performed_on}."
        )
    return problems


def dose_problems(kind: str, dose: Dose) -> dict[str, str]:
    """What the dose of an injection of this kind must say, by form field."""
    problems: dict[str, str] = {}
    if kind in CELL_KINDS:
        if dose.cells_million is None or dose.cells_million <= 0:
            problems["cells_million"] = "Enter the cell count (millions) of this injection."
        if dose.viability_pct is None or not 0 < dose.viability_pct <= 100:
            problems["viability_pct"] = "Enter the viability of the cells, 1-100%."
    elif kind == "prp":
        if dose.platelets_k_per_ul is None or dose.platelets_k_per_ul <= 0:
            problems["platelets_k_per_ul"] = "Enter the platelet count of the PRP."
        if dose.leukocytes_k_per_ul is None or dose.leukocytes_k_per_ul < 0:
            problems["leukocytes_k_per_ul"] = "Enter the leukocyte count of the PRP."
    # Whatever the kind, a count given is never negative and a viability never above 100%.
    for field in ("cells_million", "platelets_k_per_ul", "leukocytes_k_per_ul", "viability_pct"):
        value = getattr(dose, field)
        if value is not None and value < 0:
            problems.setdefault(field, "A count or a share is never negative.")
    if dose.viability_pct is not None and dose.viability_pct > 100:
        problems.setdefault("viability_pct", "Enter the viability of the cells, 1-100%.")
    return problems
