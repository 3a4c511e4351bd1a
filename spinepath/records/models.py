"""The version of each patient's facts, kept by the database itself (see versions.py)."""

from __future__ import annotations

from django.db import models


class ChartVersion(models.Model):
    """A random number replaced, by triggers in the database, whenever a row holding one of the
    patient's facts is added, changed or removed (``patient_id`` 0: facts shown on every chart,
    such as a clinician's name or the clinic's policy). A page computed from a patient's facts
    may be kept under this number and is never shown once it has changed."""

    patient_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    class Meta:
        verbose_name = "chart version"

    def __str__(self) -> str:
        return f"patient {self.patient_id}: {self.version}"
