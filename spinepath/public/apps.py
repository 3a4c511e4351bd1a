from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "spinepath.public"
    label = "public"
    verbose_name = "Public pages, requests and bookings"

    def ready(self) -> None:
        from spinepath.public import listeners

        listeners.connect()
