from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "spinepath.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from spinepath.audit import receivers

        receivers.connect()
