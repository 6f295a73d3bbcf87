"""The one door for every state change of every workflow object.

A state machine declares its transitions with django-fsm's ``@transition``; each declares, in ``custom``,
a human ``label`` and whether a ``comment`` is required (with the message to give when it is missing).
Conditions and permissions are :class:`Rule` objects, so a refusal can say why it was refused.

``transition_perform`` is the only code that calls a transition method: it locks the row, checks, calls,
saves, logs and runs the transition's registered effects, all in one transaction, on the row it locked.

Four eyes: nobody decides their own item. A transition that is a decision declares, in ``custom``,
``"four_eyes": "<why not, and who must>"``; a model says who its own parties are with
``is_party(user)`` (an action's owner, a return's agency...). The door refuses such a transition to a
party, and services that decide without a transition ask :func:`require_someone_else` the same question.

A refused attempt leaves a trace: :func:`record_refusal` keeps who tried what and why it was refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django_fsm import ConcurrentTransition, ConcurrentTransitionMixin, FSMFieldMixin, Transition

from .models.transitions import RefusedAttempt, TransitionLog

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
    database goes through ``transaction.on_commit`` from the effect. A name the model's state machine
    does not have fails here, at start-up: an effect under a typo would never run.
    """
    if name not in _all_names(model):
        raise ImproperlyConfigured(f"{model.__name__} has no transition {name!r} to attach an effect to")

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


def is_party(obj: models.Model, user: Viewer) -> bool:
    """Whether ``user`` is one of ``obj``'s own parties (see the module's four eyes), who may work on it
    but never decide it."""
    parties = getattr(obj, "is_party", None)
    return bool(user.is_authenticated and parties is not None and parties(user))


def require_someone_else(obj: models.Model, actor: Viewer, message: str, *, attempted: str) -> None:
    """For a service that decides on ``obj`` without a transition, before its transaction: refuse its own
    party, saying why, and keep the trace of the attempt."""
    if is_party(obj, actor):
        refusal = message[0].upper() + message[1:]
        record_refusal(obj, actor, attempted=attempted, reason=refusal)
        raise PermissionDenied(refusal)


def _permission_refusal(obj: models.Model, found: Transition, actor: Viewer) -> str | None:
    if not actor.is_authenticated or not found.has_perm(obj, actor):
        permission = found.permission
        return permission.message if isinstance(permission, Rule) else "you may not do that"
    four_eyes = found.custom.get("four_eyes")
    if four_eyes and is_party(obj, actor):
        return str(four_eyes)
    return None


