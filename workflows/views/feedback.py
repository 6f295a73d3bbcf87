from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest


def show_errors(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    """Put a refused service call's reasons on the page, one error message each."""
    if isinstance(error, ValidationError):
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.error(request, str(error) or "You may not do that")  # PermissionDenied carries plain text
