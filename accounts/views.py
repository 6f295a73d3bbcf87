"""The person's own account area (their personal API tokens) and resetting a forgotten password."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from workflows.views.auth import AuthenticatedHttpRequest

from . import services
from .forms import TokenForm
from .models import ApiToken


@login_required
def tokens_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Lists the person's tokens; a POST creates one and shows its key this once (the page is never cached,
    as nothing shown to a signed-in person is)."""
    form = TokenForm(request.POST or None)
    key = None
    if request.method == "POST" and form.is_valid():
        _, key = services.issue_token(request.user, form.cleaned_data["name"])
        form = TokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "accounts/tokens.html", {"form": form, "key": key, "tokens": tokens})


@login_required
@require_POST
def revoke_token_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseRedirect:
    try:
        token = services.revoke_token(request.user, pk)
    except ApiToken.DoesNotExist:
        raise Http404("No such token of yours") from None
    messages.success(request, f"Token “{token.name}” is revoked: it no longer works.")
    return HttpResponseRedirect(reverse("account-tokens"))


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset (single-use links, expiring after PASSWORD_RESET_TIMEOUT, the same answer whether or
    not the address has an account); the emailed link is on the site's configured public address, never
    on whatever Host the request named."""

    email_template_name = "registration/password_reset_email.txt"

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"base_url": settings.FOLLOWTHROUGH_BASE_URL.rstrip("/")}
        return super().form_valid(form)
