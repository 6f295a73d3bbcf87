"""Delivery: one digest email per person, from their unsent outbox entries.

Entries are claimed with row locks that skip rows another worker holds (PostgreSQL; SQLite has one
writer at a time anyway), so two workers never send the same entry. An entry is marked sent only after
the mail server accepted the message, in the same transaction that held its lock; a failure leaves it
pending with its attempt counted and a later retry time.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from workflows.calendar import working_calendar

from .models import ESCALATION_RULES, Digest, OutboxEntry, Rule
from .registry import chaseable_for

logger = logging.getLogger(__name__)

# Retry after 5 minutes, then 10, 20, ... at most 6 hours apart; the entry is never given up on.
BACKOFF_FIRST = dt.timedelta(minutes=5)
BACKOFF_MAX = dt.timedelta(hours=6)


def backoff(attempts: int) -> dt.timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


@dataclass
class DigestLine:
    label: str
    url: str
    due_on: dt.date
    when: str
    rule: str
    gap: str


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    entries_sent: int = 0


def due_in_words(due_on: dt.date, today: dt.date) -> str:
    """'due in 3 working days', 'due today', '5 days overdue'."""
    if due_on == today:
        return "due today"
    if due_on > today:
        days = working_calendar().working_days_between(today, due_on)
        return f"due in {days} working day{'s' if days != 1 else ''}"
    days = (today - due_on).days
    return f"{days} day{'s' if days != 1 else ''} overdue"


def _ready(now: dt.datetime) -> Q:
    return Q(status=OutboxEntry.Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def deliver_pending(*, recipient_ids: list[int] | None = None, limit: int = 1000) -> DeliveryResult:
    """Send one digest to each person with entries ready to go (at most ``limit`` people a call)."""
    now = timezone.now()
    waiting = OutboxEntry.objects.filter(_ready(now))
    if recipient_ids is not None:
        waiting = waiting.filter(recipient_id__in=recipient_ids)
    people = list(waiting.order_by("recipient_id").values_list("recipient_id", flat=True).distinct()[:limit])
    result = DeliveryResult()
    # One SMTP session for the batch; the backend reopens it if a failure closed it.
    mail_connection = get_connection()
    try:
        for person_id in people:
            _deliver_to(person_id, now, result, mail_connection)
    finally:
        mail_connection.close()
    return result


def _deliver_to(
    person_id: int, now: dt.datetime, result: DeliveryResult, mail_connection: BaseEmailBackend
) -> None:
    with transaction.atomic():
        entries = list(
            OutboxEntry.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_ready(now), recipient_id=person_id)
            .select_related("recipient", "item_type")
        )
        if not entries:
            return  # another worker holds them
        recipient = entries[0].recipient
        subject, text, html = render_digest(recipient, entries, today=timezone.localdate(now))
        try:
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.email], connection=mail_connection
            )
            message.attach_alternative(html, "text/html")
            message.send()
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("Digest to %s not sent: %s", recipient.pk, exc)
            mail_connection.close()
            for entry in entries:
                entry.attempts += 1
                entry.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
                entry.next_attempt_at = now + backoff(entry.attempts)
            OutboxEntry.objects.bulk_update(entries, ["attempts", "last_error", "next_attempt_at"])
            result.failed += 1
            return
        digest = Digest.objects.create(
            recipient=recipient, subject=subject, text=text, sent_at=timezone.now()
        )
        OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).update(
            status=OutboxEntry.Status.SENT, sent_at=digest.sent_at, digest=digest, attempts=F("attempts") + 1
        )
        result.sent += 1
        result.entries_sent += len(entries)


def _lines(entries: list[OutboxEntry], today: dt.date) -> dict[str, list[DigestLine]]:
    """One line per item, under the most pressing heading it has for this person."""
    by_type: dict[Any, list[OutboxEntry]] = defaultdict(list)
    for entry in entries:
        by_type[entry.item_type].append(entry)
    lines: dict[tuple[int, int], tuple[int, str, DigestLine]] = {}
    for item_type, typed in by_type.items():
        model = item_type.model_class()
        spec = chaseable_for(model)
        labels = dict(
            model._default_manager.filter(pk__in=[e.item_id for e in typed]).values_list(
                "pk", spec.label_field if spec else "pk"
            )
        )
        for entry in typed:
            heading = _heading(entry)
            rank = HEADINGS.index(heading)
            key = (item_type.pk, entry.item_id)
            if key in lines and lines[key][0] <= rank:
                continue
            path = reverse(spec.url_name, args=[entry.item_id]) if spec else "/"
            lines[key] = (
                rank,
                heading,
                DigestLine(
                    label=str(labels.get(entry.item_id, f"{item_type.model} {entry.item_id}")),
                    url=settings.FOLLOWTHROUGH_BASE_URL.rstrip("/") + path,
                    due_on=entry.due_on,
                    when=due_in_words(entry.due_on, today),
                    rule=entry.get_rule_display(),
                    gap=entry.gap,
                ),
            )
    grouped: dict[str, list[DigestLine]] = {heading: [] for heading in HEADINGS}
    for _, heading, line in sorted(lines.values(), key=lambda v: (v[0], v[2].due_on)):
        grouped[heading].append(line)
    return {heading: items for heading, items in grouped.items() if items}


HEADINGS = ["Escalated to you", "Escalated about your work", "Overdue", "Due soon"]


def _heading(entry: OutboxEntry) -> str:
    if entry.rule in ESCALATION_RULES:
        return "Escalated about your work" if entry.is_copy else "Escalated to you"
    if entry.rule == Rule.OVERDUE or entry.due_on < entry.sweep_date:
        return "Overdue"
    return "Due soon"


def render_digest(recipient: User, entries: list[OutboxEntry], *, today: dt.date) -> tuple[str, str, str]:
    sections = _lines(entries, today)
    count = sum(len(items) for items in sections.values())
    subject = f"Followthrough: {count} item{'s' if count != 1 else ''} need{'s' if count == 1 else ''} you"
    if "Escalated to you" in sections:
        subject += " (escalations)"
    context = {
        "recipient": recipient,
        "sections": sections,
        "count": count,
        "today": today,
        "settings_url": settings.FOLLOWTHROUGH_BASE_URL.rstrip("/") + reverse("notifications"),
    }
    text = render_to_string("notifications/emails/digest.txt", context)
    html = render_to_string("notifications/emails/digest.html", context)
    return subject, text, html
