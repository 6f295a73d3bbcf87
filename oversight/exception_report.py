"""The exception report for the partnership executive: every open action at escalation 3 or Red, counted
by agency and rung in SQL, listed a page at a time most overdue first, with what the executive reads it
for: late statutory clocks, days overdue, the source, the latest progress, why it was escalated, and
what changed since they last read it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from notifications.models import ESCALATION_RULES, OutboxEntry
from workflows import deadlines
from workflows.calendar import working_calendar
from workflows.models import OPEN_STATES, Action, StatutoryClock
from workflows.selectors import action_list, actions_visible_to
from workflows.validators import id_from

from .dashboard import partnership_snapshot
from .models import ExceptionReportReading
from .queue import KeysetPage, keyset_page, with_latest_progress

# The PDF lists at most this many actions, most overdue first, and says how many more the report holds.
PDF_ROWS = 200
LATE_CLOCKS_SHOWN = 50


@dataclass(frozen=True)
class AgencyRow:
    agency: str
    agency_id: int | None
    red: int
    rungs: list[int]  # open actions at escalation 1, 2 and 3


@dataclass(frozen=True)
class Changes:
    """What changed since ``since``, from the actions' own dates: no copy of an earlier report is kept."""

    since: dt.date
    newly_red: int  # became more than the tolerance overdue since then
    left: int  # were Red then and have been completed or discontinued since
    newly_late_clocks: int


@dataclass(frozen=True)
class ExceptionReport:
    # Counted by the beat task with the dashboard's figures (a grouped count of every Red action costs
    # more than the page may), None before it first has.
    agencies: list[AgencyRow]
    counted_at: dt.datetime | None
    total: int
    page: KeysetPage[Any]
    late_clocks: list[tuple[StatutoryClock, int]]  # clock, working days overdue
    late_clock_count: int
    changes: Changes | None
    agency_id: int | None  # the agency the list is filtered to, if any


def _on_report(user: Any, today: dt.date) -> QuerySet[Action]:
    """Open actions at the third rung or Red today, their rung annotated."""
    on_ladder = deadlines.with_rung(actions_visible_to(user).filter(state__in=OPEN_STATES), on=today)
    return on_ladder.filter(Q(escalation_level=3) | deadlines.red(today))


def _with_escalation(actions: QuerySet[Any]) -> QuerySet[Any]:
    """The latest escalation written about each action: its rung, when, and the reason a manager gave when
    it was escalated by hand (one subquery per column, for a page of rows)."""
    latest = OutboxEntry.objects.filter(
        item_type=ContentType.objects.get_for_model(Action),
        item_id=OuterRef("pk"),
        rule__in=ESCALATION_RULES,
        is_copy=False,
    ).order_by("-created_at", "-id")
    return actions.annotate(
        escalated_rule=Subquery(latest.values("rule")[:1]),
        escalated_at=Subquery(latest.values("created_at")[:1]),
        escalated_why=Subquery(latest.values("gap")[:1]),
    )


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _changes(user: Any, today: dt.date, since: dt.date) -> Changes:
    red_now, red_then = deadlines.red_before(today), deadlines.red_before(since)
    visible = actions_visible_to(user)
    newly_red = visible.filter(state__in=OPEN_STATES, due_on__lt=red_now, due_on__gte=red_then).count()
    left = (
        visible.exclude(state__in=OPEN_STATES)
        .filter(deadlines.red(since))
        .filter(Q(completed_on__gte=since) | Q(closed_at__gte=_start_of(since)))
        .count()
    )
    newly_late = StatutoryClock.objects.filter(
        met_on__isnull=True, due_on__gte=since, due_on__lt=today
    ).count()
    return Changes(since=since, newly_red=newly_red, left=left, newly_late_clocks=newly_late)


def _agency(params: Any) -> int | None:
    return id_from(params.get("agency", ""))


def exception_report(
    user: Any, params: Any, *, today: dt.date, since: dt.date | None = None, for_pdf: bool = False
) -> ExceptionReport:
    """The report as ``user`` may see it on ``today``: counts by agency and rung (as last drawn), the
    page of actions after ``params["after"]`` (or before ``params["before"]``), optionally one agency's
    (``params["agency"]``); for the PDF the PDF_ROWS most overdue. ``since``: what changed since then."""
    on_report = _on_report(user, today)
    snapshot = partnership_snapshot()
    agencies = [
        AgencyRow(agency=name, agency_id=agency_id, red=red, rungs=rungs)
        for name, agency_id, red, *rungs in (snapshot.data.get("escalated_by_agency", []) if snapshot else [])
    ]
    agency_id = None if for_pdf else _agency(params)
    listed = on_report.filter(agency_id=agency_id) if agency_id else on_report
    rows = _with_escalation(with_latest_progress(action_list(listed, today=today))).prefetch_related(
        "recommendation__source"
    )
    rows = rows.order_by("due_on", "id")
    marks = {} if for_pdf else {k: params[k] for k in ("after", "before") if k in params}
    page = keyset_page(user, rows, marks, size=PDF_ROWS if for_pdf else 25)
    calendar = working_calendar()
    late = StatutoryClock.objects.filter(deadlines.overdue(today), met_on__isnull=True)
    late_clocks = [
        (clock, clock.clock(calendar).overdue_by(today))
        for clock in late.order_by("due_on", "id")[:LATE_CLOCKS_SHOWN]
    ]
    return ExceptionReport(
        agencies=agencies,
        counted_at=snapshot.drawn_at if snapshot else None,
        total=sum(row.red for row in agencies),
        page=page,
        late_clocks=late_clocks,
        late_clock_count=late.count(),
        changes=_changes(user, today, since) if since is not None else None,
        agency_id=agency_id,
    )


def last_reading(user: Any) -> dt.date | None:
    """The day ``user`` last marked the report read (None if never): the report says what changed since."""
    return ExceptionReportReading.objects.filter(user_id=user.pk).values_list("read_on", flat=True).first()


def since_last_month(today: dt.date) -> dt.date:
    """For a reader who never marked it read: the first day of last month (the last monthly report)."""
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def exception_report_mark_read(*, user: Any, today: dt.date) -> None:
    """Record that ``user`` read the report on ``today`` (a deliberate act, never a page view: no page
    writes on GET); the next report compares with this day."""
    ExceptionReportReading.objects.update_or_create(user=user, defaults={"read_on": today})
