"""What happened to a workflow object, from every app that records something about it.

Apps that workflows must not import (notifications) add their own entries by registering a source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    who: Any
    summary: str
    detail: str = ""
    # Why, in the words of the person who did it (a reassignment's reason, a decision's comment).
    reason: str = ""


# Called with objects of one model; answers for all of them in a fixed number of queries.
TimelineSource = Callable[[Sequence[models.Model]], list[TimelineEntry]]
_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    _sources.append(source)
    return source


def registered_entries(objs: Sequence[models.Model]) -> list[TimelineEntry]:
    return [entry for source in _sources for entry in source(objs)] if objs else []
