"""The sweep that computes only the day's news writes exactly what the sweep that recomputed everything
wrote (tests/notifications/reference_sweep.py), entry for entry, over 120 days of a changing partnership.

Both run on the same data on the same days, the reference into a table of its own with the outbox's
columns and unique key. Every change goes through the paths the application uses (the transition door,
saves that keep history, the pause service), mixed in at random with a fixed seed: new actions and
clocks, extensions, completions, reopenings, pauses and resumptions, owners who lose and regain an email
address, a line manager named, a new agency lead, a new business manager and executive, a chair changed,
a policy change, a closure day, and missed days (catch-up).
"""

import datetime as dt
import random
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from notifications.models import ChasePause, ChasePolicy
from notifications.services import chasing_pause, chasing_resume
from notifications.sweep import sweep
from tests.factories import ActionFactory, AgencyFactory, PlanFactory, RecommendationFactory, person_in
from tests.notifications import reference_sweep
from tests.workflows.helpers import advance
from workflows import roles
from workflows.models import Action, ClosureDay, Person, StatutoryClock
from workflows.services.actions import action_transition

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)
DAYS = 120
COMPARED = "item_type_id, item_id, recipient_id, rule, due_on, period, round, sweep_date, gap, is_copy"


def _reference_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE reference_outbox AS SELECT * FROM notifications_outboxentry WHERE 1 = 0")
        cursor.execute(
            "CREATE UNIQUE INDEX reference_outbox_once ON reference_outbox "
            "(item_type_id, item_id, recipient_id, rule, due_on, period, round)"
        )


def _entries(table: str) -> set[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {COMPARED} FROM {table}")
        return {tuple(str(v) if isinstance(v, dt.date) else v for v in row) for row in cursor.fetchall()}


def _save(item: Any, reason: str, **fields: Any) -> None:
    """A change as a service makes it: saved with its history (who and why)."""
    for name, value in fields.items():
        setattr(item, name, value)
    item._change_reason = reason
    item.save()


def test_the_news_only_sweep_writes_exactly_what_the_full_sweep_wrote_over_120_days(
    settings: SettingsWrapper, manager: User, second_manager: User, chasing_on: ChasePolicy
) -> None:
    # Days pass in seconds here: no margin, so every change is news only to the sweep after it.
    settings.FOLLOWTHROUGH_SWEEP_CHANGE_MARGIN_SECONDS = 0
    _reference_table()
    rng = random.Random(16)
    agencies = [AgencyFactory.create(name=f"Agency {n}") for n in range(3)]
    leads = [person_in(agency, roles.AGENCY_LEAD, username=f"lead{n}") for n, agency in enumerate(agencies)]
    owners = [person_in(agencies[n % 3], roles.ACTION_OWNER, username=f"owner{n}") for n in range(8)]
    line_manager = person_in(agencies[0], roles.ACTION_OWNER, username="line.manager")
    Person.objects.filter(user=owners[0]).update(line_manager=line_manager)
    plans = [PlanFactory.create(name=f"Plan {n}") for n in range(3)]
    plan_type = ContentType.objects.get_for_model(plans[0])
    actions: list[Action] = []
    clocks: list[StatutoryClock] = []

    def new_action(day: dt.date) -> None:
        owner = rng.choice(owners)
        recommendation = RecommendationFactory.create(
            source=rng.choice(plans), chair=rng.choice([None, second_manager])
        )
        due = day + dt.timedelta(days=rng.randint(-70, 60))
        action = ActionFactory.create(owner=owner, recommendation=recommendation, due_on=due)
        actions.append(advance(action, "in_progress", manager=manager))

    def new_clock(day: dt.date) -> None:
        owner = rng.choice(owners)
        clocks.append(
            StatutoryClock.objects.create(
                name=f"clock{len(clocks)}",
                label=f"Clock {len(clocks)}",
                source_type=plan_type,
                source_id=rng.choice(plans).pk,
                starts_on=day,
                length=15,
                unit="working_days",
                due_on=day + dt.timedelta(days=rng.randint(-30, 25)),
                owner=owner,
                agency=owner.person.agency,
                chair=second_manager,
            )
        )

    for _ in range(30):
        new_action(START)
    for _ in range(4):
        new_clock(START)
    pauses: dict[int, ChasePause] = {}
    skipped = set(rng.sample(range(DAYS), 8))
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        open_actions = [a for a in actions if a.state == "in_progress"]
        roll = rng.random()
        if roll < 0.25:
            new_action(day)
        elif roll < 0.3:
            new_clock(day)
        if open_actions and rng.random() < 0.3:  # an extension: the due date moves on
            action = rng.choice(open_actions)
            assert action.due_on is not None
            _save(
                action,
                "Extension approved",
                due_on=max(action.due_on, day) + dt.timedelta(days=rng.randint(7, 40)),
            )
        if open_actions and rng.random() < 0.15:
            advance(rng.choice(open_actions), "completed", manager=manager)
        done = [a for a in actions if a.state == "completed"]
        if done and rng.random() < 0.1:  # reopened: chased afresh, a new round
            action_transition(action=rng.choice(done), actor=manager, name="reopen", comment="Not embedded")
        open_clocks = [c for c in clocks if c.met_on is None]
        if open_clocks and rng.random() < 0.08:
            _save(rng.choice(open_clocks), "Milestone met", met_on=day)
        if rng.random() < 0.06:
            plan = rng.choice(plans)
            if plan.pk in pauses:
                chasing_resume(actor=manager, pause=pauses.pop(plan.pk))
            else:
                pauses[plan.pk] = chasing_pause(actor=manager, source=plan, reason="Plan being rewritten")
        if rng.random() < 0.06:  # an owner's email address emptied, or given back
            owner = rng.choice(owners)
            owner.email = "" if owner.email else f"{owner.username}@example.org"
            owner.save()
        if rng.random() < 0.04:  # a line manager named for an owner
            person = Person.objects.get(user=rng.choice(owners))
            _save(person, "New line manager", line_manager=rng.choice([line_manager, leads[0], None]))
        if rng.random() < 0.04 and open_actions:  # the source's chair changes
            recommendation = rng.choice(open_actions).recommendation
            _save(recommendation, "New chair", chair=rng.choice([manager, second_manager, None]))
        if offset == 20:
            person_in(agencies[1], roles.AGENCY_LEAD, username="lead.new")
        if offset == 35:
            chasing_on.business_managers.add(person_in(agencies[2], roles.MANAGER, username="manager.new"))
        if offset == 50:
            person_in(agencies[2], roles.EXECUTIVE, username="executive")
        if offset == 60:  # the policy changes: weekly becomes every five days, the second rung sooner
            policy = ChasePolicy.current()
            _save(policy, "Tighter chasing", overdue_repeat_days=5, escalation_2_days=21)
        if offset == 70:
            ClosureDay.objects.create(date=day + dt.timedelta(days=9), reason="Closure")
        if offset == 80:
            _save(leads[2], "Left", is_active=False)
        if offset in skipped:
            continue  # nobody ran the sweep that day: the next one catches up
        reference_sweep.sweep(on=day, describe=False, table="reference_outbox")
        sweep(on=day, describe=False)
    reference, news_only = _entries("reference_outbox"), _entries("notifications_outboxentry")
    assert len(reference) > 500
    assert news_only == reference, (sorted(reference - news_only)[:10], sorted(news_only - reference)[:10])
