"""Digest building: what one person's digest says, from their outbox entries.

Sections by how pressing each item is, one line per item, the items' names and links; rendered as the
email's subject, text and HTML. Delivery (claiming, sending, marking) lives in delivery.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.urls import reverse

from workflows.calendar import WorkingCalendar, working_calendar

from .models import ESCALATION_RULES, OutboxEntry, Rule
from .registry import chaseable_for


@dataclass
class DigestLine:
    label: str
    url: str
    due_on: dt.date
    when: str
    rule: str
    gap: str


def due_in_words(due_on: dt.date, today: dt.date, calendar: WorkingCalendar) -> str:
    """'due in 3 working days', 'due today', '5 days overdue', on the calendar the caller read once."""
    if due_on == today:
        return "due today"
    if due_on > today:
        days = calendar.working_days_between(today, due_on)
        return f"due in {days} working day{'s' if days != 1 else ''}"
    days = (today - due_on).days
    return f"{days} day{'s' if days != 1 else ''} overdue"


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
