from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits: multi-agency audits, case audits and section 11"

    def ready(self) -> None:
        from django.db.models import Q

        from notifications import registry
        from workflows.worklist import register_work_source

        from .models import AgencyReturn, AuditState, ReturnState
        from .selectors import returns_work
        from .services import audits  # noqa: F401  (registers the transitions' effects)

        register_work_source(returns_work)

        # A return is owed while fieldwork lasts: once moderation starts it is in, or recorded as not
        # received by a manager, and chasing it would ask for something nobody can give any more.
        registry.register(
            registry.Chaseable(
                model=AgencyReturn,
                open=Q(state=ReturnState.OWED, case__audit__state=AuditState.FIELDWORK),
                url_name="return-detail",
                chair_field="case__audit__chair",
                label_field="title",
            )
        )
