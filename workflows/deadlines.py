"""The one home of deadline rules: RAG, at risk, overdue and days overdue, the ageing bands, "due in N
working days" and the escalation rung. Pages, the queue, the dashboard, the exception report, digests,
the API and the sweep all ask here, so they cannot drift apart.

The thresholds come from settings (RAG's tolerance and due-soon window, a clock's at-risk margin) and
from the chase policy (the escalation days). The policy is a notifications model and workflows imports
no notifications code, so notifications registers where the policy's days are kept
(``register_escalation_policy``) and this module reads them: as values in Python (``thresholds()``), or
inside the very SQL that needs them by subquery, so a page that derives the rung costs no extra query and
never reads a stale copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from .calendar import WorkingCalendar
from .models import OPEN_STATES, RAG, Action
from .owed import chaseable_for

# An escalation day count: a number, or an SQL expression yielding one (the policy's, by subquery).
Days = int | Combinable


@dataclass(frozen=True)
class EscalationPolicy:
    """Where the partnership's escalation days live: one row of ``model``, one field a rung."""

    model: type[models.Model]
    fields: tuple[str, str, str]
    pk: int = 1

    def _default(self, name: str) -> int:
        field = self.model._meta.get_field(name)
        assert isinstance(field, models.Field)
        return int(field.get_default())

    def values(self) -> tuple[int, int, int]:
        """The three rungs' days overdue, read in one query; the fields' defaults while no row exists."""
        row = self.model._default_manager.filter(pk=self.pk).values_list(*self.fields).first()
        first, second, third = row if row is not None else (self._default(f) for f in self.fields)
        return int(first), int(second), int(third)

    def expressions(self) -> tuple[Combinable, Combinable, Combinable]:
        """The same three numbers as SQL, read by the query that uses them."""
        first, second, third = (
            Coalesce(
                Subquery(self.model._default_manager.filter(pk=self.pk).values(f)[:1]),
                Value(self._default(f)),
                output_field=IntegerField(),
            )
            for f in self.fields
        )
        return first, second, third


_policy: EscalationPolicy | None = None


def register_escalation_policy(
    model: type[models.Model], *, fields: tuple[str, str, str], pk: int = 1
) -> None:
    """Called by the app that keeps the chase policy (notifications) when it is ready."""
    global _policy
    for name in fields:
        model._meta.get_field(name)  # a typo fails at start-up, not on the first page that needs it
    _policy = EscalationPolicy(model=model, fields=fields, pk=pk)


def escalation_policy() -> EscalationPolicy:
    if _policy is None:
        raise ImproperlyConfigured("No app registered the escalation policy (notifications does)")
    return _policy


@dataclass(frozen=True)
class Thresholds:
    """The policy's thresholds as values, for labels and Python-side answers (the settings' ones, RAG's
    tolerance and due-soon window and a clock's at-risk margin, are read where they apply)."""

    # Days overdue at which rungs 1, 2 and 3 of the escalation ladder are reached.
    escalation_days: tuple[int, int, int]


def thresholds() -> Thresholds:
    """The thresholds now: one query, for the policy's escalation days."""
    return Thresholds(escalation_days=escalation_policy().values())


# Overdue and days overdue. Days overdue count calendar days, as the escalation days do.


def days_overdue(due_on: dt.date | None, today: dt.date) -> int:
    """Whole days past the due date (0 when not yet due or undated)."""
    if due_on is None:
        return 0
    return max((today - due_on).days, 0)


def overdue(today: dt.date, due: str = "due_on") -> Q:
    """Past its due date today (open or not: the caller says which items it means)."""
    return Q(**{f"{due}__lt": today})


def overdue_by(
    *, today: dt.date, at_least: int | None = None, at_most: int | None = None, due: str = "due_on"
) -> Q:
    """Days overdue within [at_least, at_most], as a range on the due date so its index serves it."""
    found = Q()
    if at_least is not None:
        found &= Q(**{f"{due}__lte": today - dt.timedelta(days=at_least)})
    if at_most is not None:
        found &= Q(**{f"{due}__gte": today - dt.timedelta(days=at_most)})
    return found


