from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts: sign-in, API tokens"

    def ready(self) -> None:
        from . import audit, schema  # noqa: F401  (the audit's signal receivers; the token scheme in the API schema)
