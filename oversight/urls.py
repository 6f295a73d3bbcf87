from django.urls import path

from . import views

urlpatterns = [
    path("queue/", views.queue_page, name="queue"),
    path("queue/bulk/", views.queue_bulk_view, name="queue-bulk"),
    path("queue/export.<str:kind>", views.queue_export, name="queue-export"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("exception-report/", views.exception_report_page, name="exception-report"),
    path("exception-report/read/", views.exception_report_mark_read_view, name="exception-report-read"),
    path(
        "exception-report.pdf",
        views.exception_report_page,
        {"kind": "pdf"},
        name="exception-report-pdf",
    ),
]
