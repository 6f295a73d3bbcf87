"""Writes on chasing: switching it on, pausing a source, a person's delivery preference."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from workflows.transitions import record_refusal

from .models import ChasePause, ChasePolicy, NotificationPreference, OutboxEntry
from .sweep import SweepResult, sweep
from .tasks import request_delivery


def _require_manager(actor: User) -> None:
    if not actor.has_perm("notifications.manage_chasing"):
        raise PermissionDenied("only a manager may change how chasing runs")


def _refused(
    subject: models.Model, actor: User, attempted: str, reason: str, comment: str = ""
) -> ValidationError:
    """The refusal to give a manager who lost a race (or came late), with its trace kept beside the
    winner's record."""
    record_refusal(subject, actor, attempted=attempted, reason=reason, comment=comment)
    return ValidationError(reason)


def _when(at: datetime.datetime | None) -> str:
    return f"{timezone.localtime(at):%-d %B %Y at %H:%M}" if at is not None else ""


def _name(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "someone"


def chasing_confirm(*, actor: User) -> SweepResult:
    """Switch chasing on after the manager has seen the preview, and run today's sweep at once.

    Locked on the policy row: of two managers switching it on at once, one does (the policy's history
    says who) and the other is told who did, with their attempt recorded."""
    _require_manager(actor)
    with transaction.atomic():
        policy = ChasePolicy.objects.select_for_update().get(pk=ChasePolicy.current().pk)
        if policy.confirmed_at is None:
            policy.confirmed_at = timezone.now()
            policy.confirmed_by = actor
            policy._history_user = actor  # type: ignore[attr-defined]
            policy._change_reason = "Chasing switched on after the preview"  # type: ignore[attr-defined]
            policy.save()
            result = sweep(on=timezone.localdate(), describe=False)
            request_delivery()
            return result
    when = _when(policy.confirmed_at)
    raise _refused(
        policy,
        actor,
        "Switch chasing on",
        f"Chasing is already switched on: {_name(policy.confirmed_by)} switched it on {when}",
    )


def _active_pause(source_type: ContentType, source_id: int) -> ChasePause | None:
    return (
        ChasePause.objects.select_related("paused_by")
        .filter(source_type=source_type, source_id=source_id, resumed_at=None)
        .first()
    )


def _already_paused(pause: ChasePause) -> str:
    return f"Chasing is already paused for this: {_name(pause.paused_by)} paused it {_when(pause.paused_at)}"


def chasing_pause(*, actor: User, source: models.Model, reason: str) -> ChasePause:
    """Stop chasing everything from ``source`` until resumed; the reason is kept.

    Chasing decisions are serialised on the policy row, so of two managers pausing one source at once one
    pauses it and the other is told who did, with their attempt recorded (never a database error)."""
    _require_manager(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why chasing is paused"})
    source_type = ContentType.objects.get_for_model(type(source))
    try:
        with transaction.atomic():
            ChasePolicy.objects.select_for_update().get(pk=ChasePolicy.current().pk)
            paused = _active_pause(source_type, source.pk)
            if paused is None:
                return ChasePause.objects.create(
                    source_type=source_type, source_id=source.pk, reason=reason.strip(), paused_by=actor
                )
    except IntegrityError:
        # A database that cannot lock (SQLite) lets a second pause reach the one-active-pause constraint.
        paused = _active_pause(source_type, source.pk)
    assert paused is not None
    raise _refused(source, actor, "Pause chasing", _already_paused(paused), comment=reason.strip())


def chasing_resume(*, actor: User, pause: ChasePause) -> ChasePause:
    """Chase ``pause``'s source again. Locked on the pause: of two managers resuming at once, one does and
    the other is told who did, with their attempt recorded."""
    _require_manager(actor)
    with transaction.atomic():
        locked = ChasePause.objects.select_for_update().get(pk=pause.pk)
        if locked.resumed_at is None:
            locked.resumed_at = timezone.now()
            locked.resumed_by = actor
            locked.save(update_fields=["resumed_at", "resumed_by"])
            return locked
    raise _refused(
        locked.source or locked,
        actor,
        "Resume chasing",
        f"Chasing was already resumed: {_name(locked.resumed_by)} resumed it {_when(locked.resumed_at)}",
    )


def preference_set(*, user: User, delivery: str) -> NotificationPreference:
    if delivery not in NotificationPreference.Delivery.values:
        raise ValidationError({"delivery": "Choose how you want to hear from Followthrough"})
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"delivery": delivery}
    )
    return preference


# The archive keeps what a timeline shows and the key; a sent entry is never changed again.
_ARCHIVED = ", ".join(
    [
        "item_type_id",
        "item_id",
        "recipient_id",
        "rule",
        "due_on",
        "period",
        "round",
        "sweep_date",
        "gap",
        "is_copy",
        "created_at",
        "sent_at",
    ]
)


def outbox_archive_sent(*, before: datetime.datetime) -> int:
    """Move the entries sent before ``before`` from the outbox to its archive, in one transaction.

    Exactly once still holds for anything a later sweep could write: the sweep refuses a key the archive
    holds as it refuses one the outbox holds, and this takes the same lock as the sweep, so a key is
    never between the two while a sweep checks it. Entries still to go, or that failed, stay."""
    sent = "FROM notifications_outboxentry WHERE status = %s AND sent_at < %s"
    params: list[Any] = [str(OutboxEntry.Status.SENT), before]
    with transaction.atomic():
        ChasePolicy.objects.select_for_update().filter(pk=ChasePolicy.current().pk).first()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO notifications_outboxarchive ({_ARCHIVED}) SELECT {_ARCHIVED} {sent} "
                "ON CONFLICT DO NOTHING",
                params,
            )
            cursor.execute(f"DELETE {sent}", params)
            return max(cursor.rowcount, 0)
