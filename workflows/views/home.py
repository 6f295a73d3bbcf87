from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render

from ..models import StatutoryClock
from ..selectors import awaiting_sign_off, my_work, pending_extensions
from .auth import AuthenticatedHttpRequest


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "workflows/home.html",
        {
            "person": getattr(request.user, "person", None),
            "roles": request.user.groups.order_by("name").values_list("name", flat=True),
            "open_count": my_work(request.user).count(),
            "sign_off_count": awaiting_sign_off(request.user).count(),
            "extension_count": pending_extensions(request.user).count(),
        },
    )


@login_required
def clock_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseRedirect:
    """A clock lives on its case's page: reminders link here and land there (which checks who may see it)."""
    clock = get_object_or_404(StatutoryClock, pk=pk)
    source = clock.source
    if source is None or not hasattr(source, "get_absolute_url"):
        raise Http404("This clock's case no longer exists")
    return HttpResponseRedirect(source.get_absolute_url())
