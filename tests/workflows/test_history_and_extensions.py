import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.factories import ActionFactory, RecommendationFactory
from tests.workflows.helpers import advance, due
from workflows.models import Action, ExtensionRequest
from workflows.selectors import action_timeline
from workflows.services.actions import (
    action_add_progress,
    action_decide_extension,
    action_request_extension,
    action_transition,
    action_update,
    recommendation_create,
)

pytestmark = pytest.mark.django_db


def test_every_transition_and_field_change_is_on_the_history_with_who_and_why(
    owner: User, manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    action_update(action=action, actor=owner, priority="high")
    records = list(action.history.order_by("history_date"))
    assert [r.state for r in records] == ["draft", "agreed", "in_progress", "in_progress"]
    assert records[1].history_user == manager
    assert records[1].history_change_reason.startswith("Agree")
    assert records[-1].history_user == owner
    assert records[-1].priority == "high"


def test_recommendation_changes_are_on_the_history(manager: User) -> None:
    recommendation = recommendation_create(actor=manager, text="Improve supervision")
    assert recommendation.history.get().history_user == manager


def test_owner_cannot_create_recommendations(owner: User) -> None:
    with pytest.raises(PermissionDenied):
        recommendation_create(actor=owner, text="Improve supervision")


def test_due_date_of_an_agreed_action_moves_only_by_extension(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    with pytest.raises(ValidationError, match="ask for an extension"):
        action_update(action=action, actor=owner, due_on=due(action) + dt.timedelta(days=30))


def test_approved_extension_moves_the_due_date_and_keeps_the_original(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    original = action.due_on
    new_date = due(action) + dt.timedelta(days=60)
    extension = action_request_extension(
        action=action, actor=owner, requested_due_on=new_date, reason="Trainer ill"
    )
    action_decide_extension(extension=extension, actor=manager, approve=True, comment="Agreed at subgroup")
    action.refresh_from_db()
    assert (action.due_on, action.original_due_on) == (new_date, original)
    assert extension.decided_by == manager
    assert action.history.first().history_change_reason == "Extension approved"
    summaries = [e.summary for e in action_timeline(action)]
    assert f"Extension requested to {new_date:%-d %B %Y}" in summaries
    assert "Extension approved" in summaries


def test_refused_extension_leaves_the_due_date_and_needs_a_reason(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    extension = action_request_extension(
        action=action, actor=owner, requested_due_on=due(action) + dt.timedelta(days=10), reason="Busy"
    )
    with pytest.raises(ValidationError, match="Say why the extension is refused"):
        action_decide_extension(extension=extension, actor=manager, approve=False)
    action_decide_extension(extension=extension, actor=manager, approve=False, comment="Children cannot wait")
    assert Action.objects.get(pk=action.pk).due_on == action.due_on
    assert ExtensionRequest.objects.get().decision == "refused"


def test_owner_cannot_approve_their_own_extension(manager: User, second_manager: User) -> None:
    action = advance(ActionFactory.create(owner=manager), "in_progress", manager=second_manager)
    extension = action_request_extension(
        action=action, actor=manager, requested_due_on=due(action) + dt.timedelta(days=10), reason="Busy"
    )
    with pytest.raises(PermissionDenied, match="your own action"):
        action_decide_extension(extension=extension, actor=manager, approve=True)


def test_extension_date_must_be_later_and_only_one_may_wait(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    with pytest.raises(ValidationError, match="after the current due date"):
        action_request_extension(action=action, actor=owner, requested_due_on=due(action), reason="x")
    action_request_extension(
        action=action, actor=owner, requested_due_on=due(action) + dt.timedelta(1), reason="x"
    )
    with pytest.raises(ValidationError, match="already waiting"):
        action_request_extension(
            action=action, actor=owner, requested_due_on=due(action) + dt.timedelta(2), reason="y"
        )


def test_timeline_shows_transitions_changes_and_progress_in_order(owner: User, manager: User) -> None:
    action = advance(
        ActionFactory.create(owner=owner, recommendation=RecommendationFactory.create()),
        "in_progress",
        manager=manager,
    )
    action_update(action=action, actor=owner, priority="high")
    kinds = [e.kind for e in action_timeline(action)]
    assert kinds.count("transition") == 2
    assert "change" in kinds
    assert action_timeline(action)[0].at <= action_timeline(action)[-1].at


def test_closed_action_takes_no_more_progress(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner, due_on=timezone.localdate())
    action_transition(action=action, actor=manager, name="discontinue", comment="Superseded")
    with pytest.raises(ValidationError, match="no longer be updated"):
        action_add_progress(action=action, actor=owner, text="more")
