"""Every action field PRODUCT.md lists can be set on a page by those allowed, and timelines read as
people's names and words."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from oversight.services import queue_reassign
from tests.factories import ActionFactory, ThemeFactory, person_in
from tests.workflows.helpers import advance
from workflows import roles
from workflows.models import Action, ActionState, Agency
from workflows.selectors import action_timeline
from workflows.services.actions import action_transition, action_update

pytestmark = pytest.mark.django_db


def opened_follow_up(owner: User, manager: User, second_manager: User) -> Action:
    """The draft follow-up that "impact not evidenced" opens, with no due date."""
    action = advance(ActionFactory.create(owner=owner, reference="4.1"), "completed", manager=manager)
    action_transition(
        action=action, actor=second_manager, name="record_impact_not_evidenced", comment="No change seen"
    )
    follow_up = Action.objects.get(follow_up_of=action)
    assert (follow_up.state, follow_up.due_on) == (ActionState.DRAFT, None)
    return follow_up


def test_difference_for_children_is_set_on_the_action_page(client: Client, owner: User) -> None:
    action = ActionFactory.create(owner=owner)
    client.force_login(owner)
    page = client.get(reverse("action-detail", args=[action.pk])).content.decode()
    assert 'name="difference_for_children"' in page
    client.post(
        reverse("action-edit", args=[action.pk]),
        {
            "description": action.description,
            "outcome_measure": "",
            "difference_for_children": "Children on plans are seen within 10 days",
            "owner": owner.username,
            "due_on": f"{action.due_on:%Y-%m-%d}",
            "theme": "",
            "priority": "medium",
        },
    )
    action.refresh_from_db()
    assert action.difference_for_children == "Children on plans are seen within 10 days"
    assert action.history.first().history_user == owner


def test_manager_gives_the_follow_up_a_due_date_owner_and_theme_on_its_page_then_agrees_it(
    client: Client, owner: User, manager: User, second_manager: User, police: Agency
) -> None:
    follow_up = opened_follow_up(owner, manager, second_manager)
    colleague = person_in(police, roles.ACTION_OWNER, username="colleague")
    theme = ThemeFactory.create(name="Voice of the child")
    due_on = timezone.localdate() + dt.timedelta(days=60)
    client.force_login(manager)
    page = client.get(reverse("action-detail", args=[follow_up.pk])).content.decode()
    assert "The due date is required" in page
    assert 'name="due_on"' in page
    client.post(
        reverse("action-edit", args=[follow_up.pk]),
        {
            "description": follow_up.description,
            "outcome_measure": follow_up.outcome_measure,
            "difference_for_children": follow_up.difference_for_children,
            "owner": colleague.username,
            "due_on": f"{due_on:%Y-%m-%d}",
            "theme": theme.pk,
            "priority": "high",
        },
    )
    follow_up.refresh_from_db()
    assert (follow_up.due_on, follow_up.owner, follow_up.theme) == (due_on, colleague, theme)
    client.post(reverse("action-transition", args=[follow_up.pk, "agree"]), {"state": "draft"})
    assert Action.objects.get(pk=follow_up.pk).state == ActionState.AGREED


def test_follow_ups_owner_must_work_for_its_agency_on_the_page(
    client: Client, owner: User, manager: User, second_manager: User, health_owner: User
) -> None:
    follow_up = opened_follow_up(owner, manager, second_manager)
    client.force_login(manager)
    client.post(
        reverse("action-edit", args=[follow_up.pk]),
        {"description": follow_up.description, "owner": health_owner.username, "priority": "medium"},
    )
    assert Action.objects.get(pk=follow_up.pk).owner == owner


def test_follow_up_is_dated_and_agreed_through_the_api(
    owner: User, manager: User, second_manager: User
) -> None:
    follow_up = opened_follow_up(owner, manager, second_manager)
    client = APIClient()
    client.force_authenticate(manager)
    due_on = timezone.localdate() + dt.timedelta(days=45)
    theme = ThemeFactory.create(name="Neglect")
    patched = client.patch(
        f"/api/actions/{follow_up.pk}/",
        {"due_on": f"{due_on:%Y-%m-%d}", "theme": theme.pk, "difference_for_children": "Fewer repeat plans"},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    agreed = client.post(f"/api/actions/{follow_up.pk}/transitions/agree/", {"state": "draft"}, format="json")
    assert agreed.status_code == 200, agreed.json()
    follow_up.refresh_from_db()
    assert (follow_up.state, follow_up.due_on, follow_up.difference_for_children) == (
        ActionState.AGREED,
        due_on,
        "Fewer repeat plans",
    )


def test_agreed_actions_page_offers_a_change_request_not_an_edit_of_its_wording(
    client: Client, owner: User, manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    client.force_login(owner)
    page = client.get(reverse("action-detail", args=[action.pk])).content.decode()
    assert "Ask to change the action" in page
    client.post(reverse("action-edit", args=[action.pk]), {"description": "Easier", "priority": "low"})
    action.refresh_from_db()
    assert action.description != "Easier"
    assert action.priority == "low"


def test_timeline_names_people_and_says_why_an_action_was_reassigned(
    client: Client, owner: User, manager: User, police: Agency
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    successor = person_in(
        police, roles.ACTION_OWNER, username="successor", first_name="Bob", last_name="Jones"
    )
    queue_reassign(
        actor=manager, actions=Action.objects.filter(pk=action.pk), owner=successor, reason="Ann has left"
    )
    action_update(action=action, actor=manager, priority="high")
    client.force_login(manager)
    page = client.get(reverse("action-detail", args=[action.pk])).content.decode()
    old_name = owner.get_full_name()
    assert f"Owner: {old_name} → Bob Jones" in page
    assert "Ann has left" in page
    assert "Priority: Medium → High" in page
    assert f"owner: {owner.pk}" not in page.lower()
    entry = next(e for e in action_timeline(action) if e.summary == "Changed owner")
    assert "Ann has left" in entry.reason
