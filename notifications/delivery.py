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
from django.db.models import Case, DateTimeField, Exists, F, Min, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from workflows.calendar import WorkingCalendar, working_calendar

from . import ladder
from .digests import agency_of_item, digest_build
from .models import ESCALATION_RULES, ChasePolicy, Digest, NotificationPreference, OutboxEntry
from .sweep import COLUMNS, Window

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


# What "escalations straight away" is about: escalations to the person, not the owner's copies of them.
ESCALATED_TO_THEM = Q(rule__in=ESCALATION_RULES, is_copy=False)


def next_digest_at(at: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    """When the daily digest after ``at`` goes: the sweep's hour on the next working day (today, if that
    hour has not come yet), London time."""
    local = timezone.localtime(at)
    day = local.date()
    if not (calendar.is_working_day(day) and local.hour < settings.FOLLOWTHROUGH_SWEEP_HOUR):
        day = calendar.add_working_days(day, 1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(settings.FOLLOWTHROUGH_SWEEP_HOUR)))


def join_next_digest(entries: QuerySet[OutboxEntry], *, at: dt.datetime) -> list[int]:
    """Entries written outside the daily sweep (a chase or an escalation from the queue) wait for each
    person's next daily digest, so nobody gets more than one email a day for them; escalations to people
    who chose "escalations straight away" go now. Returns those people, to deliver to at once."""
    at_once = ESCALATED_TO_THEM & Q(
        recipient__notification_preference__delivery=NotificationPreference.Delivery.IMMEDIATE_ESCALATIONS
    )
    pending = entries.filter(status=OutboxEntry.Status.PENDING, not_before__isnull=True)
    now = list(pending.filter(at_once).values_list("recipient_id", flat=True).distinct())
    pending.exclude(at_once).update(not_before=next_digest_at(at, working_calendar()))
    return now


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
    business_managers: list[int]
    # The people of this batch who chose to have escalations straight away.
    escalations_at_once: set[int]
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
    policy = ChasePolicy.current()
    batch = Batch(
        now=now,
        today=today,
        calendar=calendar,
        window=Window.for_date(policy, today, calendar=calendar),
        business_managers=ladder.business_manager_ids(policy),
        escalations_at_once=set(
            NotificationPreference.objects.filter(
                user_id__in=people, delivery=NotificationPreference.Delivery.IMMEDIATE_ESCALATIONS
            ).values_list("user_id", flat=True)
        ),
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


def _unreachable(recipient: User) -> str:
    """Why a digest cannot go to this person now (their account or address changed since the sweep)."""
    name = recipient.get_full_name() or recipient.get_username()
    if not recipient.is_active:
        return f"{name}'s account was deactivated before this reached them"
    if not recipient.email:
        return f"{name} has no email address to send this to"
    return ""


def _deliver_to(recipient: User, batch: Batch, result: DeliveryResult) -> None:
    gap = _unreachable(recipient)
    if gap:
        _pass_on(recipient, gap, batch)
        return
    if recipient.pk in batch.escalations_at_once:
        # Escalations to them come in an email of their own, as soon as they are written; the rest
        # waits for the daily digest like everyone else's.
        _send(recipient, ESCALATED_TO_THEM, batch, result, escalations_only=True)
        _send(recipient, ~ESCALATED_TO_THEM, batch, result)
    else:
        _send(recipient, Q(), batch, result)


def _send(
    recipient: User, scope: Q, batch: Batch, result: DeliveryResult, *, escalations_only: bool = False
) -> None:
    """Claim the person's ready entries within ``scope``, build their digest and send it, all in one
    transaction: the claim commits only if the mail server accepted the message."""
    failure: Exception | None = None
    gap = ""
    with transaction.atomic():
        if not _locked(recipient.pk):
            return  # another worker is delivering to this person
        digest = Digest.objects.create(recipient=recipient, subject="", text="", sent_at=batch.now)
        # Reachable now, not only when the batch began: someone deactivated mid-run is passed on. As a
        # test of the one person, not a join: a join makes the UPDATE "id IN (a self-join)", which
        # PostgreSQL ran as a nested loop over every pending entry on a freshly filled outbox (a
        # 29,000-entry claim ran for more than 15 minutes).
        reachable_now = Exists(User.objects.filter(pk=recipient.pk, is_active=True).exclude(email=""))
        claimed = (
            OutboxEntry.objects.filter(ready(batch.now), scope, reachable_now, recipient=recipient)
            .order_by()
            .update(
                status=OutboxEntry.Status.SENT, sent_at=batch.now, digest=digest, attempts=F("attempts") + 1
            )
        )
        if not claimed:
            # Nothing (left) to send, or they cannot be reached now.
            gap = _unreachable(User.objects.get(pk=recipient.pk))
            transaction.set_rollback(True)
        else:
            failure = _build_and_send(recipient, digest, batch, escalations_only=escalations_only)
            if failure is None:
                result.sent += 1
                result.entries_sent += claimed
            else:
                transaction.set_rollback(True)  # nothing was accepted: the claim is undone
    if gap:
        _pass_on(recipient, gap, batch)
    if failure is not None:
        _count_failure(recipient, scope, failure, batch)
        result.failed += 1


def _build_and_send(
    recipient: User, digest: Digest, batch: Batch, *, escalations_only: bool
) -> Exception | None:
    """Build the digest from the entries its claim tied to it and send it: the mail server's refusal,
    if any, for the caller to undo the claim."""
    entries = OutboxEntry.objects.filter(digest=digest)
    content = digest_build(
        recipient,
        entries,
        today=batch.today,
        calendar=batch.calendar,
        rung=batch.window.rung("due_on"),
        escalations_only=escalations_only,
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
        return exc
    Digest.objects.filter(pk=digest.pk).update(
        subject=content.subject[:200], text=content.text, message_id=content.message_id
    )
    return None


def _count_failure(recipient: User, scope: Q, exc: Exception, batch: Batch) -> None:
    """Count a failed attempt on every entry the digest would have carried, in one UPDATE: each backs off
    by its own number of attempts, and one that has used its last attempt is marked failed, for the
    managers to see, rather than retried forever."""
    # The error's class only in the log: a mail server's refusal may quote the message back. The full
    # text is kept on the entries, for the chasing page.
    logger.warning("Digest to person %s not sent: %s", recipient.pk, exc.__class__.__name__)
    batch.mail_connection.close()
    last = settings.FOLLOWTHROUGH_DELIVERY_MAX_ATTEMPTS
    OutboxEntry.objects.filter(ready(batch.now), scope, recipient=recipient).order_by().update(
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


def _pass_on(recipient: User, gap: str, batch: Batch) -> None:
    """Give what waits for someone who can no longer be reached to whoever hears when an owner cannot be:
    the leads of each item's agency, else the business managers (the ladder's rule), with the gap on
    every copy; the person's own entries are marked passed on, or failed (for the managers to see) when
    nobody could take them. Set-based: one INSERT ... SELECT and two UPDATEs, however many entries."""
    with transaction.atomic():
        if not _locked(recipient.pk):
            return
        waiting = (
            OutboxEntry.objects.filter(ready(batch.now), recipient=recipient)
            .annotate(in_agency=Coalesce(agency_of_item("pk"), Value(0)))
            .order_by()
        )
        agencies = set(waiting.values_list("in_agency", flat=True).distinct())
        leads = ladder.agency_lead_ids(agencies - {0})
        instead = {agency: leads.get(agency) or batch.business_managers for agency in agencies}
        pairs = [(agency, person) for agency, people in instead.items() for person in people]
        if pairs:
            copies = waiting.annotate(
                e_gap=Value(gap),
                e_is_copy=Value(False),
                e_status=Value(OutboxEntry.Status.PENDING),
                e_attempts=Value(0),
                e_last_error=Value(""),
                e_created_at=Value(batch.now, output_field=DateTimeField()),
            ).values_list(*(_column(c) for c in COLUMNS if c != "recipient_id"), "in_agency")
            sql, params = copies.query.get_compiler(connection=connection).as_sql()
            people_sql = " UNION ALL ".join(["SELECT %s AS agency_id, %s AS person_id"] * len(pairs))
            chosen = ", ".join("f.person_id" if c == "recipient_id" else f"e.{_column(c)}" for c in COLUMNS)
            with connection.cursor() as cursor:
                # SQLite needs a WHERE before an upsert clause on INSERT ... SELECT. A copy the person
                # is already owed (the same key) is not written twice.
                cursor.execute(
                    f"INSERT INTO notifications_outboxentry ({', '.join(COLUMNS)}) SELECT {chosen} "
                    f"FROM ({sql}) AS e JOIN ({people_sql}) AS f ON f.agency_id = e.in_agency "
                    "WHERE true ON CONFLICT DO NOTHING",
                    [*params, *(value for pair in pairs for value in pair)],
                )
        covered = [agency for agency, people in instead.items() if people]
        passed = "Passed to the leads of the item's agency, else the business managers"
        waiting.filter(in_agency__in=covered).update(
            status=OutboxEntry.Status.REDIRECTED, last_error=f"Not sent: {gap}. {passed}"
        )
        waiting.exclude(in_agency__in=covered).update(
            status=OutboxEntry.Status.FAILED, last_error=f"Not sent: {gap}, and nobody else could be told"
        )
    logger.warning("Person %s cannot be reached: their waiting entries were passed on", recipient.pk)


# The outbox's own columns a copy keeps as they are; the rest are set for the copy.
KEPT = {"item_type_id", "item_id", "rule", "due_on", "period", "round", "sweep_date"}


def _column(name: str) -> str:
    return name if name in KEPT else f"e_{name}"
