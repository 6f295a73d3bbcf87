from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from ..forms import scope_people
from ..transitions import TransitionConflict, TransitionRefused, state_label, transition_perform


def show_errors(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    """Put a refused service call's reasons on the page, one error message each."""
    if isinstance(error, ValidationError):
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.error(request, str(error) or "You may not do that")  # PermissionDenied carries plain text


def attempt(request: HttpRequest, call: Callable[[], Any], success: str | Callable[[], str]) -> bool:
    """Run one service call and put its refusal, or ``success`` (worked out after the call if it is a
    function), on the page; say whether it worked."""
    try:
        call()
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
        return False
    except (TransitionRefused, TransitionConflict) as refusal:
        messages.error(request, str(refusal))
        return False
    messages.success(request, success if isinstance(success, str) else success())
    return True


def post_form(
    request: HttpRequest,
    form_class: type[Any],
    call: Callable[[dict[str, Any]], Any],
    success: str,
    *,
    back_to: str,
    prefix: str | None = None,
) -> HttpResponse:
    """Parse a small form posted from a case page, call its service, and go back to ``back_to``."""
    form = scope_people(form_class(request.POST, prefix=prefix), request.user)
    if form.is_valid():
        attempt(request, lambda: call(form.cleaned_data), success)
    else:
        show_errors(request, ValidationError(form.errors.as_data()))
    return HttpResponseRedirect(back_to)


def transition_from_post(request: HttpRequest, obj: models.Model, name: str, *, noun: str) -> HttpResponse:
    """Make transition ``name`` on ``obj`` as a page's transition form asked (its comment, and the state the
    person read, so a stale page gets a conflict), say what happened, and go back to the object's page."""
    attempt(
        request,
        lambda: transition_perform(
            obj=obj,
            name=name,
            actor=request.user,
            comment=request.POST.get("comment", ""),
            expected_state=request.POST.get("state") or None,
        ),
        lambda: f"Done: the {noun} is now {state_label(obj).lower()}",
    )
    return HttpResponseRedirect(obj.get_absolute_url())  # type: ignore[attr-defined]
