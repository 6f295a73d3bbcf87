"""Writes on chasing: switching it on, pausing a source, a person's delivery preference."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from .models import ChasePause, ChasePolicy, NotificationPreference
from .sweep import SweepResult, sweep
from .tasks import request_delivery


def _require_manager(actor: User) -> None:
    if not actor.has_perm("notifications.manage_chasing"):
        raise PermissionDenied("only a manager may change how chasing runs")


def chasing_confirm(*, actor: User) -> SweepResult:
    """Switch chasing on after the manager has seen the preview, and run today's sweep at once."""
    _require_manager(actor)
    with transaction.atomic():
        policy = ChasePolicy.objects.select_for_update().get(pk=ChasePolicy.current().pk)
        if policy.confirmed_at is not None:
            raise ValidationError("Chasing is already switched on")
        policy.confirmed_at = timezone.now()
        policy.confirmed_by = actor
        policy._history_user = actor  # type: ignore[attr-defined]
        policy.save()
        result = sweep(on=timezone.localdate(), describe=False)
        request_delivery()
    return result


def chasing_pause(*, actor: User, source: models.Model, reason: str) -> ChasePause:
    """Stop chasing everything from ``source`` until resumed; the reason is kept."""
    _require_manager(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why chasing is paused"})
    source_type = ContentType.objects.get_for_model(type(source))
    if ChasePause.objects.filter(source_type=source_type, source_id=source.pk, resumed_at=None).exists():
        raise ValidationError("Chasing is already paused for this source")
    return ChasePause.objects.create(
        source_type=source_type, source_id=source.pk, reason=reason.strip(), paused_by=actor
    )


def chasing_resume(*, actor: User, pause: ChasePause) -> ChasePause:
    _require_manager(actor)
    if pause.resumed_at is not None:
        raise ValidationError("Chasing was already resumed")
    pause.resumed_at = timezone.now()
    pause.resumed_by = actor
    pause.save(update_fields=["resumed_at", "resumed_by"])
    return pause


def preference_set(*, user: User, delivery: str) -> NotificationPreference:
    if delivery not in NotificationPreference.Delivery.values:
        raise ValidationError({"delivery": "Choose how you want to hear from Followthrough"})
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"delivery": delivery}
    )
    return preference
