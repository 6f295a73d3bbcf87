"""The action lifecycle: every transition allowed, and every refusal with its reason."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.factories import ActionFactory
from tests.workflows.helpers import advance
from workflows.models import Action, ActionState, TransitionLog
from workflows.services.actions import action_add_evidence, action_transition
from workflows.transitions import TransitionConflict, TransitionRefused, available_transitions

pytestmark = pytest.mark.django_db


def names(action: Action, user: User) -> set[str]:
    return {option.name for option in available_transitions(action, user)}


def test_walk_from_draft_to_impact_confirmed_logs_every_step(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner)
    advance(action, "completed", manager=manager)
    action_transition(
        action=action, actor=manager, name="confirm_impact", comment="Re-audit in March: 9 of 10 good"
    )

    action.refresh_from_db()
    assert action.state == ActionState.IMPACT_CONFIRMED
    assert action.signed_off_by == manager
    assert action.completed_on == timezone.localdate()
    assert action.impact_check_on == timezone.localdate() + dt.timedelta(days=90)
    log = list(
        TransitionLog.objects.filter(object_id=action.pk).values_list(
            "from_state", "to_state", "actor__username"
        )
    )
    assert log == [
        ("draft", "agreed", "manager"),
        ("agreed", "in_progress", "police.owner"),
        ("in_progress", "awaiting_sign_off", "police.owner"),
        ("awaiting_sign_off", "completed", "manager"),
        ("completed", "impact_confirmed", "manager"),
    ]
    assert TransitionLog.objects.get(object_id=action.pk, transition="confirm_impact").comment.startswith(
        "Re-audit"
    )


def test_agency_lead_may_agree_their_agencys_action(owner: User, police_lead: User) -> None:
    action = ActionFactory.create(owner=owner)
    action_transition(action=action, actor=police_lead, name="agree")
    assert action.state == ActionState.AGREED


def test_agency_lead_of_another_agency_may_not_agree(owner: User, health_lead: User) -> None:
    action = ActionFactory.create(owner=owner)
    with pytest.raises(TransitionRefused, match="Only the agency lead or a manager may agree an action"):
        action_transition(action=action, actor=health_lead, name="agree")


def test_owner_may_not_agree_their_own_action(owner: User) -> None:
    action = ActionFactory.create(owner=owner)
    with pytest.raises(TransitionRefused, match="agency lead or a manager"):
        action_transition(action=action, actor=owner, name="agree")


def test_agreeing_needs_a_due_date(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner, due_on=None)
    with pytest.raises(TransitionRefused, match="The due date is required"):
        action_transition(action=action, actor=manager, name="agree")
    assert Action.objects.get(pk=action.pk).state == ActionState.DRAFT


def test_agreeing_needs_an_owner(manager: User, police) -> None:  # type: ignore[no-untyped-def]
    action = ActionFactory.create(owner=None, agency=police)
    with pytest.raises(TransitionRefused, match="The owner is required"):
        action_transition(action=action, actor=manager, name="agree")


def test_agreeing_keeps_the_original_due_date(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    assert action.original_due_on == action.due_on


def test_submitting_for_sign_off_needs_evidence(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    with pytest.raises(TransitionRefused, match="Evidence is required"):
        action_transition(action=action, actor=owner, name="submit_for_sign_off")
    action_add_evidence(
        action=action, actor=owner, description="Training register", url="https://example.org/t"
    )
    action_transition(action=action, actor=owner, name="submit_for_sign_off")
    assert action.state == ActionState.AWAITING_SIGN_OFF
    assert action.submitted_at is not None


def test_owner_cannot_sign_off_own_action(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    with pytest.raises(
        TransitionRefused, match="Only a manager who is not the action's owner may sign it off"
    ):
        action_transition(action=action, actor=owner, name="sign_off")
    assert "sign_off" not in names(action, owner)


def test_manager_who_owns_the_action_cannot_sign_it_off(manager: User, second_manager: User) -> None:
    action = advance(ActionFactory.create(owner=manager), "awaiting_sign_off", manager=second_manager)
    with pytest.raises(TransitionRefused, match="not the action's owner"):
        action_transition(action=action, actor=manager, name="sign_off")
    action_transition(action=action, actor=second_manager, name="sign_off")
    assert action.signed_off_by == second_manager


def test_agency_lead_cannot_sign_off(owner: User, police_lead: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    with pytest.raises(TransitionRefused, match="may sign it off"):
        action_transition(action=action, actor=police_lead, name="sign_off")


def test_rejecting_returns_the_action_to_the_owner_with_a_reason(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    with pytest.raises(TransitionRefused, match="A reason for rejecting is required"):
        action_transition(action=action, actor=manager, name="reject", comment="  ")
    action_transition(action=action, actor=manager, name="reject", comment="The register does not cover GPs")
    assert action.state == ActionState.IN_PROGRESS
    assert TransitionLog.objects.get(transition="reject").comment == "The register does not cover GPs"


def test_only_a_manager_may_discontinue_an_action(owner: User, police_lead: User) -> None:
    action = ActionFactory.create(owner=owner)
    for person in (owner, police_lead):
        with pytest.raises(TransitionRefused, match="Only a manager may discontinue an action"):
            action_transition(action=action, actor=person, name="discontinue", comment="No longer needed")
    assert Action.objects.get(pk=action.pk).state == ActionState.DRAFT


def test_discontinuing_needs_a_rationale(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    with pytest.raises(TransitionRefused, match="A rationale is required to discontinue an action"):
        action_transition(action=action, actor=manager, name="discontinue")
    action_transition(
        action=action, actor=manager, name="discontinue", comment="Superseded by the new neglect strategy"
    )
    assert action.state == ActionState.DISCONTINUED


@pytest.mark.parametrize("state", ["draft", "agreed", "in_progress", "awaiting_sign_off"])
def test_any_open_action_may_be_discontinued(state: str, owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), state, manager=manager)
    action_transition(action=action, actor=manager, name="discontinue", comment="Merged into action 4.2")
    assert action.state == ActionState.DISCONTINUED


def test_completed_action_cannot_be_discontinued(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "completed", manager=manager)
    with pytest.raises(TransitionRefused, match="This action is completed: it cannot be changed that way"):
        action_transition(action=action, actor=manager, name="discontinue", comment="x")


def test_impact_not_evidenced_opens_a_linked_follow_up_action(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner, reference="9.2"), "completed", manager=manager)
    with pytest.raises(TransitionRefused, match="Say why the impact is not evidenced"):
        action_transition(action=action, actor=manager, name="record_impact_not_evidenced")
    action_transition(
        action=action, actor=manager, name="record_impact_not_evidenced", comment="Re-audit found no change"
    )
    follow_up = Action.objects.get(follow_up_of=action)
    assert action.state == ActionState.IMPACT_NOT_EVIDENCED
    assert follow_up.state == ActionState.DRAFT
    assert follow_up.owner == owner
    assert follow_up.reference == "9.2-F"
    assert follow_up.recommendation == action.recommendation


def test_owner_cannot_record_impact_of_own_action(manager: User, second_manager: User) -> None:
    action = advance(ActionFactory.create(owner=manager), "completed", manager=second_manager)
    with pytest.raises(TransitionRefused, match="not the action's owner may record its impact"):
        action_transition(action=action, actor=manager, name="confirm_impact", comment="It worked")


@pytest.mark.parametrize(
    ("state", "name"),
    [
        ("draft", "start"),
        ("draft", "sign_off"),
        ("agreed", "submit_for_sign_off"),
        ("in_progress", "sign_off"),
        ("in_progress", "confirm_impact"),
        ("awaiting_sign_off", "agree"),
        ("completed", "start"),
    ],
)
def test_transitions_from_the_wrong_state_are_refused_and_change_nothing(
    state: str, name: str, owner: User, manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), state, manager=manager)
    logged = TransitionLog.objects.count()
    with pytest.raises(TransitionRefused, match="cannot be changed that way"):
        action_transition(action=action, actor=manager, name=name, comment="trying")
    assert Action.objects.get(pk=action.pk).state == state
    assert TransitionLog.objects.count() == logged


def test_unknown_transition_is_refused(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner)
    with pytest.raises(TransitionRefused, match="There is no transition called “explode”"):
        action_transition(action=action, actor=manager, name="explode")


def test_state_cannot_be_set_directly(owner: User) -> None:
    action = ActionFactory.create(owner=owner)
    with pytest.raises(AttributeError):
        action.state = ActionState.COMPLETED


def test_two_stale_copies_one_wins_the_other_conflicts_and_changes_nothing(
    owner: User, manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    first, second = Action.objects.get(pk=action.pk), Action.objects.get(pk=action.pk)
    action_transition(action=first, actor=manager, name="sign_off")
    logged = TransitionLog.objects.count()
    with pytest.raises(TransitionConflict, match="changed by someone else"):
        action_transition(action=second, actor=manager, name="reject", comment="Not enough")
    fresh = Action.objects.get(pk=action.pk)
    assert fresh.state == ActionState.COMPLETED
    assert TransitionLog.objects.count() == logged


def test_expected_state_that_no_longer_holds_is_a_conflict(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    with pytest.raises(TransitionConflict):
        action_transition(action=action, actor=owner, name="start", expected_state="draft")
    assert Action.objects.get(pk=action.pk).state == ActionState.AGREED


def test_available_transitions_are_those_the_person_may_make(
    owner: User, manager: User, police_lead: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    assert names(action, owner) == set()
    assert names(action, police_lead) == set()
    assert names(action, manager) == {"sign_off", "reject", "discontinue"}
    labels = {o.name: o.label for o in available_transitions(action, manager)}
    assert labels["sign_off"] == "Sign off as complete"
    assert {o.name for o in available_transitions(action, manager) if o.comment_required} == {
        "reject",
        "discontinue",
    }


def test_graph_transitions_draws_the_action_machine() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("graph_transitions", "workflows.Action", stdout=out)
    dot = out.getvalue()
    assert dot.startswith("digraph")
    for label in ("sign_off", "reject", "record_impact_not_evidenced", "discontinue"):
        assert f"label={label}" in dot
