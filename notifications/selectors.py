from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Min, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from workflows.owed import chaseables

from .models import ChasePause, Digest, OutboxEntry
from .sweep import Preview, sweep_preview

PREVIEW_PEOPLE_PER_PAGE = 50


def first_sweep_preview(*, page: int = 1) -> Preview:
    """What today's sweep would send, counted per person (a page at a time) and per rung, in SQL and
    read only: the page never writes, and never loads the entries themselves."""
    return sweep_preview(
        on=timezone.localdate(),
        offset=(max(page, 1) - 1) * PREVIEW_PEOPLE_PER_PAGE,
        limit=PREVIEW_PEOPLE_PER_PAGE,
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


@dataclass(frozen=True)
class DeliveryState:
    """How delivery is doing, for the managers and /healthz."""

    oldest_pending_since: dt.datetime | None
    failed: int
    # The most recent entries given up on, for the chasing page.
    recent_failures: list[OutboxEntry]

    def waited(self, now: dt.datetime) -> dt.timedelta | None:
        return now - self.oldest_pending_since if self.oldest_pending_since else None


FAILURES_SHOWN = 50


def delivery_state(*, now: dt.datetime, failures: int = FAILURES_SHOWN) -> DeliveryState:
    """The oldest entry that could go now but has not (held for the next daily digest does not count:
    it waits by design), and the entries given up on. Two small queries on the (status, recipient)
    index whatever the outbox's size, and the failures shown when asked for."""
    pending = OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    given_up = OutboxEntry.objects.filter(status=OutboxEntry.Status.FAILED)
    return DeliveryState(
        oldest_pending_since=pending.aggregate(since=Min(Coalesce("not_before", "created_at")))["since"],
        failed=given_up.count(),
        recent_failures=list(
            given_up.select_related("recipient", "item_type").order_by("-id")[:failures] if failures else []
        ),
    )


def outbox_health() -> dict[str, Any]:
    """The /healthz reading: seconds the oldest waiting entry has waited, and entries given up on."""
    now = timezone.now()
    state = delivery_state(now=now, failures=0)
    waited = state.waited(now)
    return {
        "oldest_pending_seconds": int(waited.total_seconds()) if waited is not None else None,
        "failed": state.failed,
    }


def in_words(duration: dt.timedelta) -> str:
    """'45 minutes', '3 hours', '2 days': the largest whole unit, for a manager reading a page."""
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = int(duration.total_seconds() // seconds)
        if count:
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"
