from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows: agencies, people, calendar, actions"

    def ready(self) -> None:
        from . import owed, roles
        from .files import files_go_with_rows
        from .models import Evidence
        from .services import actions  # noqa: F401  (registers the transitions' effects)
        from .validators import install_date_bounds

        files_go_with_rows(Evidence)
        owed.register_engine_items()

        # Groups need the permissions that Django creates after migrating, so they are synced then
        # (sync_role_groups makes every app's permissions first: this app migrates before the others).
        post_migrate.connect(roles.sync_role_groups, sender=self)
        install_date_bounds()
