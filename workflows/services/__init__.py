"""Writes. Each service is one transaction and says what it guarantees."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models


def save_checked(obj: models.Model, actor: User) -> None:
    """Validate ``obj`` and save it with ``actor`` in its history. A protected state is left out of the
    validation: it changes only by transition, and full_clean would try to set it."""
    obj.full_clean(exclude=["state"])
    obj._history_user = actor  # type: ignore[attr-defined]
    obj.save()
