from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "spinepath.plans"
    label = "plans"
    verbose_name = "Plans, prices and procedures"

    def ready(self) -> None:
        from spinepath.plans.sessions_cache import connect

        connect()
