"""API authentication by personal token: `Authorization: Bearer <token>` (or `Token <token>`)."""

from typing import NoReturn

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .addresses import client_address
from .models import ApiToken, digest_of
from .throttling import FailedTokenThrottle

KEYWORDS = (b"bearer", b"token")


class PersonalTokenAuthentication(BaseAuthentication):
    """The token's person is the caller: every rule that scopes what a person sees applies unchanged."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            self._refuse(request, "Give the token after the word Bearer, with no spaces in it.")
        try:
            key = parts[1].decode()
        except UnicodeError:
            self._refuse(request, "The token is not valid.")
        token = ApiToken.objects.active().select_related("user").filter(digest=digest_of(key)).first()
        if token is None:
            self._refuse(
                request, "The token is not valid, has been revoked or its person can no longer sign in."
            )
        address = client_address(request._request)
        ApiToken.objects.filter(pk=token.pk).update(
            last_used_at=timezone.now(), last_used_from=address or None
        )
        return token.user, token

    def _refuse(self, request: Request, reason: str) -> NoReturn:
        """A wrong token counts against the caller's address; too many and they wait, so tokens cannot be
        guessed at speed."""
        throttle = FailedTokenThrottle()
        # No view yet: authentication runs before one is chosen, and this throttle never asks for it.
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            raise exceptions.Throttled(throttle.wait())
        raise exceptions.AuthenticationFailed(reason)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