def permission_refusal(obj: models.Model, name: str, actor: Viewer) -> str | None:
    """Why ``actor`` may never make transition ``name`` on ``obj`` (their role, or four eyes), whatever its
    state and conditions; for a service that checks before it does the work leading to the transition."""
    meta = getattr(getattr(type(obj), name, None), "_django_fsm", None)
    if meta is None or not meta.transitions:
        return f"there is no transition called “{name}” for {type(obj)._meta.verbose_name}s"
    refusal = _permission_refusal(obj, next(iter(meta.transitions.values())), actor)
    return refusal[0].upper() + refusal[1:] if refusal else None


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
    refusal = _permission_refusal(obj, found, actor)
    if refusal is not None:
        return refusal
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
        if found.custom.get("four_eyes") and is_party(obj, user):
            # Never theirs to make, whatever happens: say so rather than leave the button missing.
            reason = str(found.custom["four_eyes"])
            blocked.append((str(found.custom.get("label", found.name)), reason[0].upper() + reason[1:]))
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

    Guarantees: the row is locked for the duration, and the checks, the transition and the save act on
    the locked row, never on the caller's copy (so nothing another person changed since the caller read
    it, such as a new owner, is put back); a caller holding a stale copy (its state, or
    ``expected_state``, differs from the database's) gets TransitionConflict; permission, four eyes,
    conditions and a required comment are checked before the method runs; the new state, the history row
    (with actor and reason) and the TransitionLog row are saved together with the effects, or none of them
    is. Afterwards ``obj`` holds what was saved, and is returned. A refused or conflicting attempt is
    recorded (:func:`record_refusal`) unless a larger step it belongs to fails as a whole. A transition
    marked ``internal`` is made only by a service that says so (``internal=True``).
    """
    model = type(obj)
    fsm_field = state_field(model)
    held_state = fsm_field.get_state(obj)
    try:
        with transaction.atomic():
            current = model._default_manager.select_for_update().filter(pk=obj.pk).first()
            if current is None:
                raise TransitionRefused(f"this {model._meta.verbose_name} no longer exists")
            current_state = fsm_field.get_state(current)
            if current_state != held_state or expected_state not in (None, current_state):
                raise TransitionConflict(
                    f"this {model._meta.verbose_name} was changed by someone else since you opened it "
                    f"(it is now {state_label(current).lower()}); reload it and try again"
                )
            refusal = _refusal(current, name, actor, comment, internal=internal)
            if refusal is not None:
                raise TransitionRefused(refusal[0].upper() + refusal[1:])
            found = _transition_for(current, name)
            assert found is not None
            getattr(current, name)(actor=actor, comment=comment, **arguments)
            current._history_user = actor if actor.is_authenticated else None  # type: ignore[attr-defined]
            current._change_reason = f"{found.custom.get('label', name)}: {comment}"[:100]  # type: ignore[attr-defined]
            try:
                current.save()
            except ConcurrentTransition as exc:
                raise TransitionConflict(str(exc)) from exc
            TransitionLog.objects.create(
                content_type=ContentType.objects.get_for_model(model),
                object_id=current.pk,
                transition=name,
                label=found.custom.get("label", name),
                from_state=current_state,
                to_state=fsm_field.get_state(current),
                actor=actor if actor.is_authenticated else None,
                comment=comment,
                arguments={k: str(v) for k, v in arguments.items()},
            )
            for effect in _effects.get((model, name), []):
                effect(current, actor=actor, comment=comment, arguments=arguments)
    except (TransitionRefused, TransitionConflict) as refused:
        if obj.pk is not None and model._default_manager.filter(pk=obj.pk).exists():
            record_refusal(obj, actor, attempted=_label(model, name), reason=str(refused), comment=comment)
        raise
    _take_saved(obj, current)
    return obj


def _label(model: type[models.Model], name: str) -> str:
    found = next((t for t in state_field(model).get_all_transitions(model) if t.name == name), None)
    return str(found.custom.get("label", name)) if found is not None else name


def _take_saved(obj: models.Model, saved: models.Model) -> None:
    """Make the caller's copy what was saved: every column, and the related objects the transition set."""
    for f in type(obj)._meta.concrete_fields:
        # Straight into the instance: the state field is protected against assignment.
        obj.__dict__[f.attname] = saved.__dict__[f.attname]
    obj._state.fields_cache = dict(saved._state.fields_cache)
    if isinstance(obj, ConcurrentTransitionMixin):
        obj._update_initial_state()


def record_refusal(
    obj: models.Model, actor: Viewer, *, attempted: str, reason: str, comment: str = ""
) -> None:
    """Keep the trace of a refused decision on ``obj``: who tried what, and why it was refused.

    Call it outside the transaction that refused (which rolls back); inside a larger transaction the trace
    goes with it if that fails as a whole.
    """
    RefusedAttempt.objects.create(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        attempted=attempted[:200],
        actor=actor if actor.is_authenticated else None,
        reason=reason,
        comment=comment,
    )


def transition_log(objs: Iterable[models.Model]) -> models.QuerySet[TransitionLog]:
    objs = list(objs)
    if not objs:
        return TransitionLog.objects.none()
    content_type = ContentType.objects.get_for_model(type(objs[0]))
    return TransitionLog.objects.filter(
        content_type=content_type, object_id__in=[o.pk for o in objs]
    ).select_related("actor")
