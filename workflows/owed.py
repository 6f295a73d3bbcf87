"""What is owed: one description per model of an owed item or a case type, registered by the app that
owns the model and read by the sweep, the digests, the queue, the dashboard, My work and the
recommendation forms, none of which names a case type.

Each app declares its models in one file (``audits/owed.py``, ``reviews/owed.py``; the engine's own
actions, clocks and plans at the end of this one), loaded from its ``ready()``. A description is checked
when it is registered: every field path must resolve on the model and the open filter must compile, so a
typo stops the project starting instead of silently chasing nothing. URL names are checked by a system
check (``manage.py check``, run by ``runserver`` and ``migrate``), since the URLconf cannot be loaded while
apps are still being made ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, FieldError, ImproperlyConfigured
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.urls import NoReverseMatch, reverse

# A function of the viewer (a user, perhaps anonymous) answering a queryset of the model.
Scope = Callable[[Any], QuerySet[Any]]


@dataclass(frozen=True)
class Owed:
    model: type[models.Model]
    # What people call one of these ("Action", "Audit return"), on My work, the queue and its filter.
    kind: str
    # The item's page, reversed with its primary key; None if it has no page of its own.
    url_name: str | None
    # The items still owed: chased while they match, left alone once they do not. None for a case type
    # that is not chased itself (an audit owes through its returns and its recommendations' actions).
    open: Q | None = None
    due_field: str = "due_on"
    owner_field: str = "owner"
    agency_field: str = "agency"
    # Path to the chair of the group that owns the item's source, or None.
    chair_field: str | None = None
    # Paths to the item's source (content type id and object id), so a source's chasing can be paused.
    source_type_field: str | None = None
    source_id_field: str | None = None
    # A counter that goes up when the item is reopened, so it is chased afresh; None if it cannot reopen.
    round_field: str | None = None
    label_field: str = "description"
    # The dashboard's heading for how many are at each stage of the model's state machine, or None.
    stages: str | None = None
    # Who may see which of these: ``visible_to(viewer)``.
    visible_to: Scope | None = None
    # Recommendations hang on these (a plan, an audit, a review): the queue filters actions by them.
    source_of_recommendations: bool = False
    # For a source, the ones whose recommendations the viewer may plan actions for, when that is narrower
    # than what they may see (a section 11 reviewer sees the return, its actions are the agency's own).
    recommendations_open_to: Scope | None = None
    # Listed on the owner's My work while open; actions have a list of their own there.
    on_my_work: bool = True

    @property
    def chased(self) -> bool:
        return self.open is not None


_owed: dict[type[models.Model], Owed] = {}


def register(owed: Owed) -> Owed:
    """Add ``owed`` to the registry once it checks; ImproperlyConfigured names whatever does not."""
    if owed.model in _owed:
        raise ImproperlyConfigured(f"{_name(owed.model)} is already registered as owed")
    _check(owed)
    _owed[owed.model] = owed
    return owed


def everything() -> list[Owed]:
    return list(_owed.values())


def chaseables() -> list[Owed]:
    """Every description whose items are chased."""
    return [owed for owed in _owed.values() if owed.chased]


def chaseable_for(model: type[models.Model]) -> Owed | None:
    owed = _owed.get(model)
    return owed if owed is not None and owed.chased else None


def owed_for(model: type[models.Model]) -> Owed | None:
    return _owed.get(model)


def recommendation_sources() -> list[Owed]:
    return [owed for owed in _owed.values() if owed.source_of_recommendations]


def stage_counts() -> list[tuple[str, list[tuple[str, int]]]]:
    """For each model that counts stages, its heading and how many are at each stage of its state
    machine, every stage listed; one query a model."""
    from .transitions import state_field

    counts = []
    for owed in _owed.values():
        if owed.stages is None:
            continue
        field = state_field(owed.model)
        found = dict(owed.model._default_manager.values_list(field.name).annotate(n=Count("pk")).order_by())
        counts.append(
            (owed.stages, [(str(label), found.get(state, 0)) for state, label in field.flatchoices])
        )
    return counts


def _name(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def _field_at(model: type[models.Model], path: str) -> models.Field[Any, Any]:
    """The field ``path`` ("recommendation__chair") names, walking relations from ``model``."""
    here: type[models.Model] = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            found = here._meta.get_field(part)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{_name(model)} has no {'__'.join(parts[: index + 1])!r} (in {path!r})"
            ) from None
        if index < len(parts) - 1:
            if not found.is_relation or found.related_model is None:
                raise ImproperlyConfigured(f"{_name(model)}: {part!r} in {path!r} leads nowhere")
            here = found.related_model  # type: ignore[assignment]
    return found  # type: ignore[return-value]


def _check_relation(owed: Owed, path: str, to: type[models.Model] | str) -> None:
    target = apps.get_model(to) if isinstance(to, str) else to
    field = _field_at(owed.model, path)
    if not field.is_relation or field.related_model is not target:
        raise ImproperlyConfigured(f"{_name(owed.model)}: {path!r} must lead to a {target.__name__}")


def _check(owed: Owed) -> None:
    from django.contrib.contenttypes.models import ContentType

    from .models import Agency
    from .transitions import state_field

    if owed.stages is not None:
        try:
            state_field(owed.model)
        except TypeError as error:
            raise ImproperlyConfigured(f"{_name(owed.model)} counts stages: {error}") from None
    if owed.recommendations_open_to is not None and not owed.source_of_recommendations:
        raise ImproperlyConfigured(f"{_name(owed.model)} is not a source of recommendations")
    for scope in (owed.visible_to, owed.recommendations_open_to):
        if scope is not None and not callable(scope):
            raise ImproperlyConfigured(f"{_name(owed.model)}: a scope must be a function of the viewer")
    if not owed.chased:
        return
    try:
        owed.model._default_manager.filter(owed.open)
    except FieldError as error:
        raise ImproperlyConfigured(f"{_name(owed.model)}'s open filter: {error}") from None
    if not isinstance(_field_at(owed.model, owed.due_field), models.DateField):
        raise ImproperlyConfigured(f"{_name(owed.model)}: {owed.due_field!r} must be a date")
    _check_relation(owed, owed.owner_field, settings.AUTH_USER_MODEL)
    _check_relation(owed, owed.agency_field, Agency)
    if owed.chair_field is not None:
        _check_relation(owed, owed.chair_field, settings.AUTH_USER_MODEL)
    if (owed.source_type_field is None) != (owed.source_id_field is None):
        raise ImproperlyConfigured(f"{_name(owed.model)}: a source needs both its type and its id")
    if owed.source_type_field is not None and owed.source_id_field is not None:
        _check_relation(owed, owed.source_type_field, ContentType)
        _field_at(owed.model, owed.source_id_field)
    for path in (owed.round_field, owed.label_field):
        if path is not None:
            _field_at(owed.model, path)


@checks.register(checks.Tags.urls)
def check_owed_urls(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every registered page reverses with an item's primary key."""
    errors: list[checks.CheckMessage] = []
    for owed in _owed.values():
        if owed.url_name is None:
            continue
        try:
            reverse(owed.url_name, args=[1])
        except NoReverseMatch:
            errors.append(
                checks.Error(
                    f"{_name(owed.model)}'s page {owed.url_name!r} does not reverse with a primary key",
                    hint="Name a URL pattern that takes the item's pk.",
                    obj=owed.model,
                    id="workflows.E001",
                )
            )
    return errors


