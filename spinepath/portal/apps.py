from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "spinepath.portal"
    label = "portal"
    verbose_name = "The patient's own pages"
