import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications import selectors
from notifications.models import ChasePause, ChasePolicy, OutboxEntry, SweepPerson, SweepRun
from tests.factories import ActionFactory, person_in
from tests.workflows.helpers import advance
from workflows.models import Agency, Plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported_plan(owner: User, manager: User) -> Plan:
    """An old plan just brought in: plenty overdue, chasing not yet switched on."""
    today = timezone.localdate()
    for days in (-90, -40, -20, 2):
        advance(
            ActionFactory.create(owner=owner, due_on=today + dt.timedelta(days=days)),
            "in_progress",
            manager=manager,
        )
    return Plan.objects.get()


def test_quiet_start_preview_counts_per_person_and_rung_and_sends_nothing(
    client: Client, imported_plan: Plan, manager: User
) -> None:
    ChasePolicy.current().business_managers.set([manager])
    client.force_login(manager)
    page = client.get(reverse("chasing")).content.decode()
    assert "Chasing is off" in page
    assert "police.owner" in page
    assert "escalation_3" in page
    assert not OutboxEntry.objects.exists()


def test_confirming_switches_chasing_on_and_runs_todays_sweep(
    client: Client, imported_plan: Plan, manager: User
) -> None:
    client.force_login(manager)
    response = client.post(reverse("chasing-confirm"), follow=True)
    assert "Chasing is on" in response.content.decode()
    policy = ChasePolicy.current()
    assert policy.confirmed_by == manager
    assert OutboxEntry.objects.exists()
    assert "Confirm and switch chasing on" not in client.get(reverse("chasing")).content.decode()


def test_pausing_a_source_through_the_page_records_the_reason(
    client: Client, imported_plan: Plan, manager: User
) -> None:
    client.force_login(manager)
    key = f"{ContentType.objects.get_for_model(Plan).pk}:{imported_plan.pk}"
    client.post(reverse("chasing-pause"), {"source": key, "reason": ""})
    assert not ChasePause.objects.exists()
    client.post(reverse("chasing-pause"), {"source": key, "reason": "Plan superseded"})
    assert ChasePause.objects.get().paused_by == manager
    client.post(reverse("chasing-pause"), {"source": "nonsense", "reason": "x"})
    assert ChasePause.objects.count() == 1


@pytest.mark.parametrize("who", ["police.owner", "police.lead", "executive"])
def test_chasing_pages_are_403_for_anyone_but_managers(
    client: Client, who: str, imported_plan: Plan, police_lead: User, executive: User
) -> None:
    client.force_login(User.objects.get(username=who))
    assert client.get(reverse("chasing")).status_code == 403
    assert client.post(reverse("chasing-confirm")).status_code == 403
    assert client.post(reverse("chasing-pause"), {"source": "1:1", "reason": "x"}).status_code == 403
    assert ChasePolicy.current().confirmed_at is None
    assert not ChasePause.objects.exists()
    assert not mail.outbox


def test_the_chasing_page_counts_in_sql_lists_people_a_page_at_a_time_and_writes_nothing(
    client: Client,
    imported_plan: Plan,
    manager: User,
    police: Agency,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(selectors, "PREVIEW_PEOPLE_PER_PAGE", 1)
    ChasePolicy.current().business_managers.set([manager])
    client.force_login(manager)
    first = client.get(reverse("chasing")).content.decode()
    assert "to 2 people" in first  # the owner and the business manager
    assert "police.owner" in first and ">manager<" not in first and "?page=2" in first
    second = client.get(reverse("chasing"), {"page": 2}).content.decode()
    assert ">manager<" in second and "police.owner" not in second
    # However many items are owed, the page asks the same few questions and never loads the entries.
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("chasing"))
    for days in range(-60, -10):
        advance(
            ActionFactory.create(
                owner=person_in(police), due_on=timezone.localdate() + dt.timedelta(days=days)
            ),
            "in_progress",
            manager=manager,
        )
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("chasing"))
    assert len(many) == len(few)
    assert not OutboxEntry.objects.exists()
    assert not SweepPerson.objects.exists() and not SweepRun.objects.exists()
