from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "spinepath.consultations"
    label = "consultations"
    verbose_name = "Consultations"