# RAG, as the business plan defines it.


def _no_recent_progress(today: dt.date, soon: dt.timedelta) -> Q:
    return Q(last_progress_on__isnull=True) | Q(last_progress_on__lt=today - soon)


def rag_expression(today: dt.date) -> Case:
    """RAG in SQL, as the business plan defines it.

    Grey: closed. Red: past due by more than the tolerance. Amber: past due within the tolerance, or due
    within the due-soon window with no progress reported in that window. Green: anything else that has
    a due date. Open actions with no due date have no RAG and say so.
    """
    soon = dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_DUE_SOON_DAYS)
    return Case(
        When(~Q(state__in=OPEN_STATES), then=Value(RAG.GREY)),
        When(due_on__isnull=True, then=Value(RAG.NO_DATE)),
        When(red(today), then=Value(RAG.RED)),
        When(due_on__lt=today, then=Value(RAG.AMBER)),
        When(Q(due_on__lte=today + soon) & _no_recent_progress(today, soon), then=Value(RAG.AMBER)),
        default=Value(RAG.GREEN),
    )


def red_before(today: dt.date) -> dt.date:
    """An open action due before this date is Red; one due on it or later is not."""
    return today - dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_TOLERANCE_DAYS)


def red(today: dt.date) -> Q:
    """What RAG calls Red, as a range on the due date (the caller keeps to open actions)."""
    return Q(due_on__lt=red_before(today))


def due_soon_or_past(today: dt.date, due: str = "due_on") -> Q:
    """Due within the due-soon window, or already past due."""
    return Q(**{f"{due}__lte": today + dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_DUE_SOON_DAYS)})


def at_risk(today: dt.date) -> Q:
    """Red or Amber: past due, or due within the due-soon window with no recent progress. The same test
    as RAG's, written as a range on the due date first so the open actions' due-date index serves it."""
    soon = dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_DUE_SOON_DAYS)
    return due_soon_or_past(today) & (overdue(today) | _no_recent_progress(today, soon))


class RagAnnotations(TypedDict):
    rag: str
    rag_disagrees: bool


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    ActionWithRag = WithAnnotations[Action, RagAnnotations]
else:
    ActionWithRag = Action


def with_rag(actions: QuerySet[Action], *, today: dt.date | None = None) -> QuerySet[ActionWithRag]:
    """Annotate ``rag`` and ``rag_disagrees`` (the owner's reported RAG differs from the computed one).

    A closed action has nothing left to disagree about: the owner's last report is history, not a flag."""
    today = today or timezone.localdate()
    return actions.annotate(rag=rag_expression(today)).annotate(
        rag_disagrees=Case(
            When(~Q(state__in=OPEN_STATES), then=Value(False)),
            When(Q(reported_rag="") | Q(reported_rag=F("rag")), then=Value(False)),
            default=Value(True),
            output_field=BooleanField(),
        )
    )


# Statutory clocks count working days.


def clock_at_risk(working_days_left: int) -> bool:
    """A running clock with fewer working days left than the margin is at risk."""
    return working_days_left < settings.FOLLOWTHROUGH_CLOCK_AT_RISK_WORKING_DAYS


# The escalation ladder's rung, derived from the due date and the policy, never stored.


