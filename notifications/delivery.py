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
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from workflows.calendar import WorkingCalendar, working_calendar

from .digests import render_digest
from .models import Digest, OutboxEntry

logger = logging.getLogger(__name__)

# Retry after 5 minutes, then 10, 20, ... at most 6 hours apart; the entry is never given up on.
BACKOFF_FIRST = dt.timedelta(minutes=5)
BACKOFF_MAX = dt.timedelta(hours=6)


def backoff(attempts: int) -> dt.timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    entries_sent: int = 0


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
    if not people:
        return result
    # One read of the calendar and one SMTP session for the batch; the backend reopens the session if a
    # failure closed it.
    calendar = working_calendar()
    mail_connection = get_connection()
    try:
        for person_id in people:
            _deliver_to(person_id, now, result, mail_connection, calendar)
    finally:
        mail_connection.close()
    return result


def _deliver_to(
    person_id: int,
    now: dt.datetime,
    result: DeliveryResult,
    mail_connection: BaseEmailBackend,
    calendar: WorkingCalendar,
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
        subject, text, html = render_digest(
            recipient, entries, today=timezone.localdate(now), calendar=calendar
        )
        try:
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.email], connection=mail_connection
            )
            message.attach_alternative(html, "text/html")
            message.send()
        except (smtplib.SMTPException, OSError) as exc:
            # The error's class only: a mail server's refusal may quote the message back. The full
            # text is kept on the entries, for the chasing page.
            logger.warning("Digest to person %s not sent: %s", recipient.pk, exc.__class__.__name__)
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
