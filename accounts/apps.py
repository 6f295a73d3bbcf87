from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts: sign-in, API tokens"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the token scheme with the API schema)
