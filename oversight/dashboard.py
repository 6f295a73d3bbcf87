"""The dashboard's numbers: actions by RAG per agency, the ageing of overdue actions, completions and new
actions per month, audits and reviews by stage, clocks at risk. Each a single aggregate query, so the page
costs the same whatever the number of actions; the charts are drawn on the server as SVG."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from workflows import deadlines
from workflows.calendar import working_calendar
from workflows.clocks import on_track_from
from workflows.models import OPEN_STATES, RAG, Action, StatutoryClock
from workflows.owed import stage_counts
from workflows.selectors import agency_of_viewer, sees_all_agencies

RAG_ORDER = [RAG.RED, RAG.AMBER, RAG.GREEN, RAG.NO_DATE]


# At most this many clocks are listed; the page says how many more are at risk or late.
CLOCKS_SHOWN = 200


@dataclass
class Dashboard:
    rag_by_agency: list[tuple[str, dict[str, int]]]
    ageing: list[tuple[str, int]]
    months: list[tuple[dt.date, int, int]]  # month, completed, new
    stages: list[tuple[str, list[tuple[str, int]]]]
    clocks: list[tuple[StatutoryClock, int, str]] = field(default_factory=list)  # clock, left, status
    clocks_at_risk: int = 0
    # None until the beat task first draws the figures; stale once older than the age allowed.
    drawn_at: dt.datetime | None = None
    stale: bool = False
    scope: str = ""  # whose figures: the partnership's or one agency's


def _months(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    months = []
    for back in range(11, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        months.append(dt.date(index // 12, index % 12 + 1, 1))
    return months


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


NO_AGENCY = "No agency"


def action_figures_by_agency(*, today: dt.date) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Every figure that aggregates actions, for the partnership and for each agency, in four grouped
    queries over all actions: RAG per agency, ageing of overdue actions, completions and new actions per
    month. Plain data (JSON), so snapshots can keep them. For the beat task only: at a million actions
    this is seconds of work no page view may do."""
    open_actions = Action.objects.filter(state__in=OPEN_STATES)
    names: dict[int | None, str] = {}
    rag: dict[int | None, dict[str, int]] = {}
    for row in (
        open_actions.annotate(rag=deadlines.rag_expression(today))
        .values("agency_id", "agency__name", "rag")
        .annotate(n=Count("id"))
        .order_by()
    ):
        names[row["agency_id"]] = row["agency__name"] or NO_AGENCY
        rag.setdefault(row["agency_id"], {})[row["rag"]] = row["n"]
    # The bands are the ladder's rungs, so they move when the policy's escalation days do.
    bands = deadlines.ageing_bands(deadlines.thresholds().escalation_days)
    ageing: dict[int | None, list[int]] = {}
    for row in (
        open_actions.filter(deadlines.overdue(today))
        .values("agency_id")
        .annotate(
            **{
                f"band{index}": Count(
                    "id", filter=deadlines.overdue_by(today=today, at_least=low, at_most=high)
                )
                for index, (_, low, high) in enumerate(bands)
            }
        )
        .order_by()
    ):
        ageing[row["agency_id"]] = [row[f"band{index}"] for index in range(len(bands))]
    # The exception report's table: Red and each rung's open actions per agency.
    escalated: dict[int | None, list[int]] = {}
    for row in (
        deadlines.with_rung(open_actions, on=today)
        .filter(deadlines.overdue(today) | Q(escalation_level__gt=0))
        .values("agency_id")
        .annotate(
            red=Count("id", filter=deadlines.red(today)),
            **{f"rung{n}": Count("id", filter=Q(escalation_level=n)) for n in (1, 2, 3)},
        )
        .order_by()
    ):
        escalated[row["agency_id"]] = [row["red"], row["rung1"], row["rung2"], row["rung3"]]
    months = _months(today)
    start = months[0]
    completed: dict[int | None, dict[dt.date, int]] = {}
    for agency_id, month, n in (
        Action.objects.filter(completed_on__gte=start)
        .annotate(month=TruncMonth("completed_on"))
        .values_list("agency_id", "month")
        .annotate(n=Count("id"))
        .order_by()
    ):
        completed.setdefault(agency_id, {})[_as_date(month)] = n
    created: dict[int | None, dict[dt.date, int]] = {}
    for agency_id, month, n in (
        Action.objects.filter(created_at__date__gte=start)
        .annotate(month=TruncMonth("created_at"))
        .values_list("agency_id", "month")
        .annotate(n=Count("id"))
        .order_by()
    ):
        created.setdefault(agency_id, {})[_as_date(month)] = n

    def figures(agencies: list[int | None]) -> dict[str, Any]:
        return {
            "rag_by_agency": sorted((names[a], rag[a]) for a in agencies if a in rag),
            # [agency, agency id, red, escalation 1, 2, 3] for each agency with any.
            "escalated_by_agency": sorted(
                [names.get(a, NO_AGENCY), a, *escalated[a]]
                for a in agencies
                if a in escalated and any(escalated[a])
            ),
            "ageing": [
                (label, sum(ageing.get(a, [0] * len(bands))[index] for a in agencies))
                for index, (label, _, _) in enumerate(bands)
            ],
            "months": [
                (
                    m.isoformat(),
                    sum(completed.get(a, {}).get(m, 0) for a in agencies),
                    sum(created.get(a, {}).get(m, 0) for a in agencies),
                )
                for m in months
            ],
        }

    every = sorted({*rag, *ageing, *completed, *created}, key=lambda a: (a is None, a or 0))
    return figures(every), {a: figures([a]) for a in every if a is not None}


