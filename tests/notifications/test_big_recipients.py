"""Big recipients: a digest never lists more than a person can read, and nobody owed a great deal holds up
everyone else's digest."""

import datetime as dt
import tracemalloc
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from notifications.delivery import deliver_pending
from notifications.models import Digest, OutboxEntry, Rule
from tests.factories import RecommendationFactory
from workflows.models import Action, Agency

pytestmark = pytest.mark.django_db

BASE = "http://127.0.0.1:8000"


def actions(count: int, agency: Agency, owner: User, *, days_overdue: int) -> list[Action]:
    """Open-ended items for entries to be about, made in one statement (the digest only reads them)."""
    recommendation = RecommendationFactory.create()
    due_on = timezone.localdate() - dt.timedelta(days=days_overdue)
    return Action.objects.bulk_create(
        Action(
            recommendation=recommendation,
            description=f"{agency.name} action {n} due {due_on}",
            owner=owner,
            agency=agency,
            due_on=due_on,
        )
        for n in range(count)
    )


def owe(recipient: User, items: list[Action], rule: str, *, periods: int = 1) -> list[OutboxEntry]:
    item_type = ContentType.objects.get_for_model(Action)
    return OutboxEntry.objects.bulk_create(
        (
            OutboxEntry(
                item_type=item_type,
                item_id=item.pk,
                recipient=recipient,
                rule=rule,
                due_on=item.due_on or timezone.localdate(),
                period=period,
                sweep_date=timezone.localdate(),
            )
            for item in items
            for period in range(periods)
        ),
        batch_size=5000,
    )


def test_a_manager_owed_more_than_they_can_read_gets_counts_by_agency_and_rung_with_queue_links(
    manager: User, owner: User, health_owner: User, police: Agency, health: Agency, settings: Settings
) -> None:
    settings.FOLLOWTHROUGH_DIGEST_MAX_LINES = 10
    owe(manager, actions(12, police, owner, days_overdue=60), Rule.ESCALATION_3)
    owe(manager, actions(8, health, health_owner, days_overdue=30), Rule.ESCALATION_2)
    # Weekly repeats after the last rung: several weeks' worth still waiting, counted once per item.
    owe(manager, actions(5, police, owner, days_overdue=70), Rule.OVERDUE, periods=3)

    result = deliver_pending()

    assert (result.sent, result.entries_sent) == (1, 12 + 8 + 15)
    message = mail.outbox[0]
    assert message.subject == "Followthrough: 25 items need you (escalations)"
    body = str(message.body)
    assert "action 0 due" not in body  # no item is listed: the digest is a summary
    queue = BASE + reverse("queue")
    assert (
        f"Greater Manchester Police, escalation 3: 17 items\n  {queue}?agency={police.pk}&escalation=3"
        in body
    )
    assert (
        f"NHS Greater Manchester ICB, escalation 2: 8 items\n  {queue}?agency={health.pk}&escalation=2"
        in body
    )
    html = str(message.alternatives[0][0])  # type: ignore[attr-defined]
    assert f'href="{queue}?agency={police.pk}&amp;escalation=3"' in html
    # Every entry delivered once, by this digest.
    digest = Digest.objects.get()
    assert set(OutboxEntry.objects.values_list("status", "digest", "attempts").distinct()) == {
        ("sent", digest.pk, 1)
    }


def test_a_summary_never_lists_more_rows_than_a_person_can_read(
    manager: User, owner: User, settings: Settings
) -> None:
    settings.FOLLOWTHROUGH_DIGEST_MAX_LINES = 3
    for n in range(5):
        agency = Agency.objects.create(name=f"Agency {n}", kind=Agency.Kind.HEALTH)
        owe(manager, actions(2, agency, owner, days_overdue=60 + n), Rule.ESCALATION_3)
    deliver_pending()
    body = str(mail.outbox[0].body)
    assert body.count(", escalation 3: 2 items") == 3
    assert f"And 4 more items: {BASE}{reverse('queue')}" in body


def test_people_who_have_waited_longest_are_served_first(owner: User, health_owner: User) -> None:
    items = actions(2, Agency.objects.get(pk=owner.person.agency_id), owner, days_overdue=3)
    owe(health_owner, items, Rule.OVERDUE)  # waiting longer, though created after the owner
    owe(owner, items, Rule.OVERDUE)
    OutboxEntry.objects.filter(recipient=health_owner).update(
        created_at=timezone.now() - dt.timedelta(hours=2)
    )
    deliver_pending(limit=1)
    assert [m.to for m in mail.outbox] == [[health_owner.email]]


