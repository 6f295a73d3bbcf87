"""Escalate now (the queue's bulk action): the same ladder as the sweep, one rung up, or a clear refusal."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import ChasePolicy, OutboxEntry
from oversight.services import queue_escalate
from tests.factories import ActionFactory, person_in
from tests.workflows.helpers import advance
from workflows import roles
from workflows.models import Action, Agency

pytestmark = pytest.mark.django_db


def late(owner: User, manager: User, days_overdue: int) -> Action:
    due = timezone.localdate() - dt.timedelta(days=days_overdue)
    return advance(ActionFactory.create(owner=owner, due_on=due), "in_progress", manager=manager)


def heard(action: Action) -> set[tuple[str, str, bool]]:
    return set(
        OutboxEntry.objects.filter(item_id=action.pk).values_list("recipient__username", "rule", "is_copy")
    )


def everyone(action: Action) -> QuerySet[Action]:
    return Action.objects.filter(pk=action.pk)


def test_escalating_with_no_business_manager_named_reaches_those_who_sign_off(
    owner: User, manager: User, chasing_on: ChasePolicy
) -> None:
    chasing_on.business_managers.clear()
    action = late(owner, manager, 20)  # rung 1 by its days overdue: escalated to rung 2
    queue_escalate(actor=manager, actions=everyone(action), reason="No reply for a month")
    assert heard(action) == {("manager", "escalation_2", False), ("police.owner", "escalation_2", True)}


def test_escalating_to_the_first_rung_reaches_every_lead_of_the_agency(
    police: Agency, owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    person_in(police, roles.AGENCY_LEAD, username="police.lead.two")
    action = late(owner, manager, 3)
    queue_escalate(actor=manager, actions=everyone(action), reason="Urgent")
    assert heard(action) == {
        ("police.lead", "escalation_1", False),
        ("police.lead.two", "escalation_1", False),
        ("police.owner", "escalation_1", True),
    }


def test_escalating_to_the_third_rung_reaches_the_executives(
    owner: User, manager: User, executive: User, chasing_on: ChasePolicy
) -> None:
    action = late(owner, manager, 40)  # rung 2: escalated to rung 3
    queue_escalate(actor=manager, actions=everyone(action), reason="Executive must know")
    assert ("executive", "escalation_3", False) in heard(action)
    assert ("manager", "escalation_3", False) in heard(action)


def test_escalating_refuses_when_a_rung_would_reach_nobody_and_writes_nothing(
    owner: User, health_owner: User, manager: User, police_lead: User, chasing_on: ChasePolicy
) -> None:
    # Police has a lead; health has none and its owner has no line manager: rung 1 reaches nobody there.
    reachable = late(owner, manager, 3)
    unreachable = late(health_owner, manager, 3)
    ActionFactory._meta.model.objects.filter(pk=unreachable.pk).update(reference="H9")
    with pytest.raises(ValidationError, match="H9"):
        queue_escalate(
            actor=manager,
            actions=Action.objects.filter(pk__in=[reachable.pk, unreachable.pk]),
            reason="Chase",
        )
    assert not OutboxEntry.objects.exists()


def test_a_business_managers_own_late_action_escalated_is_refused_when_only_they_would_hear(
    manager: User, second_manager: User, chasing_on: ChasePolicy
) -> None:
    # The manager is the only business manager named and owns the action; its source has no chair.
    action = late(manager, second_manager, 20)  # rung 1 by its days overdue: escalated to rung 2
    with pytest.raises(ValidationError, match="Nobody can be told"):
        queue_escalate(actor=second_manager, actions=everyone(action), reason="No progress")
    assert not OutboxEntry.objects.exists()


def test_an_agency_leads_own_late_action_escalated_to_the_first_rung_is_refused_when_only_they_lead(
    police_lead: User, manager: User, chasing_on: ChasePolicy
) -> None:
    # The lead owns the action, has no line manager, and is their agency's only lead.
    action = late(police_lead, manager, 3)
    with pytest.raises(ValidationError, match="Nobody can be told"):
        queue_escalate(actor=manager, actions=everyone(action), reason="No progress")
    assert not OutboxEntry.objects.exists()
