"""The daily sweep: what every open chaseable item is owed on a given date, written to the outbox.

Set-based: for each kind of chaseable item, one INSERT ... SELECT computes every entry in SQL (rule,
period and rung from the due date), and ON CONFLICT DO NOTHING against the outbox's unique key makes a
second run, a concurrent run or a catch-up after missed days add nothing that is already there. Window
conditions, not exact dates: an item due within 3 working days gets the second reminder whatever day
the sweep last ran, and an item that is 40 days overdue gets its current rung, once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Case, CharField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from workflows.calendar import WorkingCalendar, working_calendar
from workflows.deadlines import DaysSince, rung_expression
from workflows.owed import Owed, chaseables

from . import ladder
from .changes import Since, changed_items, record_run, since_last_sweep
from .ladder import Part, Reach
from .models import ChasePause, ChasePolicy, OutboxEntry, Rule

# The outbox's unique key (OutboxEntry's "outbox_entry_once"): what decides that an entry is new.
KEY = ["item_type_id", "item_id", "recipient_id", "rule", "due_on", "period", "round"]
# Planned rows ("p") whose key the archive of long-sent entries does not hold (also SQLite's WHERE
# before an upsert clause on INSERT ... SELECT).
NOT_ARCHIVED = "NOT EXISTS (SELECT 1 FROM notifications_outboxarchive a WHERE {})".format(
    " AND ".join(f"a.{c} = p.e_{c}" for c in KEY)
)
COLUMNS = [
    "item_type_id",
    "item_id",
    "recipient_id",
    "rule",
    "due_on",
    "period",
    "round",
    "sweep_date",
    "gap",
    "is_copy",
    "status",
    "attempts",
    "last_error",
    "created_at",
]


@dataclass(frozen=True)
class Window:
    """The date thresholds of the policy for one sweep date, worked out once on the calendar."""

    on: dt.date
    first_reminder_from: dt.date
    second_reminder_from: dt.date
    repeat_days: int
    escalation_days: tuple[int, int, int]

    @classmethod
    def for_date(cls, policy: ChasePolicy, on: dt.date, *, calendar: WorkingCalendar | None = None) -> Window:
        calendar = calendar or working_calendar()
        return cls(
            on=on,
            first_reminder_from=calendar.add_working_days(on, policy.first_reminder_working_days),
            second_reminder_from=calendar.add_working_days(on, policy.second_reminder_working_days),
            repeat_days=policy.overdue_repeat_days,
            escalation_days=(policy.escalation_1_days, policy.escalation_2_days, policy.escalation_3_days),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "first_reminder_from": self.first_reminder_from.isoformat(),
            "second_reminder_from": self.second_reminder_from.isoformat(),
            "repeat_days": self.repeat_days,
            "escalation_days": list(self.escalation_days),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Window:
        day = dt.date.fromisoformat
        return cls(
            on=day(data["on"]),
            first_reminder_from=day(data["first_reminder_from"]),
            second_reminder_from=day(data["second_reminder_from"]),
            repeat_days=data["repeat_days"],
            escalation_days=tuple(data["escalation_days"]),  # type: ignore[arg-type]
        )

    def rung(self, due: str) -> Case:
        """0 before the ladder, else 1-3: the rung for the item's days overdue (the sweep reads only items
        it chases), by the one rule pages derive it with."""
        return rung_expression(due, on=self.on, days=self.escalation_days)

    def next_rung(self, due: str) -> Least:
        """The rung above the one the item's days overdue put it on, the third at most: where
        "escalate now" takes it. An undated item is at none, so it goes to the first."""
        return Least(self.rung(due) + Value(1), Value(3), output_field=IntegerField())

    def owner_rule(self, due: str) -> Case:
        return Case(
            When(**{f"{due}__gt": self.second_reminder_from}, then=Value(Rule.REMIND_FIRST)),
            When(**{f"{due}__gt": self.on}, then=Value(Rule.REMIND_SECOND)),
            When(**{f"{due}__gt": self.on - dt.timedelta(days=self.repeat_days)}, then=Value(Rule.DUE)),
            default=Value(Rule.OVERDUE),
            output_field=CharField(),
        )

    def owner_period(self, due: str) -> Case:
        """For the weekly overdue chase: which week of lateness this is; 0 for every other rule."""
        return Case(
            When(
                **{f"{due}__lte": self.on - dt.timedelta(days=self.repeat_days)},
                then=DaysSince(due, self.on) / Value(self.repeat_days),
            ),
            default=Value(0),
            output_field=IntegerField(),
        )


ZERO = Value(0)


@dataclass(frozen=True)
class PlannedEntry:
    item_type: str
    item_id: int
    recipient_id: int
    recipient: str
    rule: str
    due_on: dt.date
    period: int
    sweep_date: dt.date
    gap: str

    def as_json(self) -> dict[str, Any]:
        return {
            "item": f"{self.item_type}:{self.item_id}",
            "recipient": self.recipient,
            "rule": self.rule,
            "due_on": self.due_on.isoformat(),
            "period": self.period,
            "sweep_date": self.sweep_date.isoformat(),
            "gap": self.gap,
        }


def entries(
    part: Part,
    spec: Owed,
    *,
    item_type_id: int,
    sweep_date: dt.date,
    created_at: dt.datetime,
    period: Combinable = ZERO,
    gap: Combinable | None = None,
    due_on: Combinable | None = None,
) -> QuerySet[Any]:
    """One ladder part as rows of the outbox's columns, in COLUMNS order. ``gap`` and ``due_on``, when
    given, replace the part's own gap and the item's due date."""
    return part.items.annotate(
        e_item_type_id=Value(item_type_id),
        e_item_id=F("pk"),
        e_recipient_id=part.recipient,
        e_rule=part.rule,
        e_due_on=F(spec.due_field) if due_on is None else due_on,
        e_period=period,
        e_round=F(spec.round_field) if spec.round_field else Value(0),
        e_sweep_date=Value(sweep_date, output_field=models.DateField()),
        e_gap=part.gap if gap is None else gap,
        e_is_copy=Value(part.is_copy),
        e_status=Value(OutboxEntry.Status.PENDING),
        e_attempts=Value(0),
        e_last_error=Value(""),
        e_created_at=Value(created_at, output_field=models.DateTimeField()),
    ).values_list(*(f"e_{c}" for c in COLUMNS))


def _news(items: QuerySet[Any], spec: Owed, window: Window, since: Since) -> QuerySet[Any]:
    """The items whose entries today may not be in the outbox yet: those whose rule, period or rung
    moved since the last sweep's date, those that were outside its reminder window, and those whose
    inputs changed since it read them (notifications.changes). For every other item today's entries
    are exactly the last sweep's, which it recorded."""
    assert since.run is not None
    then, due = Window.from_json(since.run.window), spec.due_field
    items = items.annotate(
        n_rule=window.owner_rule(due),
        t_rule=then.owner_rule(due),
        n_period=window.owner_period(due),
        t_period=then.owner_period(due),
        t_rung=then.rung(due),
    )
    moved = (
        Q(**{f"{due}__gt": then.first_reminder_from})
        | ~Q(n_rule=F("t_rule"))
        | ~Q(n_period=F("t_period"))
        | ~Q(rung=F("t_rung"))
    )
    return items.filter(moved | changed_items(spec, since))


