from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

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
