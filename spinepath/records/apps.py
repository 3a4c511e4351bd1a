from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecordsConfig(AppConfig):
    name = "spinepath.records"
    label = "records"
    verbose_name = "Patient records (the chart and its FHIR bundle)"

    def ready(self) -> None:
        from spinepath.records.versions import after_migrate

        # Once per migrate (the signal is sent for every app): the versions' triggers.
        post_migrate.connect(after_migrate, sender=self, dispatch_uid="records.chart_versions")
