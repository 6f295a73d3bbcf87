from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications: reminders, escalation and digests"

    def ready(self) -> None:
        from workflows.timeline import register_timeline_source

        from . import timeline

        register_timeline_source(timeline.chase_entries)
