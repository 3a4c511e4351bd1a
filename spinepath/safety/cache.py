"""The version of the data the safety figures and the re-interventions are computed from.

The outcomes dashboard keeps its figures in the shared cache (spinepath/outcomes/cache.py);
its event rates and the composite endpoint also read adverse events, re-interventions, the
injections and their lots, and the spine procedures a consultation lists. Whenever one of
them is saved or deleted, this version changes and those figures are computed again.
"""

from __future__ import annotations

from typing import Any

from spinepath.web.versioned import Versioned

SAFETY = Versioned("safety")


def data_version() -> str:
    return SAFETY.version()


def data_changed(**kwargs: Any) -> None:
    SAFETY.changed(**kwargs)


def connect() -> None:
    """Listen for changes of what the safety figures read (from the app's ready())."""
    from django.db.models.signals import post_delete, post_save

    from spinepath.consultations.models import PriorProcedure
    from spinepath.plans.models import BiologicProduct, Procedure, ProductLot
    from spinepath.safety.models import AdverseEvent, EventVersion, Reintervention

    models = (
        AdverseEvent,
        EventVersion,
        Reintervention,
        Procedure,
        ProductLot,
        BiologicProduct,
        PriorProcedure,
    )
    for model in models:
        uid = model._meta.label_lower
        post_save.connect(data_changed, sender=model, dispatch_uid=f"safety-save-{uid}")
        post_delete.connect(data_changed, sender=model, dispatch_uid=f"safety-del-{uid}")
