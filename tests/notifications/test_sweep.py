"""The sweep: what each open item is owed on a date, written once, whatever happens to the schedule."""

import datetime as dt
import json
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.ladder import agency_lead_ids
from notifications.models import ChasePause, ChasePolicy, OutboxEntry, Rule
from notifications.selectors import needs_a_date
from notifications.services import chasing_pause, chasing_resume
from notifications.sweep import sweep
from tests.factories import ActionFactory, RecommendationFactory, person_in
from tests.notifications.conftest import MONDAY
from tests.workflows.helpers import advance, due
from workflows import roles
from workflows.deadlines import with_rung
from workflows.models import Action, Agency, Plan
from workflows.owed import chaseables
from workflows.selectors import action_timeline
from workflows.services.actions import (
    action_decide_extension,
    action_request_extension,
    action_transition,
    action_update,
)

pytestmark = pytest.mark.django_db


def started(owner: User, manager: User, due_in_days: int, **fields: object) -> Action:
    return advance(
        ActionFactory.create(owner=owner, due_on=MONDAY + dt.timedelta(days=due_in_days), **fields),
        "in_progress",
        manager=manager,
    )


def owed(action: Action) -> set[tuple[str, str, int]]:
    return set(
        OutboxEntry.objects.filter(item_id=action.pk).values_list("recipient__username", "rule", "period")
    )


def level(action: Action, on: dt.date) -> int:
    """The rung the action stands on, derived as every page derives it."""
    return int(with_rung(Action.objects.filter(pk=action.pk), on=on).get().escalation_level)


@pytest.mark.parametrize(
    ("due_in_days", "expected"),
    [
        (40, set()),  # beyond the first reminder window
        (14, {("police.owner", Rule.REMIND_FIRST, 0)}),  # within 14 working days
        (3, {("police.owner", Rule.REMIND_SECOND, 0)}),  # within 3 working days
        (0, {("police.owner", Rule.DUE, 0)}),
        (-3, {("police.owner", Rule.DUE, 0)}),  # a due-date notice a missed sweep never sent still goes
        (-7, {("police.owner", Rule.OVERDUE, 1)}),
        (
            -14,
            {
                ("police.owner", Rule.OVERDUE, 2),
                ("police.owner", Rule.ESCALATION_1, 0),
                ("police.lead", Rule.ESCALATION_1, 0),  # no line manager: the agency lead
            },
        ),
        (
            -28,
            {
                ("police.owner", Rule.OVERDUE, 4),
                ("police.owner", Rule.ESCALATION_2, 0),
                ("manager", Rule.ESCALATION_2, 0),
                ("chair", Rule.ESCALATION_2, 0),
            },
        ),
        (
            -60,
            {
                ("police.owner", Rule.OVERDUE, 8),
                ("police.owner", Rule.ESCALATION_3, 0),
                ("manager", Rule.ESCALATION_3, 0),
                ("manager", Rule.OVERDUE, 8),  # after the last rung, weekly in the manager's digest too
            },
        ),
    ],
)
def test_each_item_gets_its_current_rule(
    due_in_days: int,
    expected: set[tuple[str, str, int]],
    owner: User,
    manager: User,
    second_manager: User,
    police_lead: User,
    chasing_on: ChasePolicy,
) -> None:
    action = started(
        owner, manager, due_in_days, recommendation=RecommendationFactory.create(chair=second_manager)
    )
    sweep(on=MONDAY)
    assert owed(action) == expected


