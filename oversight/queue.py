"""The overdue-remediation queue: every open action past due or at risk, filtered, sorted and counted in
SQL, for managers (every agency) and agency leads (their own)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import django_filters
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from notifications.registry import chaseables
from workflows.models import OPEN_STATES, RAG, Action, Agency, ProgressNote, Theme
from workflows.selectors import (
    ActionWithRag,
    action_list,
    actions_visible_to,
    agencies_open_to,
    agency_of_viewer,
    sees_all_agencies,
    serving_theme,
)
from workflows.validators import MAX_ID

Viewer = User | AnonymousUser

SOURCE_TYPES = [
    ("plan", "Business or improvement plan"),
    ("audit", "Multi-agency audit"),
    ("caseaudit", "Single-agency case audit"),
    ("rapidreview", "Rapid review"),
    ("practicereview", "Practice review"),
    ("section11return", "Section 11"),
]
SORTS = {
    "due": ("due_on", "id"),
    "overdue": ("due_on", "id"),  # most overdue first is earliest due first
    "ref": ("reference", "id"),
    "action": ("description", "id"),
    "agency": ("agency__name", "due_on", "id"),
    "owner": ("owner__last_name", "owner__first_name", "due_on", "id"),
    "escalation": ("escalation_level", "due_on", "id"),
    "rag": ("rag", "due_on", "id"),
    "state": ("state", "due_on", "id"),
}
# Bounds a filter's number must keep to: more days than this is no real lateness (and a date that far back
# overflows).
MAX_DAYS_OVERDUE = 36_500


def may_see_queue(user: Viewer) -> bool:
    return bool(
        user.is_authenticated
        and (user.has_perm("workflows.view_all_agencies") or user.has_perm("workflows.view_agency_work"))
    )


def _queue_scope(user: Viewer, today: dt.date) -> QuerySet[Action]:
    """Open actions past due, or due within the due-soon window with no recent progress (Amber): the
    same test as RAG's, written so the (state, due_on) indexes serve it."""
    if not may_see_queue(user):
        raise PermissionDenied("The queue is for managers and agency leads")
    soon = dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_DUE_SOON_DAYS)
    no_recent_progress = Q(last_progress_on__isnull=True) | Q(last_progress_on__lt=today - soon)
    # Written as a range on due_on first, so the partial index of open actions' due dates serves it.
    at_risk = Q(due_on__lte=today + soon) & (Q(due_on__lt=today) | no_recent_progress)
    actions = actions_visible_to(user)
    if not sees_all_agencies(user):
        # An agency lead answers for their agency's work; the queue is that, not what they own elsewhere.
        actions = actions.filter(agency_id=agency_of_viewer(user))
    return actions.filter(at_risk, state__in=OPEN_STATES)


