"""The one interface through which anything is chased.

An app describes a kind of chaseable item with ORM paths from the item; notifications never imports
the app. workflows' actions are registered by notifications itself; audits and reviews register their
own models from their app configs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class Chaseable:
    model: type[models.Model]
    # The items still owed: chased while they match, left alone once they do not.
    open: models.Q
    url_name: str
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
    escalation_field: str = "escalation_level"
    label_field: str = "description"


_chaseables: dict[type[models.Model], Chaseable] = {}


def register(chaseable: Chaseable) -> None:
    _chaseables[chaseable.model] = chaseable


def chaseables() -> list[Chaseable]:
    return list(_chaseables.values())


def chaseable_for(model: type[models.Model]) -> Chaseable | None:
    return _chaseables.get(model)
