from django.urls import path

from . import queue_views, views

urlpatterns = [
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/preference/", views.preference_view, name="notification-preference"),
    path("chasing/", views.chasing_page, name="chasing"),
    path("chasing/confirm/", views.chasing_confirm_view, name="chasing-confirm"),
    path("chasing/pause/", views.chasing_pause_view, name="chasing-pause"),
    path("chasing/pauses/<int:pk>/resume/", views.chasing_resume_view, name="chasing-resume"),
    path("queue/", queue_views.queue_page, name="queue"),
    path("queue/bulk/", queue_views.queue_bulk_view, name="queue-bulk"),
    path("queue/export.<str:kind>", queue_views.queue_export, name="queue-export"),
    path("dashboard/", queue_views.dashboard_page, name="dashboard"),
    path("exception-report/", queue_views.exception_report_page, name="exception-report"),
    path(
        "exception-report.pdf",
        queue_views.exception_report_page,
        {"kind": "pdf"},
        name="exception-report-pdf",
    ),
]
