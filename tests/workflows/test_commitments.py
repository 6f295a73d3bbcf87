"""An agreed action is a commitment: its wording changes only through a change request someone else
decides, and every decision on a request (extension or change) is a locked, logged step."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import ActionFactory
from tests.workflows.helpers import advance, due
from workflows.models import Action, ActionChangeRequest, ExtensionRequest, RefusedAttempt, TransitionLog
from workflows.selectors import action_timeline
from workflows.services.actions import (
    action_decide_change,
    action_decide_extension,
    action_request_change,
    action_request_extension,
    action_transition,
    action_update,
)
from workflows.transitions import TransitionConflict

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_owner_cannot_patch_an_agreed_actions_description_without_approval(
    owner: User, manager: User
) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "agreed", manager=manager
    )
    response = api(owner).patch(
        f"/api/actions/{action.pk}/", {"description": "Do something much easier"}, format="json"
    )
    assert response.status_code == 400
    assert "change request" in str(response.json()["description"])
    assert Action.objects.get(pk=action.pk).description == "Train all 40 staff"


@pytest.mark.parametrize("field", ["description", "outcome_measure", "difference_for_children"])
def test_agreed_actions_wording_is_not_edited_directly(owner: User, manager: User, field: str) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    with pytest.raises(ValidationError, match="change request"):
        action_update(action=action, actor=manager, **{field: "Something else"})


def test_draft_actions_wording_is_edited_freely(owner: User) -> None:
    action = ActionFactory.create(owner=owner)
    action_update(action=action, actor=owner, description="Train 40 staff", difference_for_children="Safer")
    assert Action.objects.get(pk=action.pk).difference_for_children == "Safer"


def test_another_manager_approves_a_change_and_the_timeline_keeps_old_and_new_text(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "in_progress", manager=manager
    )
    change = action_request_change(
        action=action, actor=owner, description="Train all 45 staff", reason="Five more joined"
    )
    assert Action.objects.get(pk=action.pk).description == "Train all 40 staff"
    action_decide_change(change=change, actor=second_manager, approve=True, comment="Fair")
    action = Action.objects.get(pk=action.pk)
    assert action.description == "Train all 45 staff"
    latest = action.history.first()
    assert latest.history_user == second_manager
    assert "Change request approved" in latest.history_change_reason
    assert TransitionLog.objects.filter(
        object_id=change.pk, transition="approve", actor=second_manager, to_state="approved"
    ).exists()
    details = " ".join(f"{e.summary} {e.detail} {e.reason}" for e in action_timeline(action))
    assert "Change requested" in details
    assert "Train all 40 staff → Train all 45 staff" in details
    assert "Five more joined" in details


def test_refused_change_leaves_the_wording_and_needs_a_reason(owner: User, manager: User) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "agreed", manager=manager
    )
    change = action_request_change(action=action, actor=owner, description="Train 4 staff", reason="Busy")
    with pytest.raises(ValidationError, match="Say why the change is refused"):
        action_decide_change(change=change, actor=manager, approve=False)
    action_decide_change(change=change, actor=manager, approve=False, comment="Not the commitment")
    assert Action.objects.get(pk=action.pk).description == "Train all 40 staff"
    assert ActionChangeRequest.objects.get().decision == "refused"


def test_requester_cannot_decide_their_own_change_request(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    change = action_request_change(action=action, actor=manager, description="Easier", reason="Why not")
    with pytest.raises(PermissionDenied, match="asked for yourself"):
        action_decide_change(change=change, actor=manager, approve=True)
    assert ActionChangeRequest.objects.get().decision == "pending"


def test_owner_cannot_decide_a_change_to_their_own_action(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=manager), "agreed", manager=second_manager)
    change = action_request_change(action=action, actor=second_manager, description="Easier", reason="x")
    with pytest.raises(PermissionDenied, match="your own action"):
        action_decide_change(change=change, actor=manager, approve=True)


def test_owner_cannot_decide_a_change_request_at_all(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    change = action_request_change(action=action, actor=owner, description="Easier", reason="x")
    with pytest.raises(PermissionDenied):
        action_decide_change(change=change, actor=owner, approve=True)


def test_change_request_must_change_something_and_only_one_may_wait(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    with pytest.raises(ValidationError, match="Change at least one"):
        action_request_change(action=action, actor=owner, description=action.description, reason="x")
    action_request_change(action=action, actor=owner, outcome_measure="Audit shows 90%", reason="x")
    with pytest.raises(ValidationError, match="already waiting"):
        action_request_change(action=action, actor=owner, outcome_measure="Audit shows 80%", reason="y")


def test_owner_asks_to_change_wording_on_the_page_and_another_manager_decides_on_the_sign_off_page(
    client: Client, owner: User, manager: User, second_manager: User
) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "agreed", manager=manager
    )
    client.force_login(owner)
    page = client.get(reverse("action-detail", args=[action.pk])).content.decode()
    assert "Ask to change the action" in page
    client.post(
        reverse("action-change-request", args=[action.pk]),
        {
            "description": "Train all 45 staff",
            "outcome_measure": action.outcome_measure,
            "difference_for_children": action.difference_for_children,
            "reason": "Five more joined",
        },
    )
    change = ActionChangeRequest.objects.get()
    client.force_login(second_manager)
    sign_off = client.get(reverse("sign-off")).content.decode()
    assert "Train all 45 staff" in sign_off
    client.post(reverse("change-request-decide", args=[change.pk]), {"decision": "approve", "comment": ""})
    assert Action.objects.get(pk=action.pk).description == "Train all 45 staff"
    timeline = client.get(reverse("action-detail", args=[action.pk])).content.decode()
    assert "Train all 40 staff → Train all 45 staff" in timeline


def test_change_request_through_the_api(owner: User, manager: User, second_manager: User) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "agreed", manager=manager
    )
    asked = api(owner).post(
        f"/api/actions/{action.pk}/change-requests/",
        {"description": "Train all 45 staff", "reason": "Five more joined"},
        format="json",
    )
    assert asked.status_code == 201, asked.json()
    change_id = asked.json()["id"]
    assert asked.json()["old_description"] == "Train all 40 staff"
    own = api(owner).post(
        f"/api/actions/{action.pk}/change-requests/{change_id}/decide/",
        {"decision": "approve"},
        format="json",
    )
    assert own.status_code == 403
    decided = api(second_manager).post(
        f"/api/actions/{action.pk}/change-requests/{change_id}/decide/",
        {"decision": "approve", "comment": "Fair"},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    assert decided.json()["decision"] == "approved"
    again = api(manager).post(
        f"/api/actions/{action.pk}/change-requests/{change_id}/decide/",
        {"decision": "refuse", "comment": "No"},
        format="json",
    )
    assert again.status_code == 400
    assert api(owner).get(f"/api/actions/{action.pk}/").json()["description"] == "Train all 45 staff"


def test_two_managers_deciding_one_extension_one_wins_and_both_leave_a_trace(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    new_date = due(action) + dt.timedelta(days=30)
    action_request_extension(action=action, actor=owner, requested_due_on=new_date, reason="Trainer ill")
    # Both managers opened the request while it was pending.
    seen_by_first, seen_by_second = ExtensionRequest.objects.get(), ExtensionRequest.objects.get()
    action_decide_extension(extension=seen_by_first, actor=manager, approve=True, comment="Fine")
    with pytest.raises(TransitionConflict, match="changed by someone else"):
        action_decide_extension(extension=seen_by_second, actor=second_manager, approve=False, comment="No")
    extension = ExtensionRequest.objects.get()
    assert extension.decision == "approved"
    assert extension.decided_by == manager
    assert Action.objects.get(pk=action.pk).due_on == new_date
    assert TransitionLog.objects.filter(object_id=extension.pk, transition="approve", actor=manager).exists()
    assert not TransitionLog.objects.filter(object_id=extension.pk, transition="refuse").exists()
    # The loser's attempt is recorded, and both are on the action's timeline.
    refused = RefusedAttempt.objects.get(object_id=extension.pk)
    assert (refused.actor, refused.attempted) == (second_manager, "Refuse the extension")
    timeline = [(e.who, e.summary) for e in action_timeline(Action.objects.get(pk=action.pk))]
    assert (manager, "Extension approved") in timeline
    assert (second_manager, "Attempt refused: Refuse the extension") in timeline


def test_two_managers_deciding_one_change_request_one_wins(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(
        ActionFactory.create(owner=owner, description="Train all 40 staff"), "agreed", manager=manager
    )
    action_request_change(action=action, actor=owner, description="Train 45", reason="More joined")
    seen_by_first, seen_by_second = ActionChangeRequest.objects.get(), ActionChangeRequest.objects.get()
    action_decide_change(change=seen_by_first, actor=manager, approve=False, comment="No")
    with pytest.raises(TransitionConflict):
        action_decide_change(change=seen_by_second, actor=second_manager, approve=True)
    assert Action.objects.get(pk=action.pk).description == "Train all 40 staff"
    assert ActionChangeRequest.objects.get().decision == "refused"


def test_the_losing_decision_on_a_change_request_is_on_the_actions_timeline(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    action_request_change(action=action, actor=owner, description="Train 45", reason="More joined")
    seen_by_first, seen_by_second = ActionChangeRequest.objects.get(), ActionChangeRequest.objects.get()
    action_decide_change(change=seen_by_first, actor=manager, approve=False, comment="No")
    with pytest.raises(TransitionConflict):
        action_decide_change(change=seen_by_second, actor=second_manager, approve=True)
    timeline = [(e.who, e.summary) for e in action_timeline(Action.objects.get(pk=action.pk))]
    assert (manager, "Change request refused") in timeline
    assert any(who == second_manager and summary.startswith("Attempt refused") for who, summary in timeline)


def test_extension_decision_is_logged_with_who_decided(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    extension = action_request_extension(
        action=action, actor=owner, requested_due_on=due(action) + dt.timedelta(days=9), reason="x"
    )
    action_decide_extension(extension=extension, actor=manager, approve=False, comment="Children cannot wait")
    log = TransitionLog.objects.get(object_id=extension.pk, transition="refuse")
    assert (log.actor, log.from_state, log.to_state, log.comment) == (
        manager,
        "pending",
        "refused",
        "Children cannot wait",
    )


def test_manager_cannot_decide_an_extension_they_asked_for(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=second_manager)
    extension = action_request_extension(
        action=action, actor=manager, requested_due_on=due(action) + dt.timedelta(days=9), reason="x"
    )
    with pytest.raises(PermissionDenied, match="asked for yourself"):
        action_decide_extension(extension=extension, actor=manager, approve=True)
    action_decide_extension(extension=extension, actor=second_manager, approve=True)
    assert ExtensionRequest.objects.get().decision == "approved"


def test_a_manager_deciding_their_own_request_is_refused_and_leaves_a_trace(
    owner: User, manager: User, second_manager: User
) -> None:
    from workflows.models import RefusedAttempt

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=second_manager)
    extension = action_request_extension(
        action=action, actor=manager, requested_due_on=due(action) + dt.timedelta(days=9), reason="x"
    )
    with pytest.raises(PermissionDenied, match="asked for yourself"):
        action_decide_extension(extension=extension, actor=manager, approve=True, comment="Fine by me")
    trace = RefusedAttempt.objects.get()
    assert (trace.actor, trace.object_id, trace.comment) == (manager, extension.pk, "Fine by me")
    assert "asked for yourself" in trace.reason
    assert ExtensionRequest.objects.get().decision == "pending"


def test_extension_on_a_closed_action_cannot_be_approved(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    extension = action_request_extension(
        action=action, actor=owner, requested_due_on=due(action) + dt.timedelta(days=9), reason="x"
    )
    action_transition(action=action, actor=second_manager, name="discontinue", comment="Superseded")
    with pytest.raises(ValidationError, match="no longer open"):
        action_decide_extension(extension=extension, actor=manager, approve=True)


def test_extension_requested_and_decided_through_the_api(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    new_date = due(action) + dt.timedelta(days=20)
    asked = api(owner).post(
        f"/api/actions/{action.pk}/extension-requests/",
        {"requested_due_on": f"{new_date:%Y-%m-%d}", "reason": "Trainer ill"},
        format="json",
    )
    assert asked.status_code == 201, asked.json()
    url = f"/api/actions/{action.pk}/extension-requests/{asked.json()['id']}/decide/"
    assert api(owner).post(url, {"decision": "approve"}, format="json").status_code == 403
    refused = api(manager).post(url, {"decision": "refuse"}, format="json")
    assert refused.status_code == 400
    assert "Say why the extension is refused" in str(refused.json())
    decided = api(manager).post(url, {"decision": "approve"}, format="json")
    assert decided.status_code == 200, decided.json()
    assert api(owner).get(f"/api/actions/{action.pk}/").json()["due_on"] == f"{new_date:%Y-%m-%d}"
    listed = api(owner).get(f"/api/actions/{action.pk}/extension-requests/").json()
    assert [e["decision"] for e in listed] == ["approved"]