def test_one_person_owed_25000_entries_does_not_stall_4000_others(
    manager: User, owner: User, police: Agency
) -> None:
    # The business manager's entries are the oldest, so they are served first: the others must not wait.
    giant_items = actions(2500, police, owner, days_overdue=60)
    owe(manager, giant_items, Rule.OVERDUE, periods=10)
    OutboxEntry.objects.update(created_at=timezone.now() - dt.timedelta(days=1))
    others = User.objects.bulk_create(
        User(username=f"someone{n}", email=f"someone{n}@example.org") for n in range(4000)
    )
    few = giant_items[:3]
    for start in range(0, 4000, 500):
        item_type = ContentType.objects.get_for_model(Action)
        OutboxEntry.objects.bulk_create(
            OutboxEntry(
                item_type=item_type,
                item_id=item.pk,
                recipient=person,
                rule=Rule.OVERDUE,
                due_on=item.due_on or timezone.localdate(),
                sweep_date=timezone.localdate(),
            )
            for person in others[start : start + 500]
            for item in few
        )
    assert OutboxEntry.objects.count() == 25_000 + 12_000

    runs = 0
    while OutboxEntry.objects.filter(status="pending").exists() and runs < 10:
        deliver_pending()  # what the periodic delivery does, every few minutes
        runs += 1

    assert runs == 5  # 1,000 people a run
    assert not OutboxEntry.objects.exclude(status="sent").exists()
    assert Counter(Digest.objects.values_list("recipient", flat=True)).most_common(1)[0][1] == 1
    assert Digest.objects.count() == len(mail.outbox) == 4001
    giant = next(m for m in mail.outbox if m.to == [manager.email])
    assert giant.subject == "Followthrough: 2500 items need you"
    assert mail.outbox[0].to == [manager.email]  # oldest first


def test_a_digest_for_25000_entries_is_built_without_loading_them(
    manager: User, owner: User, police: Agency
) -> None:
    items = actions(2500, police, owner, days_overdue=60)
    owe(owner, items[:60], Rule.OVERDUE)
    deliver_pending(recipient_ids=[owner.pk])  # what any first digest loads once (pages, templates)
    owe(manager, items, Rule.OVERDUE, periods=10)
    tracemalloc.start()
    try:
        result = deliver_pending()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.entries_sent == 25_000
    assert peak < 5 * 1024 * 1024, f"delivery held {peak / 1024 / 1024:.1f} MB"


def test_a_summary_link_opens_the_queue_with_exactly_the_items_it_counts(
    manager: User, owner: User, health_owner: User, police: Agency, health: Agency, settings: Settings
) -> None:
    settings.FOLLOWTHROUGH_DIGEST_MAX_LINES = 2
    police_late = actions(4, police, owner, days_overdue=60)
    health_late = actions(3, health, health_owner, days_overdue=60)
    police_recent = actions(2, police, owner, days_overdue=30)
    Action.objects.update(state="in_progress")  # open, as the queue lists them
    for items in (police_late, health_late, police_recent):
        owe(manager, items, Rule.ESCALATION_3 if items is not police_recent else Rule.ESCALATION_2)
    deliver_pending()
    body = str(mail.outbox[0].body)
    link = next(line.strip() for line in body.splitlines() if f"agency={police.pk}&escalation=3" in line)
    assert "Greater Manchester Police, escalation 3: 4 items" in body
    client = Client()
    client.force_login(manager)
    page = client.get(link.removeprefix(BASE)).content.decode()
    assert all(action.description in page for action in police_late)
    assert not any(action.description in page for action in health_late + police_recent)


def test_an_owner_owed_more_than_they_can_read_is_sent_to_my_work_not_to_a_queue_they_may_not_open(
    owner: User, police: Agency, settings: Settings
) -> None:
    settings.FOLLOWTHROUGH_DIGEST_MAX_LINES = 3
    owe(owner, actions(5, police, owner, days_overdue=20), Rule.OVERDUE)

    deliver_pending()

    body = str(mail.outbox[0].body)
    assert BASE + reverse("queue") not in body
    assert BASE + reverse("my-work") in body
    client = Client()
    client.force_login(owner)
    assert client.get(reverse("queue")).status_code == 403  # why the queue is no link for them
    assert client.get(reverse("my-work")).status_code == 200