class _DateArithmetic(models.Func):
    """Date arithmetic on two SQL expressions, which SQLite and PostgreSQL spell differently."""

    sqlite: str
    postgresql: str

    def as_sql(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        (a_sql, a_params), (b_sql, b_params) = (compiler.compile(e) for e in self.source_expressions)
        template = self.sqlite if connection.vendor == "sqlite" else self.postgresql
        return template.format(a=a_sql, b=b_sql), [*a_params, *b_params]


class DaysSince(_DateArithmetic):
    """Whole days from a date column to ``day`` (positive when the column is earlier): days overdue."""

    output_field = IntegerField()
    sqlite = "CAST(julianday({a}) - julianday({b}) AS INTEGER)"
    postgresql = "(CAST({a} AS date) - {b})"

    def __init__(self, column: str, day: dt.date) -> None:
        super().__init__(Value(day, output_field=models.DateField()), F(column))


class DaysBefore(_DateArithmetic):
    """The date ``days`` days before ``day``, where ``days`` is itself an SQL expression."""

    output_field = models.DateField()
    sqlite = "date({a}, '-' || ({b}) || ' days')"
    postgresql = "(CAST({a} AS date) - ({b}))"

    def __init__(self, day: dt.date, days: Combinable) -> None:
        super().__init__(Value(day, output_field=models.DateField()), days)


def _days_before(day: dt.date, days: Days) -> dt.date | DaysBefore:
    return day - dt.timedelta(days=days) if isinstance(days, int) else DaysBefore(day, days)


def rung_expression(
    due: str = "due_on", *, on: dt.date, chased: Q | None = None, days: Sequence[Days] | None = None
) -> Case:
    """The escalation rung (0-3) on ``on``: 1, 2 or 3 once the item is that rung's days overdue, while it
    is ``chased`` (still owed to its owner); 0 before the ladder, undated, or no longer chased.

    ``days`` are the three rungs' days overdue; by default the policy's, read inside this SQL. An extension
    moves the due date and a completion ends the chase, so either resets the ladder with nothing to update.
    """
    first, second, third = (_days_before(on, d) for d in (days or escalation_policy().expressions()))
    still = chased if chased is not None else Q()
    return Case(
        When(still & Q(**{f"{due}__lte": third}), then=Value(3)),
        When(still & Q(**{f"{due}__lte": second}), then=Value(2)),
        When(still & Q(**{f"{due}__lte": first}), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def with_rung(items: QuerySet[Any], *, on: dt.date | None = None) -> QuerySet[Any]:
    """Annotate ``escalation_level``: the rung on ``on`` (today by default) of items of a chased model,
    by its due date while it is open as its description in workflows.owed says (see ``rung_expression``)."""
    owed = chaseable_for(items.model)
    if owed is None:
        raise ImproperlyConfigured(f"{items.model.__name__} is not chased: it has no escalation level")
    rung = rung_expression(owed.due_field, on=on or timezone.localdate(), chased=owed.open)
    return items.annotate(escalation_level=rung)


# The dashboard's ageing bands follow the ladder: each band is the days overdue of one rung.


def ageing_bands(escalation_days: Sequence[int]) -> list[tuple[str, int, int | None]]:
    """(label, fewest days overdue, most or None) for overdue items: before the first rung, then one band a
    rung. A band the policy leaves empty (two rungs on the same day) is left out."""
    first, second, third = escalation_days
    bands: list[tuple[str, int, int | None]] = []
    for low, high in ((1, first - 1), (first, second - 1), (second, third - 1)):
        if low == high:
            bands.append((f"{low} day{'s' if low != 1 else ''}", low, high))
        elif low < high:
            bands.append((f"{low} to {high} days", low, high))
    bands.append((f"{third} days or more", third, None))
    return bands


# "Due in N working days": the working-day calendar for what is still to come (as reminders count it),
# calendar days once overdue (as escalation counts them).


def due_in_words(due_on: dt.date | None, today: dt.date, calendar: WorkingCalendar) -> str:
    """'due in 3 working days', 'due today', '5 days overdue' or 'no due date'."""
    if due_on is None:
        return "no due date"
    if due_on == today:
        return "due today"
    if due_on > today:
        days = calendar.working_days_between(today, due_on)
        return f"due in {days} working day{'s' if days != 1 else ''}"
    days = (today - due_on).days
    return f"{days} day{'s' if days != 1 else ''} overdue"
