"""Reminders and escalations on an item's timeline."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db import models

from workflows.owed import chaseable_for
from workflows.timeline import TimelineEntry

from .models import ESCALATION_RULES, OutboxArchive, OutboxEntry


def chase_entries(objs: Sequence[models.Model]) -> list[TimelineEntry]:
    model = type(objs[0])
    if chaseable_for(model) is None:
        return []
    which = {"item_type": ContentType.objects.get_for_model(model), "item_id__in": [obj.pk for obj in objs]}
    # What was sent long ago is in the archive (notifications.models.OutboxArchive), still the item's story.
    entries: list[OutboxEntry | OutboxArchive] = [
        *OutboxArchive.objects.filter(**which).select_related("recipient").order_by("created_at", "id"),
        *OutboxEntry.objects.filter(**which).select_related("recipient"),
    ]
    return [
        TimelineEntry(
            at=entry.created_at,
            kind="escalation" if entry.rule in ESCALATION_RULES else "reminder",
            who=None,
            summary=f"{entry.get_rule_display()}{' (copy)' if entry.is_copy else ''} to "
            f"{entry.recipient.get_full_name() or entry.recipient.get_username()}",
            detail=(
                f"Sent {entry.sent_at:%-d %B %Y, %H:%M}"
                if entry.sent_at
                else f"Not sent yet ({_attempts(entry)})"
            )
            + (f"; instead of the owner because {entry.gap}" if entry.gap else ""),
        )
        for entry in entries
    ]


def _attempts(entry: OutboxEntry | OutboxArchive) -> str:
    attempts = getattr(entry, "attempts", 0)
    return f"{attempts} attempt{'s' if attempts != 1 else ''}"
