from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits: multi-agency audits, case audits and section 11"

    def ready(self) -> None:
        from workflows.files import files_go_with_rows

        from . import owed
        from .models import Section11Evidence
        from .services import audits, section11  # noqa: F401  (register the transitions' effects)

        files_go_with_rows(Section11Evidence)
        owed.register_owed()
