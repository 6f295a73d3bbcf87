"""Work other than actions that waits on a person (an audit return, a review's chronology), for My work:
what the owed registry says is open and theirs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.urls import reverse

from .owed import chaseables
from .selectors import agency_of_viewer


@dataclass(frozen=True)
class WorkItem:
    kind: str
    label: str
    url: str
    due_on: dt.date | None


def other_work(user: Any) -> list[WorkItem]:
    """Every open owed item named to ``user`` (and, for an agency lead, their agency's that name nobody,
    as the sweep chases the leads for those), soonest due first, undated last; one query per kind."""
    if not user.is_authenticated:
        return []
    items: list[WorkItem] = []
    lead_of = agency_of_viewer(user) if user.has_perm("workflows.view_agency_work") else None
    for owed in chaseables():
        if not owed.on_my_work or owed.url_name is None:
            continue
        mine = Q(**{f"{owed.owner_field}_id": user.pk})
        if lead_of is not None:
            mine |= Q(**{f"{owed.owner_field}__isnull": True, f"{owed.agency_field}_id": lead_of})
        found = owed.model._default_manager.filter(owed.open).filter(mine)
        items += [
            WorkItem(owed.kind, str(label), reverse(owed.url_name, args=[pk]), due_on)
            for pk, label, due_on in found.values_list("pk", owed.label_field, owed.due_field)
        ]
    return sorted(items, key=lambda item: (item.due_on is None, item.due_on or dt.date.max, item.label))
