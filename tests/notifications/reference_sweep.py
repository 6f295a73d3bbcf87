"""REFERENCE ONLY (tests): the sweep as it was before it learned to compute only the day's news (main at
1535ac4, notifications/sweep.py), kept to prove the new one writes exactly the same entries. Copied
verbatim except where marked "Reference:" -- imports made absolute, the outbox table a parameter, the
stored escalation levels and the page's preview left out (no longer entries' business), and the two
ladder rules the issue changed on purpose (the third rung also reaches the partnership executives; an
agency lead is written to only with an email address).

The daily sweep: what every open chaseable item is owed on a given date, written to the outbox.

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
from django.db import connection, models, transaction
from django.db.models import Case, CharField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from notifications.models import ChasePause, ChasePolicy, OutboxEntry, Rule
from workflows import roles
from workflows.calendar import working_calendar
from workflows.owed import Owed, chaseables

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


class DaysSince(models.Func):
    """Whole days from a date column to ``day`` (positive when the column is earlier), in SQL."""

    output_field = IntegerField()

    def __init__(self, column: str, day: dt.date) -> None:
        super().__init__(Value(day, output_field=models.DateField()), F(column))

    def as_sql(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        (day_sql, day_params), (column_sql, column_params) = (
            compiler.compile(e) for e in self.source_expressions
        )
        if connection.vendor == "sqlite":
            sql = f"CAST(julianday({day_sql}) - julianday({column_sql}) AS INTEGER)"
        else:
            sql = f"(CAST({day_sql} AS date) - {column_sql})"
        return sql, [*day_params, *column_params]


@dataclass(frozen=True)
class Window:
    """The date thresholds of the policy for one sweep date, worked out once on the calendar."""

    on: dt.date
    first_reminder_from: dt.date
    second_reminder_from: dt.date
    repeat_days: int
    rung_dates: tuple[dt.date, dt.date, dt.date]

    @classmethod
    def for_date(cls, policy: ChasePolicy, on: dt.date) -> Window:
        calendar = working_calendar()
        return cls(
            on=on,
            first_reminder_from=calendar.add_working_days(on, policy.first_reminder_working_days),
            second_reminder_from=calendar.add_working_days(on, policy.second_reminder_working_days),
            repeat_days=policy.overdue_repeat_days,
            rung_dates=tuple(  # type: ignore[arg-type]
                on - dt.timedelta(days=d)
                for d in (policy.escalation_1_days, policy.escalation_2_days, policy.escalation_3_days)
            ),
        )

    def rung(self, due: str) -> Case:
        """0 before the ladder, else 1-3: the rung for the item's days overdue."""
        first, second, third = self.rung_dates
        return Case(
            When(**{f"{due}__lte": third}, then=Value(3)),
            When(**{f"{due}__lte": second}, then=Value(2)),
            When(**{f"{due}__lte": first}, then=Value(1)),
            default=Value(0),
        )

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
NO_GAP = Value("")
RUNG_RULES = Case(
    When(rung=1, then=Value(Rule.ESCALATION_1)),
    When(rung=2, then=Value(Rule.ESCALATION_2)),
    default=Value(Rule.ESCALATION_3),
    output_field=CharField(),
)


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


def business_manager_ids(policy: ChasePolicy) -> list[int]:
    """The policy's business managers; where none are named, everyone who may sign off actions."""
    named = list(policy.business_managers.filter(is_active=True).values_list("pk", flat=True))
    if named:
        return named
    return list(
        User.objects.filter(is_active=True, groups__permissions__codename="sign_off_action")
        .exclude(email="")
        .distinct()
        .values_list("pk", flat=True)
    )


def _reachable(path: str) -> Q:
    return Q(**{f"{path}__is_active": True}) & ~Q(**{f"{path}__email": ""}) & Q(**{f"{path}__isnull": False})


def _gap(owner: str) -> Case:
    return Case(
        When(**{f"{owner}__isnull": True}, then=Value("it has no owner")),
        When(**{f"{owner}__is_active": False}, then=Value("its owner's account is deactivated")),
        default=Value("its owner has no email address"),
        output_field=CharField(),
    )


def _entries(
    items: QuerySet[Any],
    spec: Owed,
    *,
    item_type_id: int,
    sweep_date: dt.date,
    created_at: dt.datetime,
    recipient: Combinable,
    rule: Combinable,
    period: Combinable = ZERO,
    gap: Combinable = NO_GAP,
    is_copy: bool = False,
) -> QuerySet[Any]:
    """Items as rows of the outbox's columns, in COLUMNS order."""
    return items.annotate(
        e_item_type_id=Value(item_type_id),
        e_item_id=F("pk"),
        e_recipient_id=recipient,
        e_rule=rule,
        e_due_on=F(spec.due_field),
        e_period=period,
        e_round=F(spec.round_field) if spec.round_field else Value(0),
        e_sweep_date=Value(sweep_date, output_field=models.DateField()),
        e_gap=gap,
        e_is_copy=Value(is_copy),
        e_status=Value(OutboxEntry.Status.PENDING),
        e_attempts=Value(0),
        e_last_error=Value(""),
        e_created_at=Value(created_at, output_field=models.DateTimeField()),
    ).values_list(*(f"e_{c}" for c in COLUMNS))


