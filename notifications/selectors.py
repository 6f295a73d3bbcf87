from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from workflows.owed import chaseables

from .models import ChasePause, Digest, OutboxEntry
from .sweep import PlannedEntry, sweep_preview


@dataclass(frozen=True)
class Preview:
    entries: list[PlannedEntry]
    per_person: list[tuple[str, int]]
    per_rule: list[tuple[str, int]]


def first_sweep_preview() -> Preview:
    """What today's sweep would send, counted per person and per rung: read only, so the page never
    writes (a rolled-back sweep still took SQLite's write lock on every view)."""
    entries = sweep_preview(on=timezone.localdate())
    return Preview(
        entries=entries,
        per_person=Counter(e.recipient for e in entries).most_common(),
        per_rule=sorted(Counter(e.rule for e in entries).items()),
    )


def active_pauses() -> QuerySet[ChasePause]:
    return ChasePause.objects.filter(resumed_at=None).select_related("source_type", "paused_by")


def needs_a_date() -> list[Any]:
    """Open chaseable items with no due date: they get no reminders until someone gives them one."""
    items: list[Any] = []
    for spec in chaseables():
        items += list(
            spec.model._default_manager.filter(spec.open).filter(**{f"{spec.due_field}__isnull": True})[:200]
        )
    return items


def digests_for(user: User) -> QuerySet[Digest]:
    return Digest.objects.filter(recipient=user)


def waiting_for(user: User) -> QuerySet[OutboxEntry]:
    return OutboxEntry.objects.filter(recipient=user, status=OutboxEntry.Status.PENDING).select_related(
        "item_type"
    )


def pausable_sources() -> list[tuple[str, str]]:
    """(key, label) for every source that has chaseable items, key being "<content type id>:<id>"."""
    keys: set[tuple[int, int]] = set()
    for spec in chaseables():
        if spec.source_type_field and spec.source_id_field:
            keys |= set(
                spec.model._default_manager.filter(**{f"{spec.source_type_field}__isnull": False})
                .values_list(spec.source_type_field, spec.source_id_field)
                .distinct()
            )
    choices = []
    for type_id in sorted({t for t, _ in keys}):
        model = ContentType.objects.get_for_id(type_id).model_class()
        assert model is not None
        for source in model._default_manager.filter(pk__in=[i for t, i in keys if t == type_id]):
            choices.append(
                (f"{type_id}:{source.pk}", f"{str(model._meta.verbose_name).capitalize()}: {source}")
            )
    return choices
