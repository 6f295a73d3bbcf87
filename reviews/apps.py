from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews: rapid reviews and child safeguarding practice reviews"

    def ready(self) -> None:
        from . import owed, services  # noqa: F401  (services register the transitions' effects)

        owed.register_owed()
