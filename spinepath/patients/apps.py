from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "spinepath.patients"
    label = "patients"
    verbose_name = "Patients"
