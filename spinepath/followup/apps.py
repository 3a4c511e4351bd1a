from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "spinepath.followup"
    label = "followup"
    verbose_name = "Follow-up"
