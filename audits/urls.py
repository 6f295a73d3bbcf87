from django.urls import path

from .views import audits, case_audits, section11

urlpatterns = [
    path("audits/", audits.audit_list_page, name="audit-list"),
    path("audits/new/", audits.audit_create_page, name="audit-create"),
    path("audits/<int:pk>/", audits.audit_page, name="audit-detail"),
    path("audits/<int:pk>/edit/", audits.audit_edit_page, name="audit-edit"),
    path("audits/<int:pk>/transitions/<slug:name>/", audits.audit_transition_view, name="audit-transition"),
    path("audits/<int:pk>/cases/", audits.audit_case_add, name="audit-case-add"),
    path("audits/<int:pk>/agencies/", audits.audit_agency_add, name="audit-agency-add"),
    path(
        "audits/<int:pk>/cases/<int:case_pk>/moderate/", audits.case_moderate_view, name="audit-case-moderate"
    ),
    path("audits/<int:pk>/findings/", audits.finding_add_view, name="audit-finding-add"),
    path("audits/<int:pk>/recommendations/", audits.recommendation_add_view, name="audit-recommendation-add"),
    path(
        "audits/<int:pk>/no-recommendations/", audits.no_recommendations_view, name="audit-no-recommendations"
    ),
    path(
        "audits/<int:pk>/recommendations/<int:recommendation_pk>/actions/",
        audits.audit_action_add_view,
        name="audit-action-add",
    ),
    path("returns/<int:pk>/", audits.return_page, name="return-detail"),
    path("case-audits/", case_audits.case_audit_list_page, name="case-audit-list"),
    path("case-audits/new/", case_audits.case_audit_create_page, name="case-audit-create"),
    path("case-audits/<int:pk>/", case_audits.case_audit_page, name="case-audit-detail"),
    path(
        "case-audits/<int:pk>/transitions/<slug:name>/",
        case_audits.case_audit_transition_view,
        name="case-audit-transition",
    ),
    path("case-audits/<int:pk>/grade/", case_audits.case_audit_grade_view, name="case-audit-grade"),
    path(
        "case-audits/<int:pk>/shortfalls/<int:shortfall_pk>/action/",
        case_audits.shortfall_action_view,
        name="case-audit-shortfall-action",
    ),
    path(
        "case-audits/<int:pk>/follow-up/", case_audits.case_audit_follow_up_view, name="case-audit-follow-up"
    ),
    path("section11/", section11.cycle_list_page, name="section11-cycles"),
    path("section11/new/", section11.cycle_create_page, name="section11-cycle-create"),
    path("section11/<int:pk>/", section11.cycle_page, name="section11-cycle-detail"),
    path("section11/<int:pk>/matrix.<str:kind>", section11.cycle_export, name="section11-cycle-export"),
    path(
        "section11/<int:pk>/transitions/<slug:name>/",
        section11.cycle_transition_view,
        name="section11-cycle-transition",
    ),
    path("section11/<int:pk>/agencies/", section11.cycle_add_agency_view, name="section11-cycle-agency"),
    path("section11/returns/<int:pk>/", section11.return_page, name="section11-return-detail"),
    path("section11/returns/<int:pk>/reviewer/", section11.assign_reviewer_view, name="section11-reviewer"),
    path(
        "section11/returns/<int:pk>/transitions/<slug:name>/",
        section11.return_transition_view,
        name="section11-return-transition",
    ),
    path("section11/ratings/<int:pk>/", section11.rating_save_view, name="section11-rating"),
    path("section11/ratings/<int:pk>/evidence/", section11.rating_evidence_view, name="section11-evidence"),
    path(
        "section11/ratings/<int:pk>/challenge/", section11.challenge_review_view, name="section11-challenge"
    ),
    path("section11/ratings/<int:pk>/respond/", section11.challenge_respond_view, name="section11-respond"),
    path("section11/ratings/<int:pk>/settle/", section11.challenge_settle_view, name="section11-settle"),
    path("section11/ratings/<int:pk>/actions/", section11.rating_action_view, name="section11-action"),
    path("section11/challenges/<int:pk>/", section11.challenge_page, name="section11-challenge-detail"),
]
