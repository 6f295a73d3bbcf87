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

from workflows.calendar import WorkingCalendar, working_calendar

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


def due_in_words(due_on: dt.date, today: dt.date, calendar: WorkingCalendar) -> str:
    """'due in 3 working days', 'due today', '5 days overdue', on the calendar the caller read once."""
    if due_on == today:
        return "due today"
    if due_on > today:
        days = calendar.working_days_between(today, due_on)
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


# A digest is read, not searched: past this many lines a section says how many more there are and
# where to find them.
MAX_LINES_PER_SECTION = 25


@dataclass
class Section:
    heading: str
    lines: list[DigestLine]
    more: int


def _sections(entries: list[OutboxEntry], today: dt.date, calendar: WorkingCalendar) -> list[Section]:
    """One line per item, under the most pressing heading it has for this person, soonest due first."""
    best: dict[tuple[int, int], OutboxEntry] = {}
    for entry in entries:
        key = (entry.item_type_id, entry.item_id)
        if key not in best or HEADINGS.index(_heading(entry)) < HEADINGS.index(_heading(best[key])):
            best[key] = entry
    by_heading: dict[str, list[OutboxEntry]] = {heading: [] for heading in HEADINGS}
    for entry in best.values():
        by_heading[_heading(entry)].append(entry)
    shown = {
        heading: sorted(items, key=lambda e: (e.due_on, e.item_id))[:MAX_LINES_PER_SECTION]
        for heading, items in by_heading.items()
    }
    labels = _labels([e for items in shown.values() for e in items])
    return [
        Section(
            heading=heading,
            lines=[_line(entry, labels, today, calendar) for entry in shown[heading]],
            more=len(items) - len(shown[heading]),
        )
        for heading, items in by_heading.items()
        if items
    ]


def _labels(entries: list[OutboxEntry]) -> dict[tuple[int, int], str]:
    """What each item is called: one query per kind of item, for the lines shown only."""
    wanted: dict[Any, list[int]] = defaultdict(list)
    for entry in entries:
        wanted[entry.item_type].append(entry.item_id)
    labels = {}
    for item_type, ids in wanted.items():
        model = item_type.model_class()
        spec = chaseable_for(model)
        field = spec.label_field if spec else "pk"
        for pk, label in model._default_manager.filter(pk__in=ids).values_list("pk", field):
            labels[(item_type.pk, pk)] = str(label)
    return labels


def _line(
    entry: OutboxEntry, labels: dict[tuple[int, int], str], today: dt.date, calendar: WorkingCalendar
) -> DigestLine:
    model = entry.item_type.model_class()
    spec = chaseable_for(model) if model is not None else None
    path = reverse(spec.url_name, args=[entry.item_id]) if spec else "/"
    return DigestLine(
        label=labels.get((entry.item_type_id, entry.item_id), f"{entry.item_type.model} {entry.item_id}"),
        url=settings.FOLLOWTHROUGH_BASE_URL.rstrip("/") + path,
        due_on=entry.due_on,
        when=due_in_words(entry.due_on, today, calendar),
        rule=entry.get_rule_display(),
        gap=entry.gap,
    )


HEADINGS = ["Escalated to you", "Escalated about your work", "Overdue", "Due soon"]


def _heading(entry: OutboxEntry) -> str:
    if entry.rule in ESCALATION_RULES:
        return "Escalated about your work" if entry.is_copy else "Escalated to you"
    if entry.rule == Rule.OVERDUE or entry.due_on < entry.sweep_date:
        return "Overdue"
    return "Due soon"


def render_digest(
    recipient: User,
    entries: list[OutboxEntry],
    *,
    today: dt.date,
    calendar: WorkingCalendar | None = None,
) -> tuple[str, str, str]:
    """The digest's subject, text and HTML. A fixed number of queries however many lines it has: the
    calendar is read once (or given by the batch that read it), the items' names once per kind."""
    sections = _sections(entries, today, calendar or working_calendar())
    count = sum(len(section.lines) + section.more for section in sections)
    subject = f"Followthrough: {count} item{'s' if count != 1 else ''} need{'s' if count == 1 else ''} you"
    if any(section.heading == "Escalated to you" for section in sections):
        subject += " (escalations)"
    context = {
        "recipient": recipient,
        "sections": sections,
        "count": count,
        "today": today,
        "settings_url": settings.FOLLOWTHROUGH_BASE_URL.rstrip("/") + reverse("notifications"),
        "home_url": settings.FOLLOWTHROUGH_BASE_URL.rstrip("/") + reverse("home"),
    }
    text = render_to_string("notifications/emails/digest.txt", context)
    html = render_to_string("notifications/emails/digest.html", context)
    return subject, text, html