def _planned_rows(spec: Owed, window: Window, managers: list[int], created_at: dt.datetime) -> QuerySet[Any]:
    """Every entry the items of one chaseable kind are owed on the window's date, as one query."""
    due, owner, agency = spec.due_field, spec.owner_field, spec.agency_field
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
    common: dict[str, Any] = {
        "spec": spec,
        "item_type_id": ContentType.objects.get_for_model(spec.model).pk,
        "sweep_date": window.on,
        "created_at": created_at,
    }
    leads = f"{agency}__people__user"
    # Reference: a lead is written to only with an email address (issue #16).
    is_lead = Q(
        **{
            f"{leads}__groups__permissions__codename": "view_agency_work",
            f"{leads}__is_active": True,
            f"{leads}__email__gt": "",
        }
    )
    owner_rule, owner_period = window.owner_rule(due), window.owner_period(due)
    line_manager = f"{owner}__person__line_manager"

    parts = [
        # The owner's own reminder, due-date notice or weekly overdue chase.
        _entries(
            items.filter(_reachable(owner)),
            recipient=F(owner),
            rule=owner_rule,
            period=owner_period,
            **common,
        ),
        # An owner who cannot be reached is not a reason for silence: their agency lead hears instead.
        _entries(
            items.exclude(_reachable(owner)).filter(is_lead),
            recipient=F(leads),
            rule=owner_rule,
            period=owner_period,
            gap=_gap(owner),
            **common,
        ),
        # Every rung is copied to the owner, so nobody is escalated about without knowing.
        _entries(
            items.filter(_reachable(owner), rung__gte=1),
            recipient=F(owner),
            rule=RUNG_RULES,
            is_copy=True,
            **common,
        ),
        # Rung 1: the owner's line manager, or their agency lead where they have none.
        _entries(
            items.filter(rung=1).filter(_reachable(line_manager)),
            recipient=F(line_manager),
            rule=Value(Rule.ESCALATION_1),
            **common,
        ),
        _entries(
            items.filter(rung=1).exclude(_reachable(line_manager)).filter(is_lead),
            recipient=F(leads),
            rule=Value(Rule.ESCALATION_1),
            **common,
        ),
    ]
    if spec.chair_field:
        parts.append(
            _entries(
                items.filter(rung=2).filter(_reachable(spec.chair_field)),
                recipient=F(spec.chair_field),
                rule=Value(Rule.ESCALATION_2),
                **common,
            )
        )
    for manager_id in managers:
        manager = Value(manager_id)
        parts += [
            _entries(items.filter(rung__gte=2), recipient=manager, rule=RUNG_RULES, **common),
            # After the last rung the item stays in the business managers' digests every week.
            _entries(
                items.filter(rung=3),
                recipient=manager,
                rule=Value(Rule.OVERDUE),
                period=owner_period,
                **common,
            ),
        ]
    # Reference: the third rung also reaches the partnership executives, by name (issue #16).
    executives = (
        User.objects.filter(is_active=True, groups__name=roles.EXECUTIVE)
        .exclude(email="")
        .exclude(pk__in=managers)
        .distinct()
        .values_list("pk", flat=True)
    )
    for executive_id in executives:
        parts.append(
            _entries(
                items.filter(rung=3), recipient=Value(executive_id), rule=Value(Rule.ESCALATION_3), **common
            )
        )
    first, *rest = parts
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
    escalation_changes: int = 0


def sweep(*, on: dt.date, dry_run: bool = False, describe: bool = True, table: str) -> SweepResult:
    """Write to the outbox what every open chaseable item is owed on ``on``; with ``dry_run``, only say.

    Guarantees: each entry is written at most once whatever the number of runs, concurrent or not; the
    query count does not depend on the number of items; escalation levels follow days overdue (and fall
    back when an extension or completion ends the lateness). Without ``describe`` no entry is loaded
    into Python, so memory stays flat however many items are owed.
    """
    policy = ChasePolicy.current()
    window = Window.for_date(policy, on)
    managers = business_manager_ids(policy)
    created_at = timezone.now()
    planned: list[tuple[Any, ...]] = []
    count = changes = 0
    cols = ", ".join(COLUMNS)
    with transaction.atomic():
        for spec in chaseables():
            rows = _planned_rows(spec, window, managers, created_at)
            sql, params = _sql(rows)
            with connection.cursor() as cursor:
                # The unique key decides what is new, one index probe a candidate: predictable whatever
                # the table's statistics say (an anti-join here went quadratic on stale statistics).
                # SQLite needs a WHERE before an upsert clause on INSERT ... SELECT. No DISTINCT: DO
                # NOTHING also skips a row that repeats one earlier in the same statement.
                cursor.execute(
                    f"INSERT INTO {table} ({cols}) SELECT * FROM ({sql}) AS p "
                    f"WHERE true ON CONFLICT DO NOTHING{f' RETURNING {cols}' if describe else ''}",
                    params,
                )
                found = cursor.fetchall() if describe else []
                planned += found
                count += len(found) if describe else max(cursor.rowcount, 0)
            # Reference: the stored escalation levels are left out.
        if dry_run:
            # A dry run is the real insert, rolled back: it can never disagree with a real run.
            transaction.set_rollback(True)
    return SweepResult(
        sweep_date=on,
        dry_run=dry_run,
        count=count,
        entries=_describe(planned) if describe else [],
        escalation_changes=changes,
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
