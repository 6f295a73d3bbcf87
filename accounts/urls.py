from django.urls import path

from . import views

urlpatterns = [
    path("account/tokens/", views.tokens_page, name="account-tokens"),
    path("account/tokens/<int:pk>/revoke/", views.revoke_token_view, name="account-token-revoke"),
]
