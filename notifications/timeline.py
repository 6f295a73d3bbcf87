"""Reminders and escalations on an item's timeline."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db import models

from workflows.owed import chaseable_for
from workflows.timeline import TimelineEntry

from .models import ESCALATION_RULES, OutboxEntry


def chase_entries(objs: Sequence[models.Model]) -> list[TimelineEntry]:
    model = type(objs[0])
    if chaseable_for(model) is None:
        return []
    entries = OutboxEntry.objects.filter(
        item_type=ContentType.objects.get_for_model(model), item_id__in=[obj.pk for obj in objs]
    ).select_related("recipient")
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
                else f"Not sent yet ({entry.attempts} attempt{'s' if entry.attempts != 1 else ''})"
            )
            + (f"; instead of the owner because {entry.gap}" if entry.gap else ""),
        )
        for entry in entries
    ]
