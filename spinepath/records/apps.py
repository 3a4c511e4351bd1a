from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "spinepath.records"
    label = "records"
    verbose_name = "Patient records (the chart and its FHIR bundle)"
