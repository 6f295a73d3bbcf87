"""The dashboard's numbers: actions by RAG per agency, the ageing of overdue actions, completions and new
actions per month, audits and reviews by stage, clocks at risk. Each a single aggregate query, so the page
costs the same whatever the number of actions; the charts are drawn on the server as SVG."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from workflows.calendar import working_calendar
from workflows.models import OPEN_STATES, RAG, Action, StatutoryClock
from workflows.selectors import actions_visible_to, agency_of_viewer, rag_expression, sees_all_agencies
from workflows.stages import stage_sources

RAG_ORDER = [RAG.RED, RAG.AMBER, RAG.GREEN, RAG.NO_DATE]
AGEING = [
    ("0 to 14 days", 0, 14),
    ("15 to 28 days", 15, 28),
    ("29 to 56 days", 29, 56),
    ("Over 56 days", 57, None),
]


@dataclass
class Dashboard:
    rag_by_agency: list[tuple[str, dict[str, int]]]
    ageing: list[tuple[str, int]]
    months: list[tuple[dt.date, int, int]]  # month, completed, new
    stages: list[tuple[str, list[tuple[str, int]]]]
    clocks: list[tuple[StatutoryClock, int, str]] = field(default_factory=list)  # clock, left, status
    drawn_at: dt.datetime | None = None


def _months(today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    months = []
    for back in range(11, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        months.append(dt.date(index // 12, index % 12 + 1, 1))
    return months


def _open_actions(user: Any) -> QuerySet[Action]:
    actions = actions_visible_to(user)
    if not sees_all_agencies(user):
        actions = actions.filter(agency_id=agency_of_viewer(user))
    return actions


def action_figures(actions: QuerySet[Action], *, today: dt.date) -> dict[str, Any]:
    """The figures that aggregate every action: RAG per agency, ageing, completions and new per month.
    Plain data (JSON), so a snapshot can keep them."""
    open_actions = actions.filter(state__in=OPEN_STATES)
    by_agency: dict[str, dict[str, int]] = {}
    for row in (
        open_actions.annotate(rag=rag_expression(today))
        .values("agency__name", "rag")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_agency.setdefault(row["agency__name"] or "No agency", {})[row["rag"]] = row["n"]
    counts = open_actions.filter(due_on__lt=today).aggregate(
        **{
            f"band{index}": Count(
                "id",
                filter=Q(due_on__lte=today - dt.timedelta(days=low))
                & (Q(due_on__gte=today - dt.timedelta(days=high)) if high is not None else Q()),
            )
            for index, (_, low, high) in enumerate(AGEING)
        }
    )
    months = _months(today)
    start = months[0]
    completed = dict(
        actions.filter(completed_on__gte=start)
        .annotate(month=TruncMonth("completed_on"))
        .values_list("month")
        .annotate(n=Count("id"))
        .order_by()
    )
    created = {
        (m.date() if isinstance(m, dt.datetime) else m): n
        for m, n in actions.filter(created_at__date__gte=start)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    completed = {(m.date() if isinstance(m, dt.datetime) else m): n for m, n in completed.items()}
    return {
        "rag_by_agency": sorted(by_agency.items()),
        "ageing": [(label, counts[f"band{index}"]) for index, (label, _, _) in enumerate(AGEING)],
        "months": [(m.isoformat(), completed.get(m, 0), created.get(m, 0)) for m in months],
    }


def partnership_figures(*, today: dt.date, max_age: dt.timedelta) -> tuple[dict[str, Any], dt.datetime]:
    """Every agency's figures from the snapshot the beat task draws; when it is missing, older than
    ``max_age`` or from another day they are counted now and not kept: a page view never writes (three
    people opening the dashboard at once locked SQLite redrawing it)."""
    from .models import DashboardSnapshot

    snapshot = DashboardSnapshot.objects.filter(scope="partnership").first()
    now = timezone.now()
    if (
        snapshot is None
        or now - snapshot.drawn_at > max_age
        or timezone.localdate(snapshot.drawn_at) != today
    ):
        return action_figures(Action.objects.all(), today=today), now
    return snapshot.data, snapshot.drawn_at


def draw_partnership_figures(*, today: dt.date) -> Any:
    from .models import DashboardSnapshot

    data = action_figures(Action.objects.all(), today=today)
    snapshot, _ = DashboardSnapshot.objects.update_or_create(
        scope="partnership", defaults={"data": data, "drawn_at": timezone.now()}
    )
    return snapshot


def dashboard(user: Any, *, today: dt.date) -> Dashboard:
    """The viewer's dashboard: partnership staff read the snapshot of every agency's figures (at most
    FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES old); an agency lead's own agency is counted live."""
    if sees_all_agencies(user):
        max_age = dt.timedelta(minutes=settings.FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES)
        figures, drawn_at = partnership_figures(today=today, max_age=max_age)
    else:
        figures, drawn_at = action_figures(_open_actions(user), today=today), timezone.now()
    calendar = working_calendar()
    clocks = []
    for clock in StatutoryClock.objects.filter(met_on__isnull=True).order_by("due_on")[:200]:
        answers = clock.clock(calendar)
        status = answers.status(today)
        if status in ("at risk", "late"):
            clocks.append((clock, answers.working_days_left(today), status))
    return Dashboard(
        rag_by_agency=[(agency, counts) for agency, counts in figures["rag_by_agency"]],
        ageing=[(label, n) for label, n in figures["ageing"]],
        months=[(dt.date.fromisoformat(m), c, n) for m, c, n in figures["months"]],
        stages=[(label, source(user)) for label, source in stage_sources()]
        if sees_all_agencies(user)
        else [],
        clocks=clocks,
        drawn_at=drawn_at,
    )
