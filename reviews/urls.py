from django.urls import path

from .views import pages

urlpatterns = [
    path("reviews/", pages.dashboard_page, name="reviews"),
    path("reviews/rapid/new/", pages.rapid_review_create_page, name="rapid-review-create"),
    path("reviews/rapid/<int:pk>/", pages.rapid_review_page, name="rapid-review-detail"),
    path("reviews/rapid/<int:pk>/agencies/", pages.rapid_review_ask_view, name="rapid-review-ask"),
    path("reviews/practice/new/", pages.practice_review_create_page, name="practice-review-create"),
    path("reviews/practice/<int:pk>/", pages.practice_review_page, name="practice-review-detail"),
    path("reviews/<str:kind>/<int:pk>/edit/", pages.review_edit_page, name="review-edit"),
    path(
        "reviews/<str:kind>/<int:pk>/transitions/<slug:name>/",
        pages.review_transition_view,
        name="review-transition",
    ),
    path(
        "reviews/<str:kind>/<int:pk>/recommendations/",
        pages.review_recommendation_view,
        name="review-recommendation-add",
    ),
    path(
        "reviews/<str:kind>/<int:pk>/recommendations/<int:recommendation_pk>/actions/",
        pages.review_action_view,
        name="review-action-add",
    ),
    path("chronologies/<int:pk>/", pages.chronology_page, name="chronology-detail"),
]