class _Ids(django_filters.fields.ModelMultipleChoiceField):
    """Ids checked as numbers a key can hold before they reach the database: a huge one made the
    choice check's query overflow (SQLite) or fail (PostgreSQL bigint)."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not str(pk).isdigit() or int(pk) > MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class _ManyById(django_filters.ModelMultipleChoiceFilter):
    field_class = _Ids


class QueueFilter(django_filters.FilterSet):
    # The viewer's agencies, set per viewer below: never a list of every agency.
    agency = _ManyById(queryset=Agency.objects.none())
    source_type = django_filters.ChoiceFilter(
        choices=SOURCE_TYPES, field_name="recommendation__source_type__model", label="Source type"
    )
    source = django_filters.NumberFilter(
        field_name="recommendation__source_id", label="Source (id)", min_value=1, max_value=MAX_ID
    )
    theme = django_filters.ModelChoiceFilter(
        queryset=Theme.objects.all(), method="filter_theme", label="Theme or strategic priority"
    )
    # A name to search for, not a list of every person: a partnership has thousands.
    owner = django_filters.CharFilter(method="filter_owner", label="Owner's name or username")
    rag = django_filters.MultipleChoiceFilter(choices=[(RAG.RED, "Red"), (RAG.AMBER, "Amber")], label="RAG")
    escalation = django_filters.MultipleChoiceFilter(
        field_name="escalation_level",
        choices=[(str(n), f"Level {n}") for n in range(4)],
        label="Escalation level",
    )
    overdue_min = django_filters.NumberFilter(
        method="filter_overdue_min", label="Days overdue, at least", min_value=0, max_value=MAX_DAYS_OVERDUE
    )
    overdue_max = django_filters.NumberFilter(
        method="filter_overdue_max", label="Days overdue, at most", min_value=0, max_value=MAX_DAYS_OVERDUE
    )
    due_from = django_filters.DateFilter(field_name="due_on", lookup_expr="gte", label="Due from")
    due_to = django_filters.DateFilter(field_name="due_on", lookup_expr="lte", label="Due to")

    class Meta:
        model = Action
        fields: list[str] = []

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["agency"].queryset = agencies_open_to(viewer)  # type: ignore[attr-defined]

    def filter_owner(self, actions: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        for word in value.split():
            actions = actions.filter(
                Q(owner__first_name__icontains=word)
                | Q(owner__last_name__icontains=word)
                | Q(owner__username__iexact=word)
            )
        return actions

    def filter_theme(self, actions: QuerySet[Action], name: str, value: Theme) -> QuerySet[Action]:
        return serving_theme(actions, value)

    def filter_overdue_min(self, actions: QuerySet[Action], name: str, value: Any) -> QuerySet[Action]:
        return actions.filter(due_on__lte=timezone.localdate() - dt.timedelta(days=int(value)))

    def filter_overdue_max(self, actions: QuerySet[Action], name: str, value: Any) -> QuerySet[Action]:
        return actions.filter(due_on__gte=timezone.localdate() - dt.timedelta(days=int(value)))


def overdue_queue(
    user: Viewer, params: Any, *, today: dt.date | None = None
) -> tuple[QueueFilter, QuerySet[ActionWithRag]]:
    """The filtered, sorted queue for ``params`` (a QueryDict), and the filter (for its form and errors).

    A sort key not in SORTS falls back to due date; a leading "-" reverses it.
    """
    today = today or timezone.localdate()
    queue = QueueFilter(params, queryset=action_list(_queue_scope(user, today), today=today), viewer=user)
    actions = queue.qs
    sort = str(params.get("sort", "due"))
    descending = sort.startswith("-")
    fields = SORTS.get(sort.lstrip("-"), SORTS["due"])
    # The direction applies to the chosen column; ties stay in due-date order.
    primary = F(fields[0]).desc(nulls_last=True) if descending else F(fields[0]).asc(nulls_last=True)
    ordering = [primary, *(F(f).asc(nulls_last=True) for f in fields[1:])]
    return queue, actions.order_by(*ordering)


def with_latest_progress(actions: QuerySet[Any]) -> QuerySet[Any]:
    latest = ProgressNote.objects.filter(action=OuterRef("pk")).order_by("-at", "-id").values("text")[:1]
    return actions.annotate(latest_progress=Subquery(latest))


@dataclass(frozen=True)
class ChasedItem:
    kind: str
    label: str
    url: str
    due_on: dt.date
    owner: str
    escalation_level: int

    @property
    def days_overdue(self) -> int:
        return max((timezone.localdate() - self.due_on).days, 0)


OTHER_ITEMS_SHOWN = 100


def other_chased_items(user: Viewer, params: Any, *, today: dt.date) -> tuple[list[ChasedItem], int]:
    """Every other chased item (returns, chronologies, clocks...) past due or due within the due-soon
    window, for the queue's second table: the viewer's scope and the queue's agency, owner, escalation
    and date filters applied; one query per kind (and one count), the most overdue first."""
    if not may_see_queue(user):
        raise PermissionDenied("The queue is for managers and agency leads")
    soon = today + dt.timedelta(days=settings.FOLLOWTHROUGH_RAG_DUE_SOON_DAYS)
    # The queue's own filter form reads the parameters, so junk in them is the form's error on the page
    # (a huge agency id was a server error here): only the fields that are valid are applied.
    form = QueueFilter(params, queryset=Action.objects.none(), viewer=user).form
    form.is_valid()
    chosen = form.cleaned_data
    items: list[ChasedItem] = []
    total = 0
    for spec in chaseables():
        if spec.model is Action:
            continue
        due, agency, owner, level = spec.due_field, spec.agency_field, spec.owner_field, spec.escalation_field
        found = spec.model._default_manager.filter(spec.open).filter(**{f"{due}__lte": soon})
        if not sees_all_agencies(user):
            found = found.filter(**{f"{agency}_id": agency_of_viewer(user)})
        if chosen.get("agency"):
            found = found.filter(**{f"{agency}__in": chosen["agency"]})
        if chosen.get("escalation"):
            found = found.filter(**{f"{level}__in": [int(e) for e in chosen["escalation"]]})
        for word in str(chosen.get("owner") or "").split():
            found = found.filter(
                Q(**{f"{owner}__first_name__icontains": word})
                | Q(**{f"{owner}__last_name__icontains": word})
                | Q(**{f"{owner}__username__iexact": word})
            )
        total += found.count()
        rows = found.order_by(due).values_list(
            "pk", spec.label_field, due, f"{owner}__first_name", f"{owner}__last_name", level
        )[:OTHER_ITEMS_SHOWN]
        items += [
            ChasedItem(
                kind=str(spec.model._meta.verbose_name).capitalize(),
                label=str(label),
                url=reverse(spec.url_name, args=[pk]),
                due_on=due_on,
                owner=f"{first or ''} {last or ''}".strip() or "The agency's leads",
                escalation_level=escalation,
            )
            for pk, label, due_on, first, last, escalation in rows
        ]
    return sorted(items, key=lambda item: item.due_on)[:OTHER_ITEMS_SHOWN], total