def test_first_reminder_window_counts_working_days_over_christmas(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    # From Friday 11 December 2026: 14-18 and 21-24 December (9), 29-31 December (12; 25 and 28 are bank
    # holidays), 4-5 January (14; 1 January is one). The 14th working day is Tuesday 5 January 2027,
    # where 14 calendar days would have stopped at 25 December.
    on = dt.date(2026, 12, 11)
    inside = advance(
        ActionFactory.create(owner=owner, due_on=dt.date(2027, 1, 5)), "in_progress", manager=manager
    )
    outside = advance(
        ActionFactory.create(owner=owner, due_on=dt.date(2027, 1, 6)), "in_progress", manager=manager
    )
    sweep(on=on)
    assert owed(inside) == {("police.owner", Rule.REMIND_FIRST, 0)}
    assert owed(outside) == set()


def test_second_sweep_same_day_sends_nothing(owner: User, manager: User, chasing_on: ChasePolicy) -> None:
    for days in (-30, -3, 2, 10):
        started(owner, manager, days)
    first = sweep(on=MONDAY)
    assert first.entries
    assert sweep(on=MONDAY, dry_run=True).entries == []
    assert sweep(on=MONDAY).entries == []
    assert OutboxEntry.objects.count() == len(first.entries)


def test_daily_sweeps_over_ten_weeks_send_each_reminder_and_rung_once(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, 20)
    for offset in range(0, 90):
        sweep(on=MONDAY + dt.timedelta(days=offset))
    rules = Counter(
        OutboxEntry.objects.filter(item_id=action.pk, recipient=owner).values_list("rule", flat=True)
    )
    assert rules[Rule.REMIND_FIRST] == 1
    assert rules[Rule.REMIND_SECOND] == 1
    assert rules[Rule.DUE] == 1
    assert rules[Rule.ESCALATION_1] == rules[Rule.ESCALATION_2] == rules[Rule.ESCALATION_3] == 1
    # Overdue from day 7 to day 69 after the due date: weeks 1 to 9, once each; the ladder never goes quiet.
    assert rules[Rule.OVERDUE] == 9
    assert OutboxEntry.objects.filter(item_id=action.pk, recipient=manager, rule=Rule.OVERDUE).count() == 2


def test_catch_up_after_ten_missed_days_sends_only_the_current_rung(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -10)
    sweep(on=MONDAY)  # 10 days overdue: the weekly chase, week 1
    sweep(on=MONDAY + dt.timedelta(days=10))  # ten days missed: now 20 days overdue
    assert owed(action) == {
        ("police.owner", Rule.OVERDUE, 1),
        ("police.owner", Rule.OVERDUE, 2),
        ("police.owner", Rule.ESCALATION_1, 0),
        ("police.lead", Rule.ESCALATION_1, 0),
    }


def test_escalation_is_at_the_derived_level_and_shows_on_the_timeline(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -20)
    sweep(on=MONDAY)
    assert level(action, MONDAY) == 1
    summaries = [e.summary for e in action_timeline(action)]
    assert f"Escalation 1 to {police_lead.get_full_name()}" in summaries
    assert f"Escalation 1 (copy) to {owner.get_full_name()}" in summaries


def test_the_next_person_to_save_an_action_is_not_named_as_having_escalated_it(
    owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -20)
    sweep(on=MONDAY)
    action.refresh_from_db()
    action_update(action=action, actor=owner, priority="high")
    owners_changes = [e for e in action_timeline(action) if e.kind == "change" and e.who == owner]
    assert [e.summary for e in owners_changes] == ["Changed priority"]
    assert "scalation" not in owners_changes[0].detail
    # The sweep's escalation is on the timeline as the system's, from the outbox.
    escalations = [e for e in action_timeline(action) if e.kind == "escalation"]
    assert escalations and all(e.who is None for e in escalations)


def test_no_chased_item_stores_an_escalation_level() -> None:
    # The level is derived from the due date and the policy wherever it is read: a stored copy went stale
    # until the next sweep, and in an item's history it was credited to whoever saved the item next.
    for spec in chaseables():
        assert "escalation_level" not in {f.name for f in spec.model._meta.fields}, spec.model


def test_an_approved_extension_resets_the_ladder(
    owner: User, manager: User, second_manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -30)
    sweep(on=MONDAY)
    assert level(action, MONDAY) == 2
    today = timezone.localdate()
    extension = action_request_extension(
        action=action,
        actor=owner,
        requested_due_on=max(MONDAY, today) + dt.timedelta(days=60),
        reason="Staffing",
    )
    action_decide_extension(extension=extension, actor=manager, approve=True)
    assert level(action, MONDAY) == 0
    result = sweep(on=MONDAY + dt.timedelta(days=1))
    assert [e for e in result.entries if e.item_id == action.pk] == []


def test_completion_stops_the_chase_and_resets_the_level(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, -20)
    sweep(on=MONDAY)
    advance(action, "completed", manager=manager)
    assert [e for e in sweep(on=MONDAY + dt.timedelta(days=7)).entries if e.item_id == action.pk] == []
    assert level(action, MONDAY + dt.timedelta(days=7)) == 0


def test_a_reopened_action_is_chased_again(owner: User, manager: User, chasing_on: ChasePolicy) -> None:
    action = started(owner, manager, 2)
    sweep(on=MONDAY)
    advance(action, "awaiting_sign_off", manager=manager)
    action_transition(action=action, actor=manager, name="reject", comment="No evidence of training")
    result = sweep(on=MONDAY)
    assert [(e.recipient, e.rule) for e in result.entries] == [("police.owner", Rule.REMIND_SECOND)]


def test_actions_awaiting_sign_off_are_not_chased(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    advance(
        ActionFactory.create(owner=owner, due_on=MONDAY - dt.timedelta(days=20)),
        "awaiting_sign_off",
        manager=manager,
    )
    assert sweep(on=MONDAY).entries == []


@pytest.mark.parametrize("problem", ["no email", "deactivated"])
def test_an_owner_who_cannot_be_reached_escalates_to_the_agency_lead(
    problem: str, police: Agency, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    owner = person_in(police, roles.ACTION_OWNER, username="unreachable")
    action = started(owner, manager, 3)
    if problem == "no email":
        User.objects.filter(pk=owner.pk).update(email="")
    else:
        User.objects.filter(pk=owner.pk).update(is_active=False)
    result = sweep(on=MONDAY)
    assert [(e.recipient, e.rule) for e in result.entries] == [("police.lead", Rule.REMIND_SECOND)]
    gap = OutboxEntry.objects.get(item_id=action.pk).gap
    assert gap == (
        "its owner has no email address" if problem == "no email" else "its owner's account is deactivated"
    )


def test_items_without_a_due_date_get_no_reminders_and_are_listed(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, 3)
    Action.objects.filter(pk=action.pk).update(due_on=None)
    assert sweep(on=MONDAY).entries == []
    assert [a.pk for a in needs_a_date()] == [action.pk]


def test_a_paused_source_is_not_chased_until_resumed(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, 3)
    plan = action.recommendation.source
    assert isinstance(plan, Plan)
    pause = chasing_pause(actor=manager, source=plan, reason="Plan being rewritten after the inspection")
    assert sweep(on=MONDAY).entries == []
    assert ChasePause.objects.get().reason.startswith("Plan being rewritten")
    chasing_resume(actor=manager, pause=pause)
    assert len(sweep(on=MONDAY).entries) == 1


@pytest.mark.parametrize("n", [1, 25])
def test_sweep_query_count_does_not_depend_on_the_number_of_items(
    n: int,
    owner: User,
    manager: User,
    police_lead: User,
    chasing_on: ChasePolicy,
    django_assert_max_num_queries,
) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        started(owner, manager, [-60, -30, -20, -8, 0, 3, 10][i % 7])
    # A fixed few (policy, calendar, managers and executives, item types, the last sweep, the people
    # snapshot read and brought up to date, the run recorded), then per kind of chaseable item one
    # INSERT and four escalation UPDATEs; the next day's sweep, which computes only the news, as few.
    with django_assert_max_num_queries(14 + 5 * len(chaseables())):
        sweep(on=MONDAY)
    with django_assert_max_num_queries(14 + 5 * len(chaseables())):
        sweep(on=MONDAY + dt.timedelta(days=1))


def test_chase_command_dry_run_json_then_real_run(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    action = started(owner, manager, 3)
    out = StringIO()
    call_command("chase", "--date", MONDAY.isoformat(), "--dry-run", "--json", stdout=out)
    planned = json.loads(out.getvalue())
    assert planned["entries"] == [
        {
            "item": f"action:{action.pk}",
            "recipient": "police.owner",
            "rule": "remind_second",
            "due_on": due(action).isoformat(),
            "period": 0,
            "sweep_date": MONDAY.isoformat(),
            "gap": "",
        }
    ]
    assert not OutboxEntry.objects.exists()
    real = StringIO()
    call_command("chase", "--date", MONDAY.isoformat(), "--json", stdout=real)
    assert OutboxEntry.objects.count() == 1
    again = StringIO()
    call_command("chase", "--date", MONDAY.isoformat(), "--dry-run", "--json", stdout=again)
    assert json.loads(again.getvalue())["entries"] == []


def test_chase_command_refuses_before_chasing_is_switched_on(owner: User, manager: User) -> None:
    started(owner, manager, 3)
    with pytest.raises(CommandError, match="not switched on yet"):
        call_command("chase", "--date", MONDAY.isoformat())
    assert not OutboxEntry.objects.exists()
    assert ChasePolicy.current().confirmed_at is None


def test_the_third_rung_reaches_the_partnership_executives_by_name(
    owner: User, manager: User, executive: User, chasing_on: ChasePolicy
) -> None:
    # An executive who cannot be reached by email is not written to: nobody would read it.
    silent = person_in(
        Agency.objects.get(name="Safeguarding Partnership"), roles.EXECUTIVE, username="silent"
    )
    User.objects.filter(pk=silent.pk).update(email="")
    action = started(owner, manager, -60)
    sweep(on=MONDAY)
    assert ("executive", Rule.ESCALATION_3, 0) in owed(action)
    assert not OutboxEntry.objects.filter(recipient=silent).exists()
    # Before the third rung the executives hear nothing.
    earlier = started(owner, manager, -30)
    sweep(on=MONDAY)
    assert not [r for r in owed(earlier) if r[0] == "executive"]


def test_an_agency_lead_without_an_email_is_not_escalated_to_but_the_other_leads_are(
    police: Agency, owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    mute = person_in(police, roles.AGENCY_LEAD, username="police.lead.noemail")
    User.objects.filter(pk=mute.pk).update(email="")
    action = started(owner, manager, -20)
    sweep(on=MONDAY)
    assert ("police.lead", Rule.ESCALATION_1, 0) in owed(action)
    assert not OutboxEntry.objects.filter(recipient=mute).exists()
    assert agency_lead_ids([police.pk]) == {police.pk: [police_lead.pk]}
