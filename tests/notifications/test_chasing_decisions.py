"""Chasing decisions (switching it on, pausing, resuming) are locked, logged steps: of two managers at once,
one wins, the other is told who did, and both attempts leave a trace."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection  # noqa: F401  (read by the skipif conditions)
from django.test import Client
from django.urls import reverse

from notifications import services
from notifications.models import ChasePause, ChasePolicy
from notifications.services import chasing_confirm, chasing_pause, chasing_resume
from tests.factories import PlanFactory
from workflows.models import Plan, RefusedAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(db: None) -> Plan:
    return PlanFactory.create(name="Business plan 2019-20")


def posted(user: User, url: str, data: dict[str, Any] | None = None) -> str:
    client = Client()
    client.force_login(user)
    return client.post(url, data or {}, follow=True).content.decode()


def pause_key(plan: Plan) -> str:
    return f"{ContentType.objects.get_for_model(Plan).pk}:{plan.pk}"


def test_a_second_manager_pausing_a_paused_source_is_told_who_paused_it_and_both_leave_a_trace(
    plan: Plan, manager: User, second_manager: User
) -> None:
    posted(manager, reverse("chasing-pause"), {"source": pause_key(plan), "reason": "Plan being rewritten"})
    page = posted(
        second_manager, reverse("chasing-pause"), {"source": pause_key(plan), "reason": "Superseded"}
    )
    assert f"Chasing is already paused for this: {manager.get_full_name()} paused it" in page.replace(
        "&#x27;", "'"
    )
    assert ChasePause.objects.get().paused_by == manager
    attempt = RefusedAttempt.objects.get()
    assert (attempt.subject, attempt.actor, attempt.attempted) == (plan, second_manager, "Pause chasing")
    assert attempt.comment == "Superseded"


def test_pausing_the_same_source_at_the_same_instant_is_a_refusal_not_a_server_error(
    monkeypatch: pytest.MonkeyPatch, plan: Plan, manager: User, second_manager: User
) -> None:
    """Where the database cannot lock (SQLite), both see no pause; the second insert meets the
    one-active-pause rule and is refused in words."""
    chasing_pause(actor=manager, source=plan, reason="Plan being rewritten")
    original = services._active_pause
    calls = iter([None])  # the second manager's check runs before the first manager's pause is visible
    monkeypatch.setattr(services, "_active_pause", lambda *a: next(calls, None) or original(*a))
    page = posted(
        second_manager, reverse("chasing-pause"), {"source": pause_key(plan), "reason": "Superseded"}
    )
    assert f"Chasing is already paused for this: {manager.get_full_name()} paused it" in page.replace(
        "&#x27;", "'"
    )
    assert ChasePause.objects.count() == 1
    assert RefusedAttempt.objects.get().actor == second_manager


def test_resuming_twice_is_refused_saying_who_resumed_and_leaves_a_trace(
    plan: Plan, manager: User, second_manager: User
) -> None:
    pause = chasing_pause(actor=manager, source=plan, reason="Plan being rewritten")
    read_by_both = ChasePause.objects.get(pk=pause.pk)
    chasing_resume(actor=manager, pause=read_by_both)
    page = posted(second_manager, reverse("chasing-resume", args=[pause.pk]))
    assert f"Chasing was already resumed: {manager.get_full_name()} resumed it" in page.replace("&#x27;", "'")
    assert ChasePause.objects.get().resumed_by == manager
    attempt = RefusedAttempt.objects.get()
    assert (attempt.subject, attempt.actor, attempt.attempted) == (plan, second_manager, "Resume chasing")


def test_switching_chasing_on_twice_is_refused_saying_who_did_and_both_leave_a_trace(
    manager: User, second_manager: User
) -> None:
    chasing_confirm(actor=manager)
    page = posted(second_manager, reverse("chasing-confirm"))
    assert f"Chasing is already switched on: {manager.get_full_name()} switched it on" in page.replace(
        "&#x27;", "'"
    )
    policy = ChasePolicy.current()
    assert policy.confirmed_by == manager
    latest = policy.history.first()  # type: ignore[attr-defined]
    assert (latest.history_user, latest.history_change_reason) == (
        manager,
        "Chasing switched on after the preview",
    )
    attempt = RefusedAttempt.objects.get()
    assert (attempt.subject, attempt.actor, attempt.attempted) == (
        policy,
        second_manager,
        "Switch chasing on",
    )
    with pytest.raises(ValidationError, match="already switched on"):
        chasing_confirm(actor=second_manager)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("decision", ["pause", "confirm"])
def test_two_managers_deciding_at_the_same_instant_one_wins_the_other_is_refused(
    decision: str, plan: Plan, manager: User, second_manager: User
) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connections

    ChasePolicy.current()
    both_ready = Barrier(2)

    def decide(actor: User) -> str:
        try:
            both_ready.wait()
            if decision == "pause":
                chasing_pause(actor=actor, source=plan, reason=f"Paused by {actor}")
            else:
                chasing_confirm(actor=actor)
            return "done"
        except ValidationError as refusal:
            return refusal.messages[0]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(decide, [manager, second_manager]))
    assert outcomes[1] == "done"
    assert outcomes[0].startswith("Chasing is already")
    assert RefusedAttempt.objects.count() == 1
    assert ChasePause.objects.count() == (1 if decision == "pause" else 0)
