"""Middleware the whole site shares."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import add_never_cache_headers


class NeverCacheSignedInMiddleware:
    """Nothing shown to a signed-in person is kept by the browser or a proxy: safeguarding records on a
    shared computer must not come back with the back button or from a cache after sign-out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The request's user after the view: signing in or out in this request counts too.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


NUL = "\x00"
NUL_MESSAGE = "The request holds a NUL character, which no field may hold: remove it and try again."


class RefuseNulMiddleware:
    """A NUL character in the address, the query string or a form's fields is refused with a 400.

    PostgreSQL cannot store or compare text holding NUL (the driver raises), so one junk character in
    any filter or field was a server error; here it is one clear refusal for every page, the admin and
    the API alike. Uploaded files' contents are not fields and may hold any bytes; JSON bodies are
    checked by the API's own fields.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _holds_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    forms = [request.GET]
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        forms.append(request.POST)
    return any(NUL in key or any(NUL in v for v in values) for data in forms for key, values in data.lists())
