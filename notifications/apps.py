from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications: reminders, escalation and digests"

    def ready(self) -> None:
        from django.db.models import Q

        from workflows.models import Action, ActionState
        from workflows.timeline import register_timeline_source

        from . import registry, timeline

        # Owners are chased while the work is theirs to do: agreed and under way. Drafts have no agreed
        # date yet, and an action awaiting sign-off waits on a manager, not on its owner.
        registry.register(
            registry.Chaseable(
                model=Action,
                open=Q(state__in=[ActionState.AGREED, ActionState.IN_PROGRESS]),
                url_name="action-detail",
                chair_field="recommendation__chair",
                source_type_field="recommendation__source_type",
                source_id_field="recommendation__source_id",
                round_field="reopened_count",
            )
        )
        register_timeline_source(timeline.chase_entries)
