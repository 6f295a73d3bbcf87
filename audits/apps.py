from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits: multi-agency audits, case audits and section 11"

    def ready(self) -> None:
        from django.db.models import Q

        from notifications import registry
        from workflows.files import files_go_with_rows
        from workflows.selectors import agency_of_viewer, register_recommendation_source
        from workflows.stages import register_stage_source, stage_counts
        from workflows.worklist import register_work_source

        from .models import (
            AgencyReturn,
            Audit,
            AuditState,
            CaseAudit,
            CycleState,
            ReturnState,
            Section11Challenge,
            Section11Cycle,
            Section11Evidence,
            Section11Return,
            Section11ReturnState,
        )
        from .section11_reports import section11_returns_visible_to
        from .selectors import audits_visible_to, case_audits_visible_to, returns_work, section11_work
        from .services import audits, section11  # noqa: F401  (register the transitions' effects)

        files_go_with_rows(Section11Evidence)
        register_work_source(returns_work)
        register_recommendation_source(Audit, audits_visible_to)
        register_recommendation_source(CaseAudit, case_audits_visible_to)
        # A reviewer sees the return they challenge, but its actions are the reviewed agency's own.
        register_recommendation_source(
            Section11Return,
            lambda user: section11_returns_visible_to(user).filter(agency_id=agency_of_viewer(user)),
        )
        register_work_source(section11_work)
        register_stage_source("Multi-agency audits by stage", stage_counts(Audit))
        register_stage_source("Case audits by stage", stage_counts(CaseAudit))
        register_stage_source("Section 11 cycles by stage", stage_counts(Section11Cycle))
        # A section 11 return is owed while the cycle is open (a late one still, through challenge); the
        # reviewer's challenge deadline is chased until the return is agreed.
        registry.register(
            registry.Chaseable(
                model=Section11Return,
                open=Q(
                    state__in=[Section11ReturnState.NOT_STARTED, Section11ReturnState.IN_PROGRESS],
                    cycle__state__in=[CycleState.OPEN, CycleState.CHALLENGE],
                ),
                url_name="section11-return-detail",
                chair_field="cycle__lead",
                label_field="title",
            )
        )
        registry.register(
            registry.Chaseable(
                model=Section11Challenge,
                open=Q(finished_at__isnull=True),
                url_name="section11-challenge-detail",
                owner_field="reviewer",
                agency_field="reviewer__person__agency",
                chair_field="agency_return__cycle__lead",
                label_field="title",
            )
        )

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
