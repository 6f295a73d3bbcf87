"""Work other than actions that waits on a person (an audit return, a review's chronology), for My work.

Case-type apps register a source; workflows imports none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkItem:
    kind: str
    label: str
    url: str
    due_on: dt.date | None


# Called with the viewer; answers in a fixed number of queries.
WorkSource = Callable[[Any], list[WorkItem]]
_sources: list[WorkSource] = []


def register_work_source(source: WorkSource) -> WorkSource:
    _sources.append(source)
    return source


def other_work(user: Any) -> list[WorkItem]:
    """Everything registered sources say waits on ``user``, soonest due first, undated last."""
    items = [item for source in _sources for item in source(user)]
    return sorted(items, key=lambda item: (item.due_on is None, item.due_on or dt.date.max, item.label))
