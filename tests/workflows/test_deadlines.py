"""Deadline rules have one home (workflows/deadlines.py): pages, digests, the queue, the dashboard and the
API say the same thing, read the policy as it is now, and derive the escalation rung instead of storing it."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from notifications.digests import digest_build
from notifications.models import ChasePolicy, OutboxEntry, Rule
from oversight.dashboard import dashboard
from oversight.queue import overdue_queue
from oversight.services import queue_escalate
from oversight.tasks import draw_dashboard
from tests.factories import ActionFactory
from tests.workflows.helpers import advance, due
from workflows.calendar import WorkingCalendar, working_calendar
from workflows.clocks import WORKING_DAYS, Clock
from workflows.deadlines import rung_expression
from workflows.models import Action
from workflows.services.actions import action_decide_extension, action_request_extension

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def started(owner: User, manager: User, due_in_days: int) -> Action:
    action = ActionFactory.create(owner=owner, due_on=TODAY + dt.timedelta(days=due_in_days))
    return advance(action, "in_progress", manager=manager)


def queue_refs(user: User, query: str = "") -> list[str]:
    _, actions = overdue_queue(user, QueryDict(query), today=TODAY)
    return [a.reference for a in actions]


def test_the_action_page_counts_due_in_working_days_as_the_digest_does(
    client: Client, owner: User, manager: User
) -> None:
    # A week ahead always spans a weekend: 7 calendar days, at most 5 working days.
    action = started(owner, manager, 7)
    entry = OutboxEntry.objects.create(
        item=action, recipient=owner, rule=Rule.REMIND_FIRST, due_on=due(action), sweep_date=TODAY
    )
    digest = digest_build(
        owner,
        OutboxEntry.objects.filter(pk=entry.pk),
        today=TODAY,
        calendar=working_calendar(),
        rung=rung_expression(on=TODAY),
    ).text
    working_days = working_calendar().working_days_between(TODAY, due(action))
    words = f"due in {working_days} working days"
    assert words in digest.lower()
    client.force_login(owner)
    page = client.get(f"/actions/{action.pk}/").content.decode()
    assert words in page and "due in 7 days" not in page
    assert words in client.get("/my-work/").content.decode()


def test_the_dashboard_ageing_bands_follow_the_policy(owner: User, manager: User) -> None:
    for days in (5, 10, 25, 50):
        started(owner, manager, -days)
    ChasePolicy.objects.update_or_create(
        pk=1, defaults={"escalation_1_days": 7, "escalation_2_days": 21, "escalation_3_days": 42}
    )
    draw_dashboard()
    assert dashboard(manager, today=TODAY).ageing == [
        ("1 to 6 days", 1),
        ("7 to 20 days", 1),
        ("21 to 41 days", 1),
        ("42 days or more", 1),
    ]


def test_the_dashboards_ageing_bands_are_the_ladders_rungs(owner: User, manager: User) -> None:
    # 14 days overdue is escalation 1 by the default policy: its band is the first rung's, not "0 to 14".
    started(owner, manager, -14)
    draw_dashboard()
    assert dict(dashboard(manager, today=TODAY).ageing)["14 to 27 days"] == 1


def test_the_queue_shows_an_overdue_actions_rung_without_waiting_for_the_sweep(
    owner: User, manager: User
) -> None:
    Action.objects.filter(pk=started(owner, manager, -20).pk).update(reference="L20")
    Action.objects.filter(pk=started(owner, manager, -60).pk).update(reference="L60")
    assert queue_refs(manager, "escalation=1") == ["L20"]
    assert queue_refs(manager, "escalation=3") == ["L60"]
    assert queue_refs(manager, "sort=-escalation") == ["L60", "L20"]


def test_a_policy_change_moves_the_rung_at_once(owner: User, manager: User) -> None:
    Action.objects.filter(pk=started(owner, manager, -20).pk).update(reference="L20")
    assert queue_refs(manager, "escalation=1") == ["L20"]
    ChasePolicy.objects.update_or_create(pk=1, defaults={"escalation_2_days": 20, "escalation_3_days": 40})
    assert queue_refs(manager, "escalation=2") == ["L20"]


def test_an_approved_extension_takes_the_action_off_the_ladder_at_once(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -30)
    Action.objects.filter(pk=action.pk).update(reference="X1")
    assert queue_refs(manager, "escalation=2") == ["X1"]
    extension = action_request_extension(
        action=action, actor=owner, requested_due_on=TODAY + dt.timedelta(days=30), reason="Waiting on data"
    )
    action_decide_extension(extension=extension, actor=manager, approve=True)
    assert queue_refs(manager, "escalation=2") == []
    # Escalating it now starts the ladder again: the first rung (the owner's agency lead), not the third.
    queue_escalate(actor=manager, actions=Action.objects.filter(pk=action.pk), reason="Still stuck")
    rules = set(OutboxEntry.objects.filter(item_id=action.pk).values_list("rule", flat=True))
    assert rules == {Rule.ESCALATION_1}


def test_submitting_an_action_for_sign_off_takes_it_off_the_ladder(owner: User, manager: User) -> None:
    action = started(owner, manager, -60)
    Action.objects.filter(pk=action.pk).update(reference="S1")
    assert queue_refs(manager, "escalation=3") == ["S1"]
    advance(action, "awaiting_sign_off", manager=manager)
    assert queue_refs(manager, "escalation=0") == ["S1"]


def test_the_action_api_gives_and_filters_by_the_rung_the_queue_shows(owner: User, manager: User) -> None:
    late = started(owner, manager, -30)
    soon = started(owner, manager, 5)
    api = APIClient()
    api.force_authenticate(manager)
    levels = {a["id"]: a["escalation_level"] for a in api.get("/api/actions/").json()["results"]}
    assert levels == {late.pk: 2, soon.pk: 0}
    assert [a["id"] for a in api.get("/api/actions/?escalation=2").json()["results"]] == [late.pk]
    assert [a["id"] for a in api.get("/api/actions/?escalation=0").json()["results"]] == [soon.pk]


def test_a_clocks_at_risk_margin_is_a_setting(settings: Settings) -> None:
    calendar = WorkingCalendar()
    monday = dt.date(2026, 11, 23)
    clock = Clock(starts_on=monday, length=4, unit=WORKING_DAYS, calendar=calendar)  # due Friday
    assert clock.status(monday) == "on track"  # 4 working days left, the default margin is 3
    settings.FOLLOWTHROUGH_CLOCK_AT_RISK_WORKING_DAYS = 5
    assert clock.status(monday) == "at risk"
