"""Creating and revoking personal API tokens."""

import secrets

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import TOKEN_PREFIX, ApiToken, digest_of


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; the key is returned this once and only its digest is kept."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the token"})
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[: len(TOKEN_PREFIX) + 6], digest=digest_of(key)
    )
    return token, key


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens; anyone else's is not found."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token
