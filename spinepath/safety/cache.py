"""The version of the data the safety figures and the re-interventions are computed from.

The outcomes dashboard keeps its figures in the shared cache (spinepath/outcomes/cache.py);
its event rates and the composite endpoint also read adverse events, re-interventions, the
injections and their lots, and the spine procedures a consultation lists. This version is that
of their tables (spinepath.versions): whenever a row of one of them is written, by any route,
those figures are computed again.
"""

from __future__ import annotations

from spinepath.web.versioned import Versioned

SAFETY = Versioned(
    "safety",
    (
        "safety_adverseevent",
        "safety_eventversion",
        "safety_reintervention",
        "plans_procedure",
        "plans_productlot",
        "plans_biologicproduct",
        "consultations_priorprocedure",
    ),
)


def data_version() -> str:
    return SAFETY.version()
