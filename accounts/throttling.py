"""API throttles, keyed on the person or on the address as accounts.addresses reads it."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .addresses import client_address


class PersonRateThrottle(UserRateThrottle):
    """Per signed-in person (session or token), whatever address they call from."""

    def get_ident(self, request: Request) -> str:
        return client_address(request._request)


class AddressRateThrottle(AnonRateThrottle):
    """Per address, for callers who are not signed in."""

    def get_ident(self, request: Request) -> str:
        return client_address(request._request)


class FailedTokenThrottle(SimpleRateThrottle):
    """Counts wrong tokens per address; used by the token authentication itself, which runs before any
    view's throttles (and before request.user exists)."""

    scope = "failed_token"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request._request)}
