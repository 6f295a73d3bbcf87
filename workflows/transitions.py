"""The one door for every state change of every workflow object.

A state machine declares its transitions with django-fsm's ``@transition``; each declares, in ``custom``,
a human ``label`` and whether a ``comment`` is required (with the message to give when it is missing).
Conditions and permissions are :class:`Rule` objects, so a refusal can say why it was refused.

``transition_perform`` is the only code that calls a transition method: it locks the row, checks, calls,
saves, logs and runs the transition's registered effects, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django_fsm import ConcurrentTransition, FSMFieldMixin, Transition

from .models.transitions import TransitionLog

Viewer = User | AnonymousUser


class TransitionRefused(Exception):
    """The transition may not happen now; the message says why, in words a user understands."""


class TransitionConflict(Exception):
    """The object changed since the caller read it; nothing was changed."""


@dataclass(frozen=True)
class Rule:
    """A condition ``check(instance)`` or permission ``check(instance, user)`` with its refusal message."""

    message: str
    check: Callable[..., bool]

    def __call__(self, *args: Any) -> bool:
        return bool(self.check(*args))


def rule(message: str) -> Callable[[Callable[..., bool]], Rule]:
    """Decorate a predicate so django-fsm can call it and we can explain it when it fails."""

    def wrap(check: Callable[..., bool]) -> Rule:
        return Rule(message=message, check=check)

    return wrap


@dataclass(frozen=True)
class TransitionOption:
    name: str
    label: str
    target: str
    comment_required: bool
    fields: tuple[str, ...] = field(default_factory=tuple)


Effect = Callable[..., None]
_effects: dict[tuple[type[models.Model], str], list[Effect]] = {}


def register_effect(model: type[models.Model], name: str) -> Callable[[Effect], Effect]:
    """Run ``effect(obj, *, actor, comment, arguments)`` inside the transaction, after ``name`` is saved.

    For database work that belongs to the transition (opening a follow-up action); anything outside the
    database goes through ``transaction.on_commit`` from the effect.
    """

    def register(effect: Effect) -> Effect:
        _effects.setdefault((model, name), []).append(effect)
        return effect

    return register


def state_field(model: type[models.Model]) -> FSMFieldMixin:
    fields = [f for f in model._meta.fields if isinstance(f, FSMFieldMixin)]
    if len(fields) != 1:
        raise TypeError(f"{model.__name__} must have exactly one FSM field")
    return fields[0]


def _transition_for(obj: models.Model, name: str) -> Transition | None:
    meta = getattr(getattr(type(obj), name, None), "_django_fsm", None)
    if meta is None:
        return None
    return meta.get_transition(state_field(type(obj)).get_state(obj))


def _all_names(model: type[models.Model]) -> set[str]:
    return {t.name for t in state_field(model).get_all_transitions(model)}


def state_label(obj: models.Model) -> str:
    fsm_field = state_field(type(obj))
    return str(dict(fsm_field.flatchoices).get(fsm_field.get_state(obj), fsm_field.get_state(obj)))


def _internal(model: type[models.Model]) -> set[str]:
    """Transitions only a service makes (an import), never offered to or requested by a person."""
    return {t.name for t in state_field(model).get_all_transitions(model) if t.custom.get("internal")}


def _refusal(
    obj: models.Model, name: str, actor: Viewer, comment: str, *, internal: bool = False
) -> str | None:
    """Why ``actor`` may not make transition ``name`` on ``obj`` now, or None if they may."""
    model = type(obj)
    noun = model._meta.verbose_name
    if name not in _all_names(model) or (name in _internal(model) and not internal):
        return f"there is no transition called “{name}” for {noun}s"
    found = _transition_for(obj, name)
    if found is None:
        return f"this {noun} is {state_label(obj).lower()}: it cannot be changed that way"
    if not actor.is_authenticated or not found.has_perm(obj, actor):
        permission = found.permission
        return permission.message if isinstance(permission, Rule) else "you may not do that"
    for condition in found.conditions:
        if not condition(obj):
            return condition.message if isinstance(condition, Rule) else f"{found.name} is not possible now"
    required = found.custom.get("comment_required")
    if required and not comment.strip():
        return str(required)
    return None


def available_transitions(obj: models.Model, user: Viewer) -> list[TransitionOption]:
    """The transitions ``user`` may make on ``obj`` now, for pages and API alike.

    A transition whose only obstacle is a missing comment is offered: the form asks for the comment.
    """
    fsm_field = state_field(type(obj))
    options = []
    for found in fsm_field.get_all_transitions(type(obj)):
        if found.source not in (fsm_field.get_state(obj), "*") or found.custom.get("internal"):
            continue
        if _refusal(obj, found.name, user, comment="given") is None:
            options.append(
                TransitionOption(
                    name=found.name,
                    label=found.custom.get("label", found.name.replace("_", " ").capitalize()),
                    target=str(found.target),
                    comment_required=bool(found.custom.get("comment_required")),
                    fields=tuple(found.custom.get("fields", ())),
                )
            )
    return options


def blocked_transitions(obj: models.Model, user: Viewer) -> list[tuple[str, str]]:
    """The next steps ``user`` could take but for a condition, each with its label and why not yet, so a
    page can say what stands in the way instead of leaving a button missing.

    A transition marked ``quiet`` (an alternative route, such as an override) is left out.
    """
    fsm_field = state_field(type(obj))
    blocked = []
    for found in fsm_field.get_all_transitions(type(obj)):
        if found.source not in (fsm_field.get_state(obj), "*") or found.custom.keys() & {"quiet", "internal"}:
            continue
        if not user.is_authenticated or not found.has_perm(obj, user):
            continue
        failing = next((c for c in found.conditions if not c(obj)), None)
        if failing is not None:
            reason = failing.message if isinstance(failing, Rule) else "not possible yet"
            blocked.append((str(found.custom.get("label", found.name)), reason[0].upper() + reason[1:]))
    return blocked


def transition_perform(
    *,
    obj: models.Model,
    name: str,
    actor: Viewer,
    comment: str = "",
    expected_state: str | None = None,
    internal: bool = False,
    **arguments: Any,
) -> models.Model:
    """Make transition ``name`` on ``obj`` for ``actor``, or refuse with the reason and change nothing.

    Guarantees: the row is locked for the duration; a caller holding a stale copy (its state, or
    ``expected_state``, differs from the database's) gets TransitionConflict; permission, conditions and a
    required comment are checked before the method runs; the new state, the history row (with actor and
    reason) and the TransitionLog row are saved together with the effects, or none of them is. A
    transition marked ``internal`` is made only by a service that says so (``internal=True``).
    """
    model = type(obj)
    fsm_field = state_field(model)
    held_state = fsm_field.get_state(obj)
    with transaction.atomic():
        current = model._default_manager.select_for_update().filter(pk=obj.pk).first()
        if current is None:
            raise TransitionRefused(f"this {model._meta.verbose_name} no longer exists")
        current_state = fsm_field.get_state(current)
        if current_state != held_state or (expected_state is not None and expected_state != current_state):
            raise TransitionConflict(
                f"this {model._meta.verbose_name} was changed by someone else since you opened it "
                f"(it is now {state_label(current).lower()}); reload it and try again"
            )
        refusal = _refusal(obj, name, actor, comment, internal=internal)
        if refusal is not None:
            raise TransitionRefused(refusal[0].upper() + refusal[1:])
        found = _transition_for(obj, name)
        assert found is not None
        getattr(obj, name)(actor=actor, comment=comment, **arguments)
        obj._history_user = actor if actor.is_authenticated else None  # type: ignore[attr-defined]
        obj._change_reason = f"{found.custom.get('label', name)}: {comment}"[:100]  # type: ignore[attr-defined]
        try:
            obj.save()
        except ConcurrentTransition as exc:
            raise TransitionConflict(str(exc)) from exc
        TransitionLog.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=obj.pk,
            transition=name,
            label=found.custom.get("label", name),
            from_state=current_state,
            to_state=fsm_field.get_state(obj),
            actor=actor if actor.is_authenticated else None,
            comment=comment,
            arguments={k: str(v) for k, v in arguments.items()},
        )
        for effect in _effects.get((model, name), []):
            effect(obj, actor=actor, comment=comment, arguments=arguments)
    return obj


def transition_log(objs: Iterable[models.Model]) -> models.QuerySet[TransitionLog]:
    objs = list(objs)
    if not objs:
        return TransitionLog.objects.none()
    content_type = ContentType.objects.get_for_model(type(objs[0]))
    return TransitionLog.objects.filter(
        content_type=content_type, object_id__in=[o.pk for o in objs]
    ).select_related("actor")
