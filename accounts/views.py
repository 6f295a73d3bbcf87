"""The person's own account area: their personal API tokens."""

from django.contrib import messages
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