def register_engine_items() -> None:
    """The engine's own: actions, statutory clocks and plans (called from workflows' ready())."""
    from .models import Action, ActionState, Plan, StatutoryClock
    from .selectors import actions_visible_to

    # Owners are chased while the work is theirs to do: agreed and under way. Drafts have no agreed
    # date yet, and an action awaiting sign-off waits on a manager, not on its owner.
    register(
        Owed(
            model=Action,
            kind="Action",
            url_name="action-detail",
            open=Q(state__in=[ActionState.AGREED, ActionState.IN_PROGRESS]),
            chair_field="recommendation__chair",
            source_type_field="recommendation__source_type",
            source_id_field="recommendation__source_id",
            round_field="reopened_count",
            visible_to=actions_visible_to,
            on_my_work=False,
        )
    )
    # A statutory clock is chased until its milestone is met: alerts before it runs out, escalation after.
    # The review's page shows its clocks to its lead, who answers for them.
    register(
        Owed(
            model=StatutoryClock,
            kind="Statutory clock",
            url_name="clock-detail",
            open=Q(met_on__isnull=True),
            chair_field="chair",
            source_type_field="source_type",
            source_id_field="source_id",
            label_field="label",
            on_my_work=False,
        )
    )
    # A plan's recommendations are seen through their actions: it has no scope of its own.
    register(
        Owed(model=Plan, kind="Business or improvement plan", url_name=None, source_of_recommendations=True)
    )