def _planned_rows(
    spec: Owed,
    window: Window,
    reach: Reach,
    created_at: dt.datetime,
    since: Since | None = None,
    item_type_id: int | None = None,
) -> QuerySet[Any]:
    """Every entry the items of one chaseable kind are owed on the window's date, as one query; with
    ``since`` (the last sweep and what changed after it), only the items that may owe something new."""
    due = spec.due_field
    items = spec.model._default_manager.filter(spec.open).filter(
        **{f"{due}__isnull": False, f"{due}__lte": window.first_reminder_from}
    )
    if spec.source_type_field and spec.source_id_field:
        paused = ChasePause.objects.filter(
            resumed_at=None,
            source_type=OuterRef(spec.source_type_field),
            source_id=OuterRef(spec.source_id_field),
        )
        items = items.exclude(Exists(paused))
    items = items.annotate(rung=window.rung(due)).order_by()
    if since is not None and not since.everything:
        items = _news(items, spec, window, since)
    parts = [
        *ladder.owner_parts(items, spec, rule=window.owner_rule(due)),
        *ladder.rung_parts(items, spec, reach),
        *ladder.repeat_parts(items, reach),
    ]
    if item_type_id is None:
        item_type_id = ContentType.objects.get_for_model(spec.model).pk
    period = window.owner_period(due)
    first, *rest = [
        entries(
            part,
            spec,
            item_type_id=item_type_id,
            sweep_date=window.on,
            created_at=created_at,
            period=period if part.weekly else ZERO,
        )
        for part in parts
    ]
    return first.union(*rest, all=True)