PARTNERSHIP = "partnership"


def _agency_scope(agency_id: int) -> str:
    return f"agency:{agency_id}"


def draw_partnership_figures(*, today: dt.date) -> Any:
    """Draw the partnership's figures and each agency's (the beat task, every few minutes): one snapshot
    each, written in one transaction; agencies with no actions left have theirs removed."""
    from .models import DashboardSnapshot

    partnership, by_agency = action_figures_by_agency(today=today)
    now = timezone.now()
    snapshots = [
        DashboardSnapshot(scope=PARTNERSHIP, data=partnership, drawn_at=now),
        *(
            DashboardSnapshot(scope=_agency_scope(a), data=data, drawn_at=now)
            for a, data in by_agency.items()
        ),
    ]
    with transaction.atomic():
        DashboardSnapshot.objects.exclude(scope__in=[s.scope for s in snapshots]).delete()
        DashboardSnapshot.objects.bulk_create(
            snapshots, update_conflicts=True, unique_fields=["scope"], update_fields=["data", "drawn_at"]
        )
    return DashboardSnapshot.objects.get(scope=PARTNERSHIP)


EMPTY: dict[str, Any] = {"rag_by_agency": [], "escalated_by_agency": [], "ageing": [], "months": []}


def partnership_snapshot() -> Any:
    """The partnership's figures as the beat task last drew them, or None before it first has."""
    from .models import DashboardSnapshot

    return DashboardSnapshot.objects.filter(scope=PARTNERSHIP).first()


def _clocks_at_risk(today: dt.date) -> tuple[list[tuple[StatutoryClock, int, str]], int]:
    """Running clocks late or at risk, fewest working days left first: chosen and counted in SQL (a
    clock is at risk from a due date on, found on the calendar once), at most CLOCKS_SHOWN listed."""
    calendar = working_calendar()
    running = StatutoryClock.objects.filter(met_on__isnull=True, due_on__lt=on_track_from(today, calendar))
    listed = [
        (clock, answers.working_days_left(today), answers.status(today))
        for clock in running.order_by("due_on", "id")[:CLOCKS_SHOWN]
        for answers in [clock.clock(calendar)]
    ]
    return listed, running.count()


def dashboard(user: Any, *, today: dt.date) -> Dashboard:
    """The viewer's dashboard, read from what the beat task drew and never counted here: partnership staff
    read every agency's figures, an agency lead their agency's. Figures older than
    FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES are shown as they are, marked stale (the task has stopped)."""
    from .models import DashboardSnapshot

    everyone = sees_all_agencies(user)
    scope = PARTNERSHIP if everyone else _agency_scope(agency_of_viewer(user))
    snapshot = DashboardSnapshot.objects.filter(scope=scope).first()
    drawn_at: dt.datetime | None = None
    figures = EMPTY
    if snapshot is not None:
        figures, drawn_at = snapshot.data, snapshot.drawn_at
    elif not everyone and DashboardSnapshot.objects.filter(scope=PARTNERSHIP).exists():
        # Drawn, and this agency has no actions: nothing to show, and nothing stale about it.
        drawn_at = DashboardSnapshot.objects.get(scope=PARTNERSHIP).drawn_at
    max_age = dt.timedelta(minutes=settings.FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES)
    clocks, clocks_at_risk = _clocks_at_risk(today) if everyone else ([], 0)
    return Dashboard(
        rag_by_agency=[(agency, counts) for agency, counts in figures["rag_by_agency"]],
        ageing=[(label, n) for label, n in figures["ageing"]],
        months=[(dt.date.fromisoformat(m), c, n) for m, c, n in figures["months"]],
        stages=stage_counts() if everyone else [],
        clocks=clocks,
        clocks_at_risk=clocks_at_risk,
        drawn_at=drawn_at,
        stale=drawn_at is not None and timezone.now() - drawn_at > max_age,
        scope=scope,
    )
