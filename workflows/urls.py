from django.urls import path

from .views import actions, home, people, plans

urlpatterns = [
    path("", home.home, name="home"),
    path("my-work/", actions.my_work_page, name="my-work"),
    path("sign-off/", actions.sign_off_page, name="sign-off"),
    path("actions/<int:pk>/", actions.action_page, name="action-detail"),
    path(
        "actions/<int:pk>/transitions/<slug:name>/", actions.action_transition_view, name="action-transition"
    ),
    path("actions/<int:pk>/progress/", actions.action_progress_view, name="action-progress"),
    path("actions/<int:pk>/evidence/", actions.action_evidence_view, name="action-evidence"),
    path("actions/<int:pk>/extension/", actions.action_extension_view, name="action-extension"),
    path("actions/<int:pk>/edit/", actions.action_edit_view, name="action-edit"),
    path(
        "actions/<int:pk>/change-request/", actions.action_change_request_view, name="action-change-request"
    ),
    path("extensions/<int:pk>/decide/", actions.extension_decide_view, name="extension-decide"),
    path(
        "change-requests/<int:pk>/decide/", actions.change_request_decide_view, name="change-request-decide"
    ),
    path("evidence/<int:pk>/download/", actions.evidence_download, name="evidence-download"),
    path("clocks/<int:pk>/", home.clock_page, name="clock-detail"),
    path("people/lookup/", people.people_lookup_view, name="people-lookup"),
    path("plans/", plans.plans_page, name="plans"),
    path("plans/import/", plans.plan_upload_page, name="plan-upload"),
    path("plans/import/<int:pk>/", plans.plan_import_page, name="plan-import"),
    path("plans/import/<int:pk>/progress/", plans.plan_import_progress_page, name="plan-import-progress"),
    path("plans/<int:pk>/export.<str:kind>", plans.plan_export, name="plan-export"),
]
