"""A digest costs the same number of queries whatever the number of lines in it, and a batch of digests
reads the working-day calendar once."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from notifications.delivery import deliver_pending
from notifications.digests import digest_build
from notifications.models import ChasePolicy, OutboxEntry, Rule
from notifications.sweep import Window
from tests.factories import ActionFactory, person_in
from workflows.calendar import working_calendar
from workflows.models import Action, Agency, ClosureDay

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)  # a Monday: the lines fall due over the next working days


def owed(owner: User, lines: int) -> list[OutboxEntry]:
    item_type = ContentType.objects.get_for_model(Action)
    return OutboxEntry.objects.bulk_create(
        OutboxEntry(
            item_type=item_type,
            item_id=ActionFactory.create(owner=owner, description=f"Action {n}").pk,
            recipient=owner,
            rule=Rule.REMIND_FIRST,
            due_on=TODAY + dt.timedelta(days=1 + n % 20),
            sweep_date=TODAY,
        )
        for n in range(lines)
    )


def digest_queries(owner: User, lines: int) -> tuple[int, str]:
    entries = OutboxEntry.objects.filter(recipient=owner)
    assert entries.count() == lines
    calendar = working_calendar()
    rung = Window.for_date(ChasePolicy.current(), TODAY, calendar=calendar).rung("due_on")
    with CaptureQueriesContext(connection) as queries:
        text = digest_build(owner, entries, today=TODAY, calendar=calendar, rung=rung).text
    return len(queries), text


def test_a_digest_of_forty_lines_costs_the_queries_of_a_digest_of_two(police: Agency) -> None:
    ClosureDay.objects.create(date=TODAY + dt.timedelta(days=2), reason="Partnership training day")
    short, long = person_in(police), person_in(police)
    owed(short, 2)
    owed(long, 40)
    short_count, _ = digest_queries(short, 2)
    long_count, long_text = digest_queries(long, 40)
    assert short_count == long_count
    # The calendar read once still counts the closure day: Thursday is two working days away, not three.
    assert "Due in 2 working days (due 26 November 2026)" in long_text


def test_a_batch_of_digests_reads_the_working_day_calendar_once(police: Agency) -> None:
    people = [person_in(police) for _ in range(3)]
    for person in people:
        owed(person, 3)
    with CaptureQueriesContext(connection) as queries:
        result = deliver_pending()
    assert result.sent == 3 and len(mail.outbox) == 3
    calendar_reads = [q for q in queries.captured_queries if ClosureDay._meta.db_table in q["sql"]]
    assert len(calendar_reads) == 1


def test_delivering_a_summary_costs_the_same_queries_for_600_entries_as_for_60(
    police: Agency, settings: Settings
) -> None:
    from tests.notifications.test_big_recipients import actions, owe

    settings.FOLLOWTHROUGH_DIGEST_MAX_LINES = 50
    first, small, big = person_in(police), person_in(police), person_in(police)
    items = actions(60, police, small, days_overdue=30)
    for person in (first, small):
        owe(person, items, Rule.OVERDUE)
    owe(big, items, Rule.OVERDUE, periods=10)

    def delivery_queries(person: User) -> int:
        with CaptureQueriesContext(connection) as queries:
            result = deliver_pending(recipient_ids=[person.pk])
        assert result.sent == 1
        return len(queries)

    delivery_queries(first)  # the process's first digest reads the content types once, for good
    assert delivery_queries(small) == delivery_queries(big)
    assert OutboxEntry.objects.filter(recipient=big, status="sent").count() == 600
    assert "60 items need you" in mail.outbox[-1].subject
