from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "spinepath.plans"
    label = "plans"
    verbose_name = "Plans, prices and procedures"
