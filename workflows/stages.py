"""How many of each case type are at each stage, for the dashboard: case-type apps register a source,
workflows and oversight import none of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count

# Case-type apps add their stage counts: (label, function of the viewer giving [(stage label, count)]).
StageSource = Callable[[Any], list[tuple[str, int]]]
_stage_sources: list[tuple[str, StageSource]] = []


def register_stage_source(label: str, source: StageSource) -> None:
    _stage_sources.append((label, source))


def stage_counts(model: type[Any]) -> StageSource:
    """A stage source for a state machine: how many of ``model`` are in each state, one query."""
    labels = dict(model._meta.get_field("state").flatchoices)

    def counts(user: Any) -> list[tuple[str, int]]:
        found = dict(model._default_manager.values_list("state").annotate(n=Count("id")).order_by())
        return [(str(label), found.get(state, 0)) for state, label in labels.items()]

    return counts


def stage_sources() -> list[tuple[str, StageSource]]:
    return list(_stage_sources)
