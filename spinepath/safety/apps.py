from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "spinepath.safety"
    label = "safety"
    verbose_name = "Safety of the biologic: adverse events"

    def ready(self) -> None:
        # The safety figures and the composite endpoint are cached until what they read changes.
        from spinepath.safety import cache

        cache.connect()
