"""The sign-in audit: one function writes every entry, and the signals that feed it."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.models import Group, User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.http import HttpRequest
from simple_history.models import HistoricalRecords

from .addresses import client_address
from .models import AccessEvent

# The attribute of a request holding why its change to someone's access was made.
CHANGE_REASON = "access_change_reason"


def current_request() -> HttpRequest | None:
    """The request being served, as simple-history's middleware keeps it (None in a command or task)."""
    return getattr(HistoricalRecords.context, "request", None)


def record(
    kind: str,
    *,
    request: HttpRequest | None,
    user: User | None = None,
    username: str = "",
    detail: str = "",
) -> AccessEvent:
    """Write one audit entry; the actor, address and any reason the person gave (``CHANGE_REASON`` on
    the request, set by the form that asked) come from the request, when there is one."""
    request = request if request is not None else current_request()
    actor = getattr(request, "user", None)
    actor = actor if isinstance(actor, User) and actor.is_authenticated and actor != user else None
    address = client_address(request) if request is not None else ""
    agent = str(request.META.get("HTTP_USER_AGENT", ""))[:200] if request is not None else ""
    return AccessEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or (user.get_username() if user else ""))[:150],
        actor=actor,
        address=address or None,
        user_agent=agent,
        detail=detail[:200],
        reason=str(getattr(request, CHANGE_REASON, ""))[:300],
    )


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record(AccessEvent.Kind.SIGNED_IN, request=request, user=user)


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record(AccessEvent.Kind.SIGNED_OUT, request=request, user=user)


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in ``credentials``; only the username is kept.
    username = str(credentials.get("username", ""))
    record(
        AccessEvent.Kind.SIGN_IN_FAILED,
        request=request,
        user=User.objects.filter(username=username).first(),
        username=username,
    )


@receiver(user_locked_out)
def _locked_out(sender: Any, request: HttpRequest | None, username: str | None, **kwargs: Any) -> None:
    record(
        AccessEvent.Kind.LOCKED_OUT,
        request=request,
        user=User.objects.filter(username=username or "").first(),
        username=username or "",
    )


@receiver(m2m_changed, sender=User.groups.through)
def _roles_changed(
    sender: Any, instance: User | Group, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A role granted or removed, from the admin, a command or code, whichever side the change came from."""
    if action == "pre_clear":
        # The cleared memberships are gone after the clear: note them now.
        if isinstance(instance, User):
            instance._cleared_roles = list(instance.groups.all())  # type: ignore[attr-defined]
        else:
            instance._cleared_people = list(instance.user_set.all())  # type: ignore[attr-defined]
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    kind = AccessEvent.Kind.ROLE_GRANTED if action == "post_add" else AccessEvent.Kind.ROLE_REMOVED
    if isinstance(instance, User):
        groups = (
            getattr(instance, "_cleared_roles", [])
            if action == "post_clear"
            else list(Group.objects.filter(pk__in=pk_set or ()))
        )
        for group in groups:
            record(kind, request=None, user=instance, detail=group.name)
    else:
        people = (
            getattr(instance, "_cleared_people", [])
            if action == "post_clear"
            else list(User.objects.filter(pk__in=pk_set or ()))
        )
        for person in people:
            record(kind, request=None, user=person, detail=instance.name)
