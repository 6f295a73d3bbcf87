"""What changed since the last completed sweep, so that a sweep costs what the day's news costs.

An item's entries on a date follow from its rule, period and rung on that date (notifications.sweep's
Window), from the item's own state (open, due date, owner, agency, chair, round, its source paused) and
from the people who decide who hears (who can be emailed, line managers, agency leads, the business
managers and executives). The outbox holds every entry the last completed sweep computed. So, for an
item none of whose inputs changed since that sweep read them, today's entries are already in the outbox
unless its rule, period or rung moved between that sweep's date and today; only the items whose
(rule, period, rung) moved, and the items whose inputs changed, are computed today. Everything else was
already recorded, and the outbox's unique key still rejects anything written twice.

How a change is seen, without trusting every writer to bump a timestamp:
- the item and every row on its paths (its source, its audit, its cycle...) keep a simple-history
  record, written by the transition door and every service: a history row after the last sweep read
  them marks the item;
- people: a snapshot of each person's reach (SweepPerson), compared with today's, marks the items they
  own, line-manage, chair, or lead the agency of;
- pauses and resumptions after the last sweep mark their source's items;
- a change in who stands at the top of the ladder, or no earlier sweep at all, means everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Exists, OuterRef, Q

from workflows.owed import Owed

from .ladder import Reach
from .models import ChasePause, SweepPerson, SweepRun

# More people changed than this since the last sweep: recompute everything rather than send a long
# list of ids to the database (a reorganisation, an import of people).
MANY_PEOPLE = 1000


@dataclass(frozen=True)
class Since:
    """The last completed sweep, and what changed after it read the items."""

    run: SweepRun | None
    # Everything is computed afresh: no earlier sweep, or the ladder's top changed.
    everything: bool
    people: list[int]
    agencies: list[int]

    @property
    def read_at(self) -> dt.datetime:
        """Changes saved after this count as news. A margin before the last sweep started, because a
        transaction may have saved its history row just before the sweep read the items and committed
        just after: the sweep did not see it, so it must count as a change."""
        assert self.run is not None
        return self.run.started_at - dt.timedelta(seconds=settings.FOLLOWTHROUGH_SWEEP_CHANGE_MARGIN_SECONDS)


def last_sweep(on: dt.date) -> SweepRun | None:
    """The completed sweep of the latest date up to ``on`` (the latest started, for a rerun)."""
    return SweepRun.objects.filter(sweep_date__lte=on).order_by("-sweep_date", "-started_at").first()


def _people_now() -> dict[int, str]:
    """Each person's reach as the ladder reads it, in one query."""
    is_lead = User.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__permissions__codename="view_agency_work"
    )
    rows = User.objects.annotate(lead=Exists(is_lead)).values_list(
        "pk", "is_active", "email", "person__line_manager_id", "person__agency_id", "lead"
    )
    return {
        pk: f"{int(active)}|{int(bool(email))}|{line_manager or ''}|{agency or ''}|{int(lead)}"
        for pk, active, email, line_manager, agency, lead in rows
    }


def _agency(state: str) -> int | None:
    field = state.split("|")[3]
    return int(field) if field else None


def since_last_sweep(*, on: dt.date, reach: Reach, now: dt.datetime, record: bool) -> Since:
    """What changed since the last sweep read the items. With ``record`` (a sweep, inside its
    transaction, so a dry run or a failed sweep leaves it as it was) the people snapshot is brought up
    to date; without (a page's preview) nothing is written. Each snapshot row keeps when it last
    changed, so a sweep for another date in between (a rerun of an old date) cannot hide a change from
    the next sweep."""
    run = last_sweep(on)
    people = _people_now()
    before = dict(SweepPerson.objects.values_list("user_id", "state"))
    changed = [pk for pk in people.keys() | before.keys() if people.get(pk) != before.get(pk)]
    if record:
        SweepPerson.objects.filter(user_id__in=[pk for pk in changed if pk not in people]).delete()
        SweepPerson.objects.bulk_create(
            [SweepPerson(user_id=pk, state=people[pk], changed_at=now) for pk in changed if pk in people],
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["state", "changed_at"],
        )
    if run is None or run.reach != reach.as_json():
        return Since(run=run, everything=True, people=[], agencies=[])
    since = Since(run=run, everything=False, people=[], agencies=[])
    moved = dict(SweepPerson.objects.filter(changed_at__gt=since.read_at).values_list("user_id", "state"))
    moved.update({pk: people.get(pk, before.get(pk, "")) for pk in changed})
    if len(moved) > MANY_PEOPLE:
        return Since(run=run, everything=True, people=[], agencies=[])
    # A lead who left an agency leaves it no entry to write; one who joined is news for its items.
    agencies = {_agency(state) for state in moved.values() if state}
    return Since(
        run=run,
        everything=False,
        people=sorted(moved),
        agencies=sorted(a for a in agencies if a is not None),
    )


def _relations(model: type[models.Model], path: str) -> Iterator[tuple[str, type[models.Model]]]:
    """Each forward relation along an ORM path, as (path to it, its model); people stop the walk (the
    people snapshot covers them) and a lookup name ends it."""
    prefix: list[str] = []
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return
        if not (field.many_to_one or field.one_to_one) or field.auto_created or field.related_model is None:
            return
        model = field.related_model  # type: ignore[assignment]
        if model in (User, ContentType):
            return
        prefix.append(name)
        yield "__".join(prefix), model


def _q_paths(q: Q) -> Iterator[str]:
    for child in q.children:
        if isinstance(child, Q):
            yield from _q_paths(child)
        else:
            yield child[0]  # type: ignore[index]


def changed_items(spec: Owed, since: Since) -> Q:
    """The items of one kind whose inputs changed after the last sweep read them."""
    at = since.read_at
    model = spec.model
    paths = [
        p
        for p in (
            spec.due_field,
            spec.owner_field,
            spec.agency_field,
            spec.chair_field,
            spec.source_type_field,
            spec.source_id_field,
            spec.round_field,
            *(_q_paths(spec.open) if spec.open is not None else ()),
        )
        if p
    ]
    histories: dict[str, type[models.Model]] = {"pk": model}
    for path in paths:
        histories.update(dict(_relations(model, path)))
    changed = Q()
    for path, related in histories.items():
        history = getattr(related, "history", None)
        if history is None:
            # A row on the item's paths that keeps no history: its changes cannot be seen, so its
            # items are always computed in full.
            return Q(pk__isnull=False)
        rows = history.model.objects.filter(
            **{related._meta.pk.attname: OuterRef(path), "history_date__gt": at}
        )
        changed |= Q(Exists(rows))
    if spec.source_type_field and spec.source_id_field:
        pauses = ChasePause.objects.filter(
            Q(paused_at__gt=at) | Q(resumed_at__gt=at),
            source_type=OuterRef(spec.source_type_field),
            source_id=OuterRef(spec.source_id_field),
        )
        changed |= Q(Exists(pauses))
    if since.people:
        changed |= Q(**{f"{spec.owner_field}__in": since.people})
        changed |= Q(**{f"{spec.owner_field}__person__line_manager__in": since.people})
        if spec.chair_field:
            changed |= Q(**{f"{spec.chair_field}__in": since.people})
    if since.agencies:
        changed |= Q(**{f"{spec.agency_field}__in": since.agencies})
    return changed


def record_run(
    *, on: dt.date, started_at: dt.datetime, window: dict[str, Any], reach: Reach, added: int
) -> None:
    SweepRun.objects.create(
        sweep_date=on, started_at=started_at, window=window, reach=reach.as_json(), added=added
    )