def _sql(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = rows.query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


@dataclass
class SweepResult:
    sweep_date: dt.date
    dry_run: bool
    # How many entries were added (or, in a dry run, would be).
    count: int
    # The entries themselves, when the caller asked to see them.
    entries: list[PlannedEntry]


def sweep(*, on: dt.date, dry_run: bool = False, describe: bool = True) -> SweepResult:
    """Write to the outbox what every open chaseable item is owed on ``on``; with ``dry_run``, only say.

    Guarantees: each entry is written at most once whatever the number of runs, concurrent or not; a
    catch-up after missed days writes only the current rung; the query count does not depend on the
    number of items; the cost follows the day's news: only items whose rule, period or rung moved since
    the last completed sweep, or whose inputs changed, are computed (notifications.changes). Without
    ``describe`` no entry is loaded into Python, so memory stays flat however many items are owed.
    """
    policy = ChasePolicy.current()
    window = Window.for_date(policy, on)
    reach = Reach.current(policy)
    created_at = timezone.now()
    planned: list[tuple[Any, ...]] = []
    count = 0
    cols = ", ".join(COLUMNS)
    with transaction.atomic():
        # One writer of keys at a time with the archiving (notifications.services.outbox_archive_sent):
        # a key moved to the archive after this statement's snapshot would pass both checks below.
        ChasePolicy.objects.select_for_update().filter(pk=policy.pk).first()
        since = since_last_sweep(on=on, reach=reach, now=created_at, record=True)
        specs = chaseables()
        types = ContentType.objects.get_for_models(*(spec.model for spec in specs))
        for spec in specs:
            rows = _planned_rows(spec, window, reach, created_at, since, types[spec.model].pk)
            sql, params = _sql(rows)
            with connection.cursor() as cursor:
                # The unique key decides what is new, one index probe a candidate: predictable whatever
                # the table's statistics say (an anti-join here went quadratic on stale statistics).
                # No DISTINCT: DO NOTHING also skips a row that repeats one earlier in the same
                # statement. A key sent long ago and archived is refused too (NOT ARCHIVED): a later
                # sweep can compute it again (the third rung every day, a changed item in full).
                cursor.execute(
                    f"INSERT INTO notifications_outboxentry ({cols}) SELECT * FROM ({sql}) AS p "
                    f"WHERE {NOT_ARCHIVED} ON CONFLICT DO NOTHING{f' RETURNING {cols}' if describe else ''}",
                    params,
                )
                found = cursor.fetchall() if describe else []
                planned += found
                count += len(found) if describe else max(cursor.rowcount, 0)
        if dry_run:
            # A dry run is the real insert, rolled back: it can never disagree with a real run.
            transaction.set_rollback(True)
        else:
            record_run(on=on, started_at=created_at, window=window.as_json(), reach=reach, added=count)
    return SweepResult(
        sweep_date=on,
        dry_run=dry_run,
        count=count,
        entries=_describe(planned) if describe else [],
    )


def escalate_now(*, items: QuerySet[Any], spec: Owed, gap: str, at: dt.datetime) -> list[int]:
    """Escalate each item one rung above where its days overdue put it, to exactly whom the sweep would
    reach at that rung (the ladder's own query), the owner copied. Returns who was written to.

    Refuses, writing nothing, when the rung would reach nobody but the owner for any item: a manager
    told "escalated" must be able to rely on someone having been told. A second press in the same
    minute writes nothing new (the minute is the entry's period). Set-based: a fixed few queries
    however many items are selected."""
    policy = ChasePolicy.current()
    on = timezone.localtime(at).date()
    window = Window.for_date(policy, on)
    selected = (
        spec.model._default_manager.filter(pk__in=items.values("pk"))
        .annotate(rung=window.next_rung(spec.due_field))
        .order_by()
    )
    parts = ladder.rung_parts(selected, spec, Reach.current(policy))
    # The owner named at a rung (a business manager's or a lone lead's own item) is not someone told.
    reached = set().union(
        *(
            p.items.annotate(told=p.recipient).exclude(told=F(spec.owner_field)).values_list("pk", flat=True)
            for p in parts
            if not p.is_copy
        )
    )
    nobody = selected.exclude(pk__in=reached)
    if nobody.exists():
        names = ", ".join(str(item) for item in nobody[:10])
        raise ValidationError(
            f"Nobody can be told about {names}: name a line manager, lead or business manager"
        )
    common: dict[str, Any] = {
        "item_type_id": ContentType.objects.get_for_model(spec.model).pk,
        "sweep_date": on,
        "created_at": at,
        "period": Value(int(at.timestamp() // 60)),
        "gap": Value(gap),
        "due_on": Coalesce(F(spec.due_field), Value(on, output_field=models.DateField())),
    }
    first, *rest = [entries(part, spec, **common) for part in parts]
    sql, params = _sql(first.union(*rest, all=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO notifications_outboxentry ({', '.join(COLUMNS)}) SELECT * FROM ({sql}) AS p "
            "WHERE true ON CONFLICT DO NOTHING RETURNING recipient_id",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class Preview:
    """What a sweep would add, counted: in all, per rule, and per person (one page of them, most first)."""

    total: int
    per_rule: list[tuple[str, int]]
    people: int
    per_person: list[tuple[str, int]]


def sweep_preview(*, on: dt.date, offset: int = 0, limit: int = 50) -> Preview:
    """What a sweep on ``on`` would add, counted in SQL and read without writing anything, so a page may
    show it on GET: the very rows the sweep would insert (the day's news only, once a sweep has run),
    less those whose key the outbox already holds, each key once. A fixed few queries whatever the
    number of items or people; the people come a page at a time."""
    policy = ChasePolicy.current()
    window = Window.for_date(policy, on)
    reach = Reach.current(policy)
    created_at = timezone.now()
    since = since_last_sweep(on=on, reach=reach, now=created_at, record=False)
    specs = chaseables()
    types = ContentType.objects.get_for_models(*(spec.model for spec in specs))
    parts: list[str] = []
    params: list[Any] = []
    for n, spec in enumerate(specs):
        sql, part_params = _sql(_planned_rows(spec, window, reach, created_at, since, types[spec.model].pk))
        parts.append(f"SELECT * FROM ({sql}) AS p{n}")
        params += part_params
    key = ", ".join(f"p.e_{c}" for c in KEY)
    already = " AND ".join(f"o.{c} = p.e_{c}" for c in KEY)
    new = (
        f"SELECT DISTINCT {key} FROM ({' UNION ALL '.join(parts)}) AS p "
        f"WHERE NOT EXISTS (SELECT 1 FROM notifications_outboxentry o WHERE {already}) AND {NOT_ARCHIVED}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT e_rule, COUNT(*) FROM ({new}) AS n GROUP BY e_rule ORDER BY e_rule", params)
        per_rule = [(rule, count) for rule, count in cursor.fetchall()]
        cursor.execute(f"SELECT COUNT(DISTINCT e_recipient_id) FROM ({new}) AS n", params)
        (people,) = cursor.fetchone()
        cursor.execute(
            f"SELECT e_recipient_id, COUNT(*) AS c FROM ({new}) AS n GROUP BY e_recipient_id "
            f"ORDER BY c DESC, e_recipient_id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        page = cursor.fetchall()
    names = dict(User.objects.filter(pk__in=[pk for pk, _ in page]).values_list("pk", "username"))
    return Preview(
        total=sum(count for _, count in per_rule),
        per_rule=per_rule,
        people=people,
        per_person=[(names.get(pk, str(pk)), count) for pk, count in page],
    )


def _describe(rows: list[tuple[Any, ...]]) -> list[PlannedEntry]:
    """Readable planned entries; two small look-ups, however many rows."""
    types = {ct.pk: ct.model for ct in ContentType.objects.filter(pk__in={r[0] for r in rows})}
    names = dict(User.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "username"))
    return [
        PlannedEntry(
            item_type=types[r[0]],
            item_id=r[1],
            recipient_id=r[2],
            recipient=names.get(r[2], str(r[2])),
            rule=r[3],
            due_on=r[4] if isinstance(r[4], dt.date) else dt.date.fromisoformat(r[4]),
            period=r[5],
            sweep_date=r[7] if isinstance(r[7], dt.date) else dt.date.fromisoformat(r[7]),
            gap=r[8],
        )
        for r in sorted(rows, key=lambda r: (r[2], r[0], r[1], r[3]))
    ]
