"""The versions of the clinic's facts: random numbers that triggers in the database replace
whenever a row holding one of the facts is added, changed or removed (see triggers.py)."""

from __future__ import annotations

from django.db import models


class PatientVersion(models.Model):
    """The version of one patient's facts (``patient_id`` 0: the facts shown with every
    patient's, such as a clinician's name or the clinic's policy). A page computed from a
    patient's facts may be kept under it and is never shown once it has changed."""

    patient_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"patient {self.patient_id}: {self.version}"


class TableVersion(models.Model):
    """The version of every row of one table (a list of many patients' facts, such as the
    follow-up worklist, may be kept under the versions of the tables it reads)."""

    table = models.CharField(max_length=63, primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.table}: {self.version}"
