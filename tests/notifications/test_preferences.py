"""How a person chose to hear: one digest a day, or that and escalations straight away. "Chase now" and
escalations from the queue join the next daily digest rather than sending an email of their own."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core import mail

from notifications.delivery import deliver_pending, next_digest_at
from notifications.models import ChasePolicy, NotificationPreference, OutboxEntry
from notifications.sweep import sweep
from oversight.services import queue_chase_now, queue_escalate
from tests.notifications.conftest import MONDAY
from tests.notifications.test_delivery import started
from workflows.calendar import WorkingCalendar
from workflows.models import Action

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def test_the_next_daily_digest_is_at_seven_on_the_next_working_day() -> None:
    calendar = WorkingCalendar()
    friday = MONDAY + dt.timedelta(days=4)
    assert next_digest_at(at(MONDAY, 6, 59), calendar) == at(MONDAY, 7)
    assert next_digest_at(at(MONDAY, 10), calendar) == at(MONDAY + dt.timedelta(days=1), 7)
    assert next_digest_at(at(friday, 7), calendar) == at(MONDAY + dt.timedelta(days=7), 7)
    christmas_eve = dt.date(2026, 12, 24)  # then Christmas, Boxing Day (observed Monday 28th), a weekend
    assert next_digest_at(at(christmas_eve, 12), calendar) == at(dt.date(2026, 12, 29), 7)


def prefers_escalations_at_once(person: User) -> None:
    NotificationPreference.objects.create(user=person, delivery="immediate_escalations")


def test_chase_now_joins_the_owners_next_daily_digest_instead_of_an_email_of_its_own(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -5, "Review the early help offer")
    sweep(on=dt.date.today())
    deliver_pending()  # today's digest
    assert [m.to for m in mail.outbox] == [[owner.email]]

    assert queue_chase_now(actor=manager, actions=Action.objects.filter(pk=action.pk)) == 1
    assert deliver_pending().sent == 0  # no second email today
    chase = OutboxEntry.objects.get(rule="chase_now")
    assert chase.status == "pending" and chase.not_before is not None
    assert chase.not_before == next_digest_at(chase.created_at, WorkingCalendar())

    OutboxEntry.objects.filter(pk=chase.pk).update(not_before=chase.created_at)  # the next digest is due
    assert deliver_pending().sent == 1
    assert "Review the early help offer" in str(mail.outbox[-1].body)


def test_an_escalation_from_the_queue_waits_for_the_next_digest_of_someone_who_chose_one_a_day(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -5, "Refresh the missing-from-home protocol")
    queue_escalate(actor=manager, actions=Action.objects.filter(pk=action.pk), reason="Silent for weeks")
    assert OutboxEntry.objects.filter(recipient=police_lead, not_before__isnull=False).exists()
    assert deliver_pending().sent == 0
    assert mail.outbox == []


def test_an_escalation_from_the_queue_reaches_someone_who_chose_escalations_straight_away_at_once(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    prefers_escalations_at_once(police_lead)
    action = started(owner, manager, -5, "Refresh the missing-from-home protocol")
    queue_escalate(actor=manager, actions=Action.objects.filter(pk=action.pk), reason="Silent for weeks")
    assert deliver_pending().sent == 1
    assert [m.to for m in mail.outbox] == [[police_lead.email]]
    assert mail.outbox[0].subject == "Followthrough: 1 item escalated to you"
    # The owner's copy is not an escalation to them: it waits for their daily digest.
    copy = OutboxEntry.objects.get(recipient=owner)
    assert copy.is_copy and copy.status == "pending" and copy.not_before is not None


def test_escalations_to_someone_who_chose_them_straight_away_come_in_their_own_email(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    prefers_escalations_at_once(police_lead)
    started(owner, manager, -20, "Audit strategy meeting minutes")  # escalated to the lead
    started(police_lead, manager, 3, "Brief the new custody sergeants")  # the lead's own reminder
    sweep(on=dt.date.today())
    deliver_pending()
    to_lead = sorted(m.subject for m in mail.outbox if m.to == [police_lead.email])
    assert to_lead == ["Followthrough: 1 item escalated to you", "Followthrough: 1 item needs you"]
    escalation = next(m for m in mail.outbox if m.subject.endswith("escalated to you"))
    assert "Audit strategy meeting minutes" in str(escalation.body)
    assert "Brief the new custody sergeants" not in str(escalation.body)
