"""Where a request comes from: the one rule the lockout, the API throttles and the sign-in record share."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or, behind FOLLOWTHROUGH_TRUSTED_PROXIES proxies, the address the
    outermost trusted proxy saw. Entries further left in X-Forwarded-For are the caller's to invent, so
    they are never believed."""
    proxies = settings.FOLLOWTHROUGH_TRUSTED_PROXIES
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
