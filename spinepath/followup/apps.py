from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "spinepath.followup"
    label = "followup"
    verbose_name = "Follow-up"

    def ready(self) -> None:
        # The reassessment schedule follows a plan's injections: follow-up listens to the
        # plans app, which never imports it.
        from spinepath.followup.schedule import reschedule_on_injections_changed
        from spinepath.plans.events import injections_changed

        injections_changed.connect(
            reschedule_on_injections_changed, dispatch_uid="followup.reschedule"
        )
        # A corrected date of birth moves the patient's courses to their age band.
        from spinepath.followup.schedule import age_bands_on_birth_date_changed
        from spinepath.patients.events import birth_date_changed

        birth_date_changed.connect(
            age_bands_on_birth_date_changed, dispatch_uid="followup.age_bands"
        )
