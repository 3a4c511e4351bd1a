from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "spinepath.policies"
    label = "policies"
    verbose_name = "The clinic's policy versions and drafts"
