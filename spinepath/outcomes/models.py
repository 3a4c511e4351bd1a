"""The outcomes app's one table: the figures of a day, computed once and kept for that day."""

from __future__ import annotations

from django.db import models


class DailyFigures(models.Model):
    """Figures computed from the whole treated cohort for one date of the data ("patients like
    you" counts, the clinic's model), as the first request of the day computed them. Every
    server and every request of the day reads the same ones, so what a patient read is what
    they accept (spinepath/outcomes/daily.py)."""

    as_of = models.DateField()
    # What the figures are and under which policy: "odds:discogenic:own:<policy digest>".
    key = models.CharField(max_length=120)
    # The computed value, pickled: written and read only by spinepath/outcomes/daily.py.
    data = models.BinaryField()
    computed_at = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(default=0)
    # Recounted by the clinic admin (after an import or a restore): kept, no longer read.
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["as_of", "key"],
                condition=models.Q(superseded_at__isnull=True),
                name="one_figure_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} as of {self.as_of}"
