"""RAG as the business plan defines it, at its boundaries, computed in SQL."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from tests.factories import ActionFactory
from tests.workflows.helpers import advance
from workflows.deadlines import with_rag
from workflows.models import RAG, Action
from workflows.services.actions import action_add_progress, action_transition

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 23)


def rag_of(action: Action, today: dt.date = TODAY) -> str:
    return with_rag(Action.objects.filter(pk=action.pk), today=today).get().rag


def started(owner: User, manager: User, due_in_days: int, *, progress: bool = True) -> Action:
    action = advance(
        ActionFactory.create(owner=owner, due_on=TODAY + dt.timedelta(days=due_in_days)),
        "in_progress",
        manager=manager,
    )
    if progress:
        action_add_progress(action=action, actor=owner, text="Sessions booked")
        Action.objects.filter(pk=action.pk).update(last_progress_on=TODAY)
    return action


@pytest.mark.parametrize(
    ("due_in_days", "expected"),
    [
        (0, RAG.GREEN),  # due today, with recent progress: not yet late
        (-1, RAG.AMBER),  # 1 day late
        (-14, RAG.AMBER),  # exactly the tolerance late: still within it
        (-15, RAG.RED),  # tolerance + 1
        (30, RAG.GREEN),
    ],
)
def test_rag_at_its_boundaries(due_in_days: int, expected: str, owner: User, manager: User) -> None:
    assert rag_of(started(owner, manager, due_in_days)) == expected


def test_due_soon_with_no_progress_update_is_amber(owner: User, manager: User) -> None:
    assert rag_of(started(owner, manager, 5, progress=False)) == RAG.AMBER
    assert rag_of(started(owner, manager, 0, progress=False)) == RAG.AMBER


def test_due_soon_with_only_stale_progress_is_amber(owner: User, manager: User) -> None:
    action = started(owner, manager, 5)
    Action.objects.filter(pk=action.pk).update(last_progress_on=TODAY - dt.timedelta(days=15))
    assert rag_of(action) == RAG.AMBER


def test_due_well_ahead_without_progress_is_green(owner: User, manager: User) -> None:
    assert rag_of(started(owner, manager, 15, progress=False)) == RAG.GREEN


def test_tolerance_is_configurable(owner: User, manager: User, settings: Settings) -> None:
    settings.FOLLOWTHROUGH_RAG_TOLERANCE_DAYS = 7
    assert rag_of(started(owner, manager, -7)) == RAG.AMBER
    assert rag_of(started(owner, manager, -8)) == RAG.RED


def test_completed_and_discontinued_actions_are_grey_however_late(owner: User, manager: User) -> None:
    completed = advance(
        ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100)), "completed", manager=manager
    )
    discontinued = ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))
    action_transition(action=discontinued, actor=manager, name="discontinue", comment="Superseded")
    assert rag_of(completed) == RAG.GREY
    assert rag_of(discontinued) == RAG.GREY


def test_open_action_without_a_due_date_says_so_rather_than_inventing_a_colour(owner: User) -> None:
    assert rag_of(ActionFactory.create(owner=owner, due_on=None)) == RAG.NO_DATE


def test_owners_reported_rag_is_kept_and_a_disagreement_is_flagged(owner: User, manager: User) -> None:
    action = started(owner, manager, -20)
    action_add_progress(action=action, actor=owner, text="On track really", reported_rag=RAG.GREEN)
    annotated = with_rag(Action.objects.filter(pk=action.pk), today=TODAY).get()
    assert (annotated.rag, annotated.reported_rag, annotated.rag_disagrees) == (RAG.RED, RAG.GREEN, True)
    action_add_progress(action=action, actor=owner, text="Honestly late", reported_rag=RAG.RED)
    assert with_rag(Action.objects.filter(pk=action.pk), today=TODAY).get().rag_disagrees is False


def test_lists_can_filter_and_sort_by_rag_in_sql(owner: User, manager: User) -> None:
    red, amber, green = started(owner, manager, -30), started(owner, manager, -3), started(owner, manager, 40)
    annotated = with_rag(Action.objects.all(), today=TODAY)
    assert list(annotated.filter(rag=RAG.RED)) == [red]
    assert list(annotated.filter(rag__in=[RAG.AMBER, RAG.GREEN]).order_by("rag")) == [amber, green]


def test_rag_uses_todays_date_by_default(owner: User, manager: User) -> None:
    action = advance(
        ActionFactory.create(owner=owner, due_on=timezone.localdate() - dt.timedelta(days=30)),
        "in_progress",
        manager=manager,
    )
    assert with_rag(Action.objects.filter(pk=action.pk)).get().rag == RAG.RED


def test_a_completed_action_no_longer_shows_the_owners_old_rag_as_a_disagreement(
    owner: User, manager: User, second_manager: User
) -> None:
    action = started(owner, manager, -20)
    action_add_progress(action=action, actor=owner, text="Nearly there", reported_rag=RAG.AMBER)
    advance(action, "completed", manager=second_manager)
    annotated = with_rag(Action.objects.filter(pk=action.pk), today=TODAY).get()
    assert (annotated.rag, annotated.reported_rag, annotated.rag_disagrees) == (RAG.GREY, RAG.AMBER, False)
    client = Client()
    client.force_login(manager)
    assert "differs from the computed RAG" not in client.get(f"/actions/{action.pk}/").content.decode()
    api = APIClient()
    api.force_authenticate(manager)
    assert api.get(f"/api/actions/{action.pk}/").json()["rag_disagrees"] is False
