"""Nobody decides their own item, and the door acts on the row it locked: as people meet it on pages and
through the API."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection  # noqa: F401  (read by the skipif conditions)
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from oversight.services import queue_reassign
from tests.factories import ActionFactory, person_in
from tests.workflows.helpers import advance
from workflows import roles
from workflows.models import Action, ActionState, Agency, RefusedAttempt, TransitionLog
from workflows.services.actions import (
    action_add_evidence,
    action_add_progress,
    action_transition,
    action_update,
)
from workflows.transitions import TransitionConflict, TransitionRefused, available_transitions

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_transition(user: User, action: Action, name: str, comment: str = "") -> str:
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("action-transition", args=[action.pk, name]),
        {"comment": comment, "state": action.state},
        follow=True,
    )
    return response.content.decode()


DECISIONS = [
    ("in_progress", "discontinue", "You cannot discontinue an action you own: another manager must"),
    ("awaiting_sign_off", "sign_off", "You cannot sign off an action you own"),
    ("awaiting_sign_off", "reject", "You cannot sign off an action you own"),
    ("completed", "confirm_impact", "You cannot record the impact of an action you own"),
    ("completed", "record_impact_not_evidenced", "You cannot record the impact of an action you own"),
]


@pytest.mark.parametrize(("state", "name", "why"), DECISIONS)
def test_manager_cannot_decide_own_action_on_the_page(
    state: str, name: str, why: str, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=manager), state, manager=second_manager)
    assert name not in {t.name for t in available_transitions(action, manager)}
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("action-detail", args=[action.pk])).content.decode()
    assert why.replace("'", "&#x27;") in page  # the page says why the button is missing
    assert why.replace("'", "&#x27;") in page_transition(manager, action, name, comment="Done with it")
    assert Action.objects.get(pk=action.pk).state == state
    # Another manager may.
    action_transition(action=action, actor=second_manager, name=name, comment="Checked by someone else")


@pytest.mark.parametrize(("state", "name", "why"), DECISIONS)
def test_manager_cannot_decide_own_action_through_the_api(
    state: str, name: str, why: str, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=manager), state, manager=second_manager)
    offered = api(manager).get(f"/api/actions/{action.pk}/transitions/").json()
    assert name not in {t["name"] for t in offered}
    response = api(manager).post(
        f"/api/actions/{action.pk}/transitions/{name}/", {"comment": "Done with it"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(why)
    assert Action.objects.get(pk=action.pk).state == state


def test_manager_cannot_discontinue_own_action(manager: User, second_manager: User) -> None:
    action = advance(ActionFactory.create(owner=manager), "in_progress", manager=second_manager)
    with pytest.raises(TransitionRefused, match="You cannot discontinue an action you own: another manager"):
        action_transition(action=action, actor=manager, name="discontinue", comment="No longer needed")
    assert Action.objects.get(pk=action.pk).state == ActionState.IN_PROGRESS


def test_a_refused_decision_leaves_a_trace(manager: User, second_manager: User) -> None:
    action = advance(ActionFactory.create(owner=manager), "in_progress", manager=second_manager)
    with pytest.raises(TransitionRefused):
        action_transition(action=action, actor=manager, name="discontinue", comment="No longer needed")
    attempt = RefusedAttempt.objects.get()
    assert (attempt.subject, attempt.actor, attempt.attempted) == (action, manager, "Discontinue")
    assert attempt.reason == "You cannot discontinue an action you own: another manager must"
    assert attempt.comment == "No longer needed"


def test_two_managers_deciding_at_once_one_wins_and_both_leave_a_trace(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    read_by_both = Action.objects.get(pk=action.pk).state
    first = api(manager).post(
        f"/api/actions/{action.pk}/transitions/sign_off/", {"state": read_by_both}, format="json"
    )
    second = api(second_manager).post(
        f"/api/actions/{action.pk}/transitions/sign_off/", {"state": read_by_both}, format="json"
    )
    assert (first.status_code, second.status_code) == (200, 409)
    assert "changed by someone else" in second.json()["detail"]
    assert TransitionLog.objects.get(transition="sign_off").actor == manager
    assert RefusedAttempt.objects.get().actor == second_manager


# The door acts on the row it locked (issue 13, item 4).


@pytest.fixture
def new_owner(police: Agency) -> User:
    return person_in(police, roles.ACTION_OWNER, username="police.newowner")


def reassigned_meanwhile(action: Action, manager: User, new_owner: User) -> None:
    queue_reassign(
        actor=manager, actions=Action.objects.filter(pk=action.pk), owner=new_owner, reason="Owner on leave"
    )


def test_a_transition_from_a_copy_read_before_a_reassignment_keeps_the_new_owner(
    owner: User, new_owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    reassigned_meanwhile(action, second_manager, new_owner)
    action_transition(action=stale, actor=manager, name="discontinue", comment="Superseded")
    saved = Action.objects.get(pk=action.pk)
    assert (saved.state, saved.owner) == (ActionState.DISCONTINUED, new_owner)
    # The caller's copy is what was saved.
    assert (stale.state, stale.owner) == (ActionState.DISCONTINUED, new_owner)


def test_the_door_judges_four_eyes_on_the_locked_row_not_a_stale_copy(
    owner: User, manager: User, second_manager: User
) -> None:
    """Read while someone else owned it; reassigned to the manager since: it is now theirs to not decide."""
    action = advance(ActionFactory.create(owner=second_manager), "in_progress", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    Action.objects.filter(pk=action.pk).update(owner=manager)
    with pytest.raises(TransitionRefused, match="an action you own"):
        action_transition(action=stale, actor=manager, name="discontinue", comment="Superseded")


def during(monkeypatch: pytest.MonkeyPatch, target: Any, name: str, meanwhile: Callable[[], None]) -> None:
    """Make ``meanwhile`` happen once, right after ``target.name`` first reads the object, as a second
    person's request would between this request's read and its lock."""
    original = getattr(target, name)
    pending = [meanwhile]

    def read_then_meanwhile(*args: Any, **kwargs: Any) -> Any:
        obj = original(*args, **kwargs)
        while pending:
            pending.pop()()
        return obj

    monkeypatch.setattr(target, name, read_then_meanwhile)


def test_a_page_transition_racing_a_reassignment_keeps_the_new_owner(
    monkeypatch: pytest.MonkeyPatch, owner: User, new_owner: User, manager: User, second_manager: User
) -> None:
    from workflows.views import actions as views

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    meanwhile = lambda: reassigned_meanwhile(action, second_manager, new_owner)  # noqa: E731
    during(monkeypatch, views, "_visible_action", meanwhile)
    assert "now discontinued" in page_transition(manager, action, "discontinue", comment="Superseded")
    saved = Action.objects.get(pk=action.pk)
    assert (saved.state, saved.owner) == (ActionState.DISCONTINUED, new_owner)


def test_an_api_transition_racing_a_reassignment_keeps_the_new_owner(
    monkeypatch: pytest.MonkeyPatch, owner: User, new_owner: User, manager: User, second_manager: User
) -> None:
    from workflows.api.views import ActionViewSet

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    meanwhile = lambda: reassigned_meanwhile(action, second_manager, new_owner)  # noqa: E731
    during(monkeypatch, ActionViewSet, "get_object", meanwhile)
    response = api(manager).post(
        f"/api/actions/{action.pk}/transitions/discontinue/",
        {"comment": "Superseded", "state": "in_progress"},
        format="json",
    )
    assert response.json() == {"id": action.pk, "state": "discontinued"}
    assert Action.objects.get(pk=action.pk).owner == new_owner


def test_an_api_client_with_a_stale_state_gets_409(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    response = api(manager).post(
        f"/api/actions/{action.pk}/transitions/discontinue/",
        {"comment": "Superseded", "state": "agreed"},
        format="json",
    )
    assert response.status_code == 409
    assert Action.objects.get(pk=action.pk).state == ActionState.IN_PROGRESS


# Reassigning away is deciding too.


def test_manager_cannot_reassign_away_an_action_they_own_from_the_queue(
    manager: User, second_manager: User
) -> None:
    overdue = timezone.localdate() - dt.timedelta(days=30)
    action = advance(
        ActionFactory.create(owner=manager, due_on=overdue), "in_progress", manager=second_manager
    )
    client = Client()
    client.force_login(manager)
    page = client.post(
        "/queue/bulk/",
        {"bulk": "reassign", "ids": [action.pk], "owner": second_manager.username, "reason": "Too busy"},
        follow=True,
    ).content.decode()
    assert "You cannot reassign an action you own" in page
    assert Action.objects.get(pk=action.pk).owner == manager
    with pytest.raises(PermissionDenied, match="another manager or your agency lead must"):
        queue_reassign(
            actor=manager, actions=Action.objects.filter(pk=action.pk), owner=second_manager, reason="Busy"
        )
    assert RefusedAttempt.objects.filter(attempted="Reassign from the queue", actor=manager).count() == 2
    # Someone else may.
    queue_reassign(
        actor=second_manager,
        actions=Action.objects.filter(pk=action.pk),
        owner=second_manager,
        reason="Cover",
    )
    assert Action.objects.get(pk=action.pk).owner == second_manager


def test_owner_cannot_hand_their_own_action_to_someone_else_through_the_api(
    manager: User, second_manager: User, owner: User, police_lead: User
) -> None:
    mine = ActionFactory.create(owner=manager)
    response = api(manager).patch(f"/api/actions/{mine.pk}/", {"owner": second_manager.pk}, format="json")
    assert response.status_code == 403
    assert "You cannot hand an action you own to someone else" in response.json()["detail"]
    assert Action.objects.get(pk=mine.pk).owner == manager
    assert RefusedAttempt.objects.get().attempted == "Change the owner"
    # Their agency lead may, and the owner may still edit the rest of their draft.
    theirs = ActionFactory.create(owner=owner)
    assert (
        api(owner).patch(f"/api/actions/{theirs.pk}/", {"priority": "high"}, format="json").status_code == 200
    )
    assert (
        api(owner).patch(f"/api/actions/{theirs.pk}/", {"owner": police_lead.pk}, format="json").status_code
        == 403
    )
    assert (
        api(police_lead)
        .patch(f"/api/actions/{theirs.pk}/", {"owner": police_lead.pk}, format="json")
        .status_code
        == 200
    )


def test_a_refused_attempt_is_on_the_items_timeline_and_read_only_in_the_admin(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=manager), "in_progress", manager=second_manager)
    page_transition(manager, action, "discontinue", comment="Not needed now")
    client = Client()
    client.force_login(second_manager)
    page = client.get(reverse("action-detail", args=[action.pk])).content.decode().replace("&#x27;", "'")
    assert "Attempt refused: Discontinue" in page
    assert "You cannot discontinue an action you own: another manager must" in page
    admin = User.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(admin)
    attempt = RefusedAttempt.objects.get()
    assert client.get(f"/admin/workflows/refusedattempt/{attempt.pk}/change/").status_code == 200
    client.post(f"/admin/workflows/refusedattempt/{attempt.pk}/change/", {"reason": "Nothing"})
    client.post(f"/admin/workflows/refusedattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert (
        RefusedAttempt.objects.get().reason
        == "You cannot discontinue an action you own: another manager must"
    )


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_managers_signing_off_at_the_same_instant_one_wins_the_other_is_refused_with_a_trace(
    owner: User, manager: User, second_manager: User
) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connections

    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    both_ready = Barrier(2)

    def sign_off(actor: User) -> str:
        try:
            copy = Action.objects.get(pk=action.pk)
            both_ready.wait()
            action_transition(action=copy, actor=actor, name="sign_off")
            return "done"
        except TransitionConflict as conflict:
            return str(conflict)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(sign_off, [manager, second_manager]))
    assert outcomes.count("done") == 1
    assert "changed by someone else" in next(o for o in outcomes if o != "done")
    winner = TransitionLog.objects.get(transition="sign_off").actor
    assert RefusedAttempt.objects.get().actor == ({manager, second_manager} - {winner}).pop()


def test_progress_from_a_copy_read_before_a_reassignment_keeps_the_new_owner_in_the_record(
    owner: User, new_owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    reassigned_meanwhile(action, second_manager, new_owner)
    action_add_progress(action=stale, actor=manager, text="Half the staff trained")
    latest = Action.objects.get(pk=action.pk).history.first()  # type: ignore[attr-defined]
    assert latest.owner_id == new_owner.pk  # the history row is the row as saved, not the stale copy
    assert stale.last_progress_on == timezone.localdate()


def test_progress_on_an_action_discontinued_meanwhile_is_refused_in_words(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    action_transition(action=action, actor=second_manager, name="discontinue", comment="Superseded")
    with pytest.raises(ValidationError, match="This action is discontinued: it can no longer be updated"):
        action_add_progress(action=stale, actor=owner, text="Half the staff trained")
    assert not action.progress_notes.exists()


def test_an_edit_from_a_copy_read_before_a_reassignment_keeps_the_new_owner_in_the_record(
    owner: User, new_owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    reassigned_meanwhile(action, second_manager, new_owner)
    action_update(action=stale, actor=manager, priority="high")
    latest = Action.objects.get(pk=action.pk).history.first()  # type: ignore[attr-defined]
    assert (latest.owner_id, latest.priority) == (new_owner.pk, "high")
    assert stale.priority == "high"


def test_an_edit_of_an_action_discontinued_meanwhile_is_refused_in_words(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    action_transition(action=action, actor=second_manager, name="discontinue", comment="Superseded")
    with pytest.raises(ValidationError, match="changed by someone else since you opened it"):
        action_update(action=stale, actor=owner, priority="high")
    assert Action.objects.get(pk=action.pk).priority != "high"


def test_evidence_on_an_action_signed_off_meanwhile_is_refused_in_words(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    stale = Action.objects.get(pk=action.pk)
    action_transition(action=action, actor=second_manager, name="sign_off")
    with pytest.raises(ValidationError, match="This action is completed: it can no longer be updated"):
        action_add_evidence(
            action=stale, actor=owner, description="Late register", url="https://example.org/r"
        )
    assert not action.evidence.filter(description="Late register").exists()
