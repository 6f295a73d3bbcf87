"""Move actions through their lifecycle the way users do: through the one transition door."""

import datetime as dt

from django.contrib.auth.models import User

from workflows.models import Action
from workflows.services.actions import action_add_evidence, action_transition


def due(action: Action) -> dt.date:
    """The action's due date, which the test set up and relies on."""
    assert action.due_on is not None
    return action.due_on


def advance(action: Action, to: str, *, manager: User) -> Action:
    """Walk an action forward from its state to ``to``, the owner doing the owner's steps."""
    owner = action.owner
    assert owner is not None
    steps = [
        ("agreed", manager, "agree"),
        ("in_progress", owner, "start"),
        ("awaiting_sign_off", owner, "submit_for_sign_off"),
        ("completed", manager, "sign_off"),
    ]
    order = ["draft", *(state for state, _, _ in steps)]
    for state, actor, name in steps[order.index(action.state) :]:
        if action.state == to:
            break
        if name == "submit_for_sign_off" and not action.evidence.exists():
            action_add_evidence(
                action=action, actor=owner, description="Audit report", url="https://example.org/r"
            )
        action_transition(action=action, actor=actor, name=name, comment=f"{name} in test")
        if state == to:
            break
    assert action.state == to
    return action
