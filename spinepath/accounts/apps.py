from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "spinepath.accounts"
    label = "accounts"
    verbose_name = "Users and roles"
