"""Creating and revoking personal API tokens."""

import secrets

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .audit import record
from .models import TOKEN_PREFIX, AccessEvent, ApiToken, digest_of


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; the key is returned this once and only its digest is kept."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the token"})
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[: len(TOKEN_PREFIX) + 6], digest=digest_of(key)
        )
        record(
            AccessEvent.Kind.TOKEN_CREATED, request=None, user=user, detail=f"{token.name} ({token.prefix}…)"
        )
    return token, key


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens; anyone else's is not found."""
    revoked = revoke_tokens(ApiToken.objects.filter(user=user, pk=token_id))
    if not revoked:
        raise ApiToken.DoesNotExist("No such token of yours")
    return revoked[0]


def revoke_tokens(tokens: QuerySet[ApiToken]) -> list[ApiToken]:
    """Revoke the given tokens (an administrator may pick anyone's), each once, each in the audit."""
    revoked = []
    with transaction.atomic():
        for token in tokens.select_for_update().select_related("user"):
            if token.revoked_at is None:
                token.revoked_at = timezone.now()
                token.save(update_fields=["revoked_at"])
                record(
                    AccessEvent.Kind.TOKEN_REVOKED,
                    request=None,
                    user=token.user,
                    detail=f"{token.name} ({token.prefix}…)",
                )
            revoked.append(token)
    return revoked
