from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "spinepath.portal"
    label = "portal"
    verbose_name = "The patient's own pages"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from spinepath.patients.events import contact_changed
        from spinepath.portal.services import (
            forget_patient_on_staff_login,
            hold_links_on_contact_change,
        )

        user_logged_in.connect(forget_patient_on_staff_login, dispatch_uid="portal-staff-login")
        contact_changed.connect(hold_links_on_contact_change, dispatch_uid="portal-contact-hold")
