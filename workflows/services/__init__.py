"""Writes. Each service is one transaction and says what it guarantees."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import models


def save_checked(obj: models.Model, actor: User, *, reason: str = "") -> None:
    """Validate ``obj`` and save it with ``actor`` and ``reason`` in its history. A protected state is left
    out of the validation: it changes only by transition, and full_clean would try to set it."""
    obj.full_clean(exclude=["state"])
    obj._history_user = actor  # type: ignore[attr-defined]
    if reason:
        obj._change_reason = reason[:100]  # type: ignore[attr-defined]
    obj.save()


def model_update(
    obj: models.Model,
    *,
    actor: User,
    reason: str = "",
    changes: dict[str, Any],
    clean_exclude: list[str] | None = None,
) -> list[str]:
    """The one way a service changes fields a person may ask "who changed this and why?" about.

    Sets ``changes`` on ``obj``, validates it, and saves only the fields whose value differs, with
    ``actor`` and ``reason`` on the history row. Nothing is saved (and no history row written) when
    nothing changed. Returns the names of the fields changed. The caller holds the transaction and, where
    two people may race, a lock on ``obj``'s row.
    """
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(obj, name, changes[name])
    obj.full_clean(exclude=clean_exclude if clean_exclude is not None else ["state"])
    obj._history_user = actor  # type: ignore[attr-defined]
    if reason:
        obj._change_reason = reason[:100]  # type: ignore[attr-defined]
    obj.save(update_fields=[obj._meta.get_field(name).name for name in changed])
    return changed
