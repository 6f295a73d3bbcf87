"""The people lookup behind every person picker: suggestions as a name is typed, scoped to the people the
viewer may pick, a page at a time, so no page ever lists everyone."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse

from ..forms import person_label
from ..selectors import people_lookup
from .auth import AuthenticatedHttpRequest


@login_required
def people_lookup_view(request: AuthenticatedHttpRequest) -> JsonResponse:
    found = people_lookup(request.user, request.GET.get("q", ""))
    return JsonResponse({"results": [{"value": u.get_username(), "label": person_label(u)} for u in found]})
