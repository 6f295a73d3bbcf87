"""What a manager does to several queue items at once: reassign them, escalate them, chase them now.
Each is one transaction, refuses a selection it may not touch as a whole, and leaves a trace on every
item's timeline (a history change with the reason, or the outbox entry the chase wrote)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.delivery import join_next_digest
from notifications.models import ESCALATION_RULES, OutboxEntry, Rule
from notifications.sweep import escalate_now
from notifications.tasks import request_delivery
from workflows.models import Action
from workflows.owed import chaseable_for
from workflows.transitions import is_party, record_refusal


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise ValidationError({"reason": "Give a reason: it is recorded on every item"})
    return reason.strip()


def queue_reassign(*, actor: User, actions: QuerySet[Action], owner: User, reason: str) -> int:
    """Give the selected actions a new owner who works for each action's agency."""
    reason = _require_reason(reason)
    if not actor.has_perm("workflows.agree_action"):
        raise PermissionDenied("only a manager or an agency lead may reassign actions")
    owner_agency = getattr(getattr(owner, "person", None), "agency_id", None)
    elsewhere = [a.reference or str(a.pk) for a in actions if a.agency_id != owner_agency]
    if elsewhere:
        name = owner.get_full_name() or owner.username
        raise ValidationError(
            {"owner": f"{name} does not work for the agency of {', '.join(elsewhere[:10])}"}
        )
    with transaction.atomic():
        # Locked by id alone: the queue's query joins nullable relations, which cannot be locked.
        locked = list(Action.objects.select_for_update().filter(pk__in=[a.pk for a in actions]))
        # Four eyes on the locked rows: whoever owns each action now.
        own = [action for action in locked if is_party(action, actor)]
        if not own:
            changed = 0
            for action in locked:
                if action.owner_id == owner.pk:
                    continue
                action.owner = owner
                action._history_user = actor  # type: ignore[attr-defined]
                action._change_reason = f"Reassigned from the queue: {reason}"[:100]  # type: ignore[attr-defined]
                action.save()
                changed += 1
            return changed
    refused = (
        f"You cannot reassign an action you own ({', '.join(a.reference or str(a.pk) for a in own[:10])}): "
        "another manager or your agency lead must"
    )
    for action in own:
        record_refusal(action, actor, attempted="Reassign from the queue", reason=refused, comment=reason)
    raise PermissionDenied(refused)


def _write(entries: list[OutboxEntry], *, at: dt.datetime) -> int:
    # A second press in the same minute writes nothing new: never the same chase twice.
    created = OutboxEntry.objects.bulk_create(entries, ignore_conflicts=True)
    written = OutboxEntry.objects.filter(
        item_type=ContentType.objects.get_for_model(Action),
        item_id__in=[e.item_id for e in entries],
        rule=Rule.CHASE_NOW,
        period=int(at.timestamp() // 60),
    )
    # Joins the owner's next daily digest: one email a day, however often they are chased.
    join_next_digest(written, at=at)
    return len(created)


def queue_chase_now(*, actor: User, actions: QuerySet[Action]) -> int:
    """Put each selected action in its owner's next digest now, as a chase from a manager."""
    if not actor.has_perm("notifications.manage_chasing") and not actor.has_perm(
        "workflows.view_agency_work"
    ):
        raise PermissionDenied("only a manager or an agency lead may chase from the queue")
    now = timezone.now()
    item_type = ContentType.objects.get_for_model(Action)
    entries = [
        OutboxEntry(
            item_type=item_type,
            item_id=action.pk,
            recipient_id=action.owner_id or 0,  # excluded below when there is no owner
            rule=Rule.CHASE_NOW,
            due_on=action.due_on or now.date(),
            period=int(now.timestamp() // 60),
            round=action.reopened_count,
            sweep_date=now.date(),
        )
        for action in actions.exclude(owner__isnull=True)
    ]
    with transaction.atomic():
        return _write(entries, at=now)


def queue_escalate(*, actor: User, actions: QuerySet[Action], reason: str) -> int:
    """Escalate each selected action to the next rung now, whatever its days overdue, through the
    ladder the sweep uses (notifications.sweep.escalate_now): refused, writing nothing, if any would
    reach nobody. The owner is copied; the reason is on every entry."""
    reason = _require_reason(reason)
    if not actor.has_perm("notifications.manage_chasing"):
        raise PermissionDenied("only a manager may escalate from the queue")
    spec = chaseable_for(Action)
    assert spec is not None
    gap = f"escalated from the queue by {actor.get_full_name() or actor.username}: {reason}"[:200]
    at = timezone.now()
    with transaction.atomic():
        written = escalate_now(items=actions, spec=spec, gap=gap, at=at)
        # Joins each person's next daily digest, unless they chose escalations straight away.
        escalated = OutboxEntry.objects.filter(
            item_type=ContentType.objects.get_for_model(Action),
            item_id__in=actions.values("pk"),
            rule__in=ESCALATION_RULES,
            period=int(at.timestamp() // 60),
        )
        at_once = join_next_digest(escalated, at=at)
        if at_once:
            request_delivery(at_once)
    return len(written)
