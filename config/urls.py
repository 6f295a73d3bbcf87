from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import PasswordResetView
from workflows.views.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A person who is not signed in is sent to sign in, as on every other page.
    path(
        "api/docs/",
        # Swagger UI's own script is a separate file (the split view) and it styles its elements inline:
        # this page alone allows inline styles, never inline script.
        login_required(
            csp_update({"style-src": ["'unsafe-inline'"]})(
                SpectacularSwaggerSplitView.as_view(url_name="api-schema")
            )
        ),
        name="api-docs",
    ),
    path("api/", include("workflows.api.urls")),
    path("api/", include("audits.api.urls")),
    path("api/", include("reviews.api.urls")),
    path("", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("", include("oversight.urls")),
    path("", include("audits.urls")),
    path("", include("reviews.urls")),
    path("", include("workflows.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An address under /api/ that matches nothing answers in JSON, as every API answer does."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
