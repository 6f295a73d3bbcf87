"""Delivery: one digest email per person, from their unsent outbox entries.

People are served oldest entry first, a bounded number a run, each in a transaction of their own, so
nobody (however much they are owed) holds up anyone else. A person's entries are claimed with one
set-based UPDATE that ties them to the digest, under a per-person lock that another worker skips
(PostgreSQL; SQLite has one writer at a time anyway); the digest is then built from exactly those
entries, in SQL, and sent. The claim commits only once the mail server accepted the message: a refusal,
a timeout or a crash rolls it back, so an entry is marked sent only when a message carrying it was
accepted, and a message sent again after a crash carries the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import Case, F, Min, Q, Value, When
from django.utils import timezone

from workflows.calendar import WorkingCalendar, working_calendar

from .digests import digest_build
from .models import ChasePolicy, Digest, OutboxEntry
from .sweep import Window

logger = logging.getLogger(__name__)

BACKOFF_MAX = dt.timedelta(hours=6)
# The first key of the per-person advisory locks, so they cannot collide with any other use of them.
LOCK_SPACE = 16_0001


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failure: doubling from the configured first wait."""
    first = dt.timedelta(seconds=settings.FOLLOWTHROUGH_DELIVERY_BACKOFF_SECONDS)
    return min(first * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    entries_sent: int = 0


class NotAccepted(Exception):
    """The mail backend took the message but sent it to nobody."""


def ready(now: dt.datetime) -> Q:
    """Entries that may go now: pending, not backing off after a failure, not held for a later digest."""
    return (
        Q(status=OutboxEntry.Status.PENDING)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    )


@dataclass(frozen=True)
class Batch:
    """What a delivery run reads once for every digest it sends."""

    now: dt.datetime
    today: dt.date
    calendar: WorkingCalendar
    window: Window
    mail_connection: BaseEmailBackend


def deliver_pending(*, recipient_ids: list[int] | None = None, limit: int = 1000) -> DeliveryResult:
    """Send one digest to each person with entries ready to go, those waiting longest first (at most
    ``limit`` people a call; the periodic run picks up the rest)."""
    now = timezone.now()
    waiting = OutboxEntry.objects.filter(ready(now))
    if recipient_ids is not None:
        waiting = waiting.filter(recipient_id__in=recipient_ids)
    people = [
        row["recipient_id"]
        for row in waiting.values("recipient_id")
        .annotate(oldest=Min("created_at"))
        .order_by("oldest")[:limit]
    ]
    result = DeliveryResult()
    if not people:
        return result
    recipients = User.objects.in_bulk(people)
    # One read of the calendar and the policy and one SMTP session for the batch; the backend reopens
    # the session if a failure closed it.
    calendar = working_calendar()
    today = timezone.localdate(now)
    batch = Batch(
        now=now,
        today=today,
        calendar=calendar,
        window=Window.for_date(ChasePolicy.current(), today, calendar=calendar),
        mail_connection=get_connection(),
    )
    try:
        for person_id in people:
            if person_id in recipients:
                _deliver_to(recipients[person_id], batch, result)
    finally:
        batch.mail_connection.close()
    return result


def _locked(person_id: int) -> bool:
    """Hold this person's delivery for the transaction, unless another worker already does."""
    if connection.vendor != "postgresql":
        return True  # SQLite lets one writer in at a time: the claim itself serialises workers
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_SPACE, person_id])
        return bool(cursor.fetchone()[0])


def _deliver_to(recipient: User, batch: Batch, result: DeliveryResult) -> None:
    failure: Exception | None = None
    with transaction.atomic():
        if not _locked(recipient.pk):
            return  # another worker is delivering to this person
        digest = Digest.objects.create(recipient=recipient, subject="", text="", sent_at=batch.now)
        claimed = (
            OutboxEntry.objects.filter(ready(batch.now), recipient=recipient)
            .order_by()
            .update(
                status=OutboxEntry.Status.SENT, sent_at=batch.now, digest=digest, attempts=F("attempts") + 1
            )
        )
        if not claimed:
            transaction.set_rollback(True)  # another worker sent them in the meantime
            return
        entries = OutboxEntry.objects.filter(digest=digest)
        content = digest_build(
            recipient, entries, today=batch.today, calendar=batch.calendar, rung=batch.window.rung("due_on")
        )
        headers = {"Message-ID": content.message_id}
        if settings.FOLLOWTHROUGH_DIGEST_ENTRY_IDS_HEADER:
            ids = entries.order_by("id").values_list("id", flat=True)
            headers["X-Followthrough-Entries"] = " ".join(str(pk) for pk in ids.iterator())
        message = EmailMultiAlternatives(
            content.subject,
            content.text,
            settings.DEFAULT_FROM_EMAIL,
            [recipient.email],
            connection=batch.mail_connection,
            headers=headers,
        )
        message.attach_alternative(content.html, "text/html")
        try:
            if message.send() != 1:
                raise NotAccepted("the mail backend sent the digest to nobody")
        except (smtplib.SMTPException, OSError, NotAccepted) as exc:
            # Nothing was accepted: the claim is undone and the failure counted below.
            transaction.set_rollback(True)
            failure = exc
        else:
            Digest.objects.filter(pk=digest.pk).update(
                subject=content.subject[:200], text=content.text, message_id=content.message_id
            )
            result.sent += 1
            result.entries_sent += claimed
    if failure is not None:
        _count_failure(recipient, failure, batch)
        result.failed += 1


def _count_failure(recipient: User, exc: Exception, batch: Batch) -> None:
    """Count a failed attempt on every entry the digest would have carried, in one UPDATE: each backs off
    by its own number of attempts, and one that has used its last attempt is marked failed, for the
    managers to see, rather than retried forever."""
    # The error's class only in the log: a mail server's refusal may quote the message back. The full
    # text is kept on the entries, for the chasing page.
    logger.warning("Digest to person %s not sent: %s", recipient.pk, exc.__class__.__name__)
    batch.mail_connection.close()
    last = settings.FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS
    OutboxEntry.objects.filter(ready(batch.now), recipient=recipient).order_by().update(
        attempts=F("attempts") + 1,
        last_error=f"{exc.__class__.__name__}: {exc}"[:1000],
        next_attempt_at=Case(
            *(When(attempts=n, then=Value(batch.now + backoff(n + 1))) for n in range(last)),
            default=Value(batch.now + BACKOFF_MAX),
        ),
        status=Case(
            When(attempts__gte=last - 1, then=Value(OutboxEntry.Status.FAILED)),
            default=Value(OutboxEntry.Status.PENDING),
        ),
    )
