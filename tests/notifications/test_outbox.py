"""The outbox is cheap to write: no index its unique key already serves, and sent entries archived after
the retention period without ever being written a second time."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from notifications.models import ChasePolicy, OutboxArchive, OutboxEntry, Rule
from notifications.sweep import sweep
from notifications.tasks import archive_sent_entries
from tests.factories import ActionFactory
from tests.notifications.conftest import MONDAY
from tests.workflows.helpers import advance
from workflows.models import Action
from workflows.selectors import action_timeline

pytestmark = pytest.mark.django_db


def test_an_items_timeline_is_read_through_the_unique_key_with_no_second_index() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, OutboxEntry._meta.db_table)
    indexed = [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]
    assert ["item_type_id", "item_id", "created_at"] not in indexed
    sql, params = OutboxEntry.objects.filter(item_type_id=1, item_id__in=[1, 2]).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    # SQLite keeps the unique constraint as the table's own (auto) index once a migration rebuilt it.
    unique_key = (
        "outbox_entry_once"
        if connection.vendor == "postgresql"
        else "sqlite_autoindex_notifications_outboxentry"
    )
    assert unique_key in plan, plan


def test_sent_entries_past_retention_are_archived_kept_on_the_timeline_and_never_sent_again(
    settings: SettingsWrapper, owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    settings.FOLLOWTHROUGH_SWEEP_CHANGE_MARGIN_SECONDS = 0
    settings.FOLLOWTHROUGH_OUTBOX_RETENTION_DAYS = 30
    action = advance(
        ActionFactory.create(owner=owner, due_on=MONDAY - dt.timedelta(days=60)),
        "in_progress",
        manager=manager,
    )
    waiting = advance(
        ActionFactory.create(owner=owner, due_on=MONDAY - dt.timedelta(days=3)),
        "in_progress",
        manager=manager,
    )
    sweep(on=MONDAY)
    long_ago = timezone.now() - dt.timedelta(days=31)
    sent = OutboxEntry.objects.filter(item_id=action.pk)
    keys = set(sent.values_list("recipient", "rule", "period"))
    sent.update(status=OutboxEntry.Status.SENT, sent_at=long_ago)
    assert archive_sent_entries() == len(keys)
    # Still to go: stays in the outbox.
    assert set(OutboxEntry.objects.values_list("item_id", flat=True)) == {waiting.pk}
    assert set(OutboxArchive.objects.values_list("recipient", "rule", "period")) == keys
    assert any(e.summary.startswith("Escalation 3") for e in action_timeline(action))
    # The item changes (computed afresh) and stays on the third rung: nothing archived is written again.
    Action.objects.get(pk=action.pk).save()
    sweep(on=MONDAY + dt.timedelta(days=1))
    item_type = ContentType.objects.get_for_model(Action)
    again = OutboxEntry.objects.filter(item_type=item_type, item_id=action.pk)
    assert not set(again.values_list("recipient", "rule", "period")) & keys
    assert not again.filter(rule=Rule.ESCALATION_3).exists()
