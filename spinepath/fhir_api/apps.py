from django.apps import AppConfig


class FhirApiConfig(AppConfig):
    name = "spinepath.fhir_api"
    label = "fhir_api"
    verbose_name = "FHIR R4 API"
