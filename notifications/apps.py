from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications: reminders, escalation and digests"

    def ready(self) -> None:
        from workflows.deadlines import register_escalation_policy
        from workflows.health import register_health_reading
        from workflows.timeline import register_timeline_source

        from . import selectors, timeline
        from .models import ChasePolicy

        # The deadline rules live in workflows, which imports nothing of ours: it reads the rungs' days
        # from the policy row, by subquery inside the SQL that derives an escalation level.
        register_escalation_policy(
            ChasePolicy, fields=("escalation_1_days", "escalation_2_days", "escalation_3_days")
        )
        register_timeline_source(timeline.chase_entries)
        register_health_reading("outbox", selectors.outbox_health)
