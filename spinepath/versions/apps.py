from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VersionsConfig(AppConfig):
    name = "spinepath.versions"
    label = "versions"
    verbose_name = "Versions of the clinic's facts (for pages kept in the cache)"

    def ready(self) -> None:
        from spinepath.versions.triggers import after_migrate

        # Once per migrate (the signal is sent for every app): the triggers, on every table.
        post_migrate.connect(after_migrate, sender=self, dispatch_uid="versions.triggers")
