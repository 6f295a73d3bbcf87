from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/preference/", views.preference_view, name="notification-preference"),
    path("chasing/", views.chasing_page, name="chasing"),
    path("chasing/confirm/", views.chasing_confirm_view, name="chasing-confirm"),
    path("chasing/pause/", views.chasing_pause_view, name="chasing-pause"),
    path("chasing/pauses/<int:pk>/resume/", views.chasing_resume_view, name="chasing-resume"),
]
