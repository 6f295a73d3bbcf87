"""The exception report for the partnership executive: every open action at escalation 3 or Red, by agency."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q

from workflows.models import OPEN_STATES, Action
from workflows.selectors import action_list, actions_visible_to


def exception_report(user: Any, *, today: dt.date) -> list[tuple[str, list[Any]]]:
    """Open actions escalated to the third rung or Red today, grouped by agency, most overdue first."""
    red_before = today - dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_TOLERANCE_DAYS)
    actions = action_list(
        actions_visible_to(user).filter(
            Q(escalation_level=3) | Q(due_on__lt=red_before), state__in=OPEN_STATES
        ),
        today=today,
    ).order_by("agency__name", "due_on", "id")
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.agency.name if action.agency else "No agency", []).append(action)
    return list(groups.items())
