from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "spinepath.safety"
    label = "safety"
    verbose_name = "Safety of the biologic: adverse events"
