"""Digest building: what one person's digest says, from their outbox entries.

Sections by how pressing each item is, one line per item, the items' names and links; rendered as the
email's subject, text and HTML. Delivery (claiming, sending, marking) lives in delivery.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import reverse

from workflows.calendar import WorkingCalendar
from workflows.deadlines import due_in_words
from workflows.owed import chaseable_for, chaseables
from workflows.selectors import oversees_work

from .models import ESCALATION_RULES, OutboxEntry, Rule


@dataclass
class DigestLine:
    label: str
    url: str
    due_on: dt.date
    when: str
    rule: str
    gap: str


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
        url=_absolute(path),
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


@dataclass(frozen=True)
class SummaryRow:
    """How many of a big digest's items are in one agency at one rung, and the queue showing them."""

    agency: str
    rung: int
    items: int
    url: str


@dataclass(frozen=True)
class DigestContent:
    subject: str
    text: str
    html: str
    message_id: str
    entry_count: int


def agency_of_item(field: str) -> Case:
    """The item's agency (or a field of it), whatever kind of item the entry is about: one subquery per
    registered kind, so the digest is one query however many entries and kinds it has."""
    whens = []
    for spec in chaseables():
        path = f"{spec.agency_field}__{field}" if field != "pk" else spec.agency_field
        item = spec.model._default_manager.filter(pk=OuterRef("item_id")).values(path)[:1]
        whens.append(When(item_type_id=ContentType.objects.get_for_model(spec.model).pk, then=Subquery(item)))
    return Case(*whens, default=Value(None), output_field=IntegerField() if field == "pk" else CharField())


def _item_key() -> Concat:
    return Concat(Cast("item_type_id", CharField()), Value(":"), Cast("item_id", CharField()))


def _summary(
    entries: QuerySet[OutboxEntry], *, rung: Case, max_lines: int, queue: str | None
) -> tuple[list[SummaryRow], int]:
    """Items counted per agency and rung in SQL, most escalated and biggest first; rows past
    ``max_lines`` are folded into one count. Each row links to the queue filtered to exactly its items,
    or, for someone the queue is not for (``queue`` None), to My work, which lists what is theirs."""
    groups = (
        entries.annotate(in_agency=agency_of_item("pk"), agency_name=agency_of_item("name"), in_rung=rung)
        .values("in_agency", "agency_name", "in_rung")
        .annotate(items=Count(_item_key(), distinct=True))
        .order_by("-in_rung", "-items", "agency_name")
    )
    rows: list[SummaryRow] = []
    more = 0
    for group in groups:
        if len(rows) == max_lines:
            more += group["items"]
            continue
        filters = {"agency": group["in_agency"]} if group["in_agency"] else {}
        rows.append(
            SummaryRow(
                agency=group["agency_name"] or "No agency",
                rung=group["in_rung"],
                items=group["items"],
                url=f"{queue}?{urlencode({**filters, 'escalation': group['in_rung']})}"
                if queue
                else _absolute(reverse("my-work")),
            )
        )
    return rows, more


def _absolute(path: str) -> str:
    return settings.FOLLOWTHROUGH_BASE_URL.rstrip("/") + path


def message_id_for(recipient_id: int, count: int, low: int, high: int, total: int) -> str:
    """A Message-ID that only these entries to this person give: a digest sent again after a crash (or
    retried after a refusal) carries the same one, so the resend is recognisable."""
    digest = hashlib.sha256(f"{recipient_id}:{count}:{low}:{high}:{total}".encode()).hexdigest()[:32]
    return f"<digest.{digest}@{urlsplit(settings.FOLLOWTHROUGH_BASE_URL).hostname or 'followthrough'}>"


def digest_build(
    recipient: User,
    entries: QuerySet[OutboxEntry],
    *,
    today: dt.date,
    calendar: WorkingCalendar,
    rung: Case,
    escalations_only: bool = False,
) -> DigestContent:
    """The digest of ``entries`` (one person's): subject, text, HTML and Message-ID.

    A fixed number of queries however many entries there are, and never all of them in memory: up to
    FOLLOWTHROUGH_DIGEST_MAX_LINES items are listed one a line; past that the digest counts them by
    agency and ``rung`` (an SQL expression over the entry's due date) in SQL, with links to the queue.
    ``escalations_only``: the email of escalations sent straight away, for those who asked for it.
    """
    max_lines = settings.FOLLOWTHROUGH_DIGEST_MAX_LINES
    queue = _absolute(reverse("queue")) if oversees_work(recipient) else None
    totals = entries.aggregate(
        entries=Count("id"),
        low=Min("id"),
        high=Max("id"),
        total=Sum("id"),
        items=Count(_item_key(), distinct=True),
        escalations=Count("id", filter=Q(rule__in=ESCALATION_RULES, is_copy=False)),
    )
    count = totals["items"]
    if count <= max_lines:
        sections = _sections(list(entries.select_related("item_type")), today, calendar)
        summary: list[SummaryRow] = []
        more = 0
    else:
        sections = []
        summary, more = _summary(entries, rung=rung, max_lines=max_lines, queue=queue)
    items = f"{count} item{'s' if count != 1 else ''}"
    if escalations_only:
        subject = f"Followthrough: {items} escalated to you"
    else:
        subject = f"Followthrough: {items} need{'s' if count == 1 else ''} you"
        if totals["escalations"]:
            subject += " (escalations)"
    context = {
        "recipient": recipient,
        "sections": sections,
        "summary": summary,
        "summary_more": more,
        "count": count,
        "today": today,
        "queue_url": queue or _absolute(reverse("my-work")),
        "settings_url": _absolute(reverse("notifications")),
        "home_url": _absolute(reverse("home")),
    }
    return DigestContent(
        subject=subject,
        text=render_to_string("notifications/emails/digest.txt", context),
        html=render_to_string("notifications/emails/digest.html", context),
        message_id=message_id_for(
            recipient.pk, totals["entries"], totals["low"], totals["high"], totals["total"]
        ),
        entry_count=totals["entries"],
    )
