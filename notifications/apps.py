from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications: reminders, escalation and digests"

    def ready(self) -> None:
        from django.db.models import Q

        from workflows.models import Action, ActionState, StatutoryClock
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
        # A statutory clock is chased until its milestone is met: alerts before it runs out, escalation after.
        registry.register(
            registry.Chaseable(
                model=StatutoryClock,
                open=Q(met_on__isnull=True),
                url_name="clock-detail",
                chair_field="chair",
                source_type_field="source_type",
                source_id_field="source_id",
                label_field="label",
            )
        )
        register_timeline_source(timeline.chase_entries)
