from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications: reminders, escalation and digests"

    def ready(self) -> None:
        from workflows.health import register_health_reading
        from workflows.timeline import register_timeline_source

        from . import selectors, timeline

        register_timeline_source(timeline.chase_entries)
        register_health_reading("outbox", selectors.outbox_health)
