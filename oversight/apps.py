from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight: the queue, dashboard and exception report managers and the executive read"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from workflows.models import Agency, Theme

        from .queue import forget_filter_choices

        for model in (Agency, Theme):
            post_save.connect(
                forget_filter_choices, sender=model, dispatch_uid=f"oversight-{model.__name__}-saved"
            )
            post_delete.connect(
                forget_filter_choices, sender=model, dispatch_uid=f"oversight-{model.__name__}-deleted"
            )
