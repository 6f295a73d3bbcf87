"""The overdue-remediation queue: every open action past due or at risk, filtered, sorted and counted in
SQL, for managers (every agency) and agency leads (their own)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import django_filters
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from workflows import deadlines
from workflows.models import OPEN_STATES, RAG, Action, ProgressNote, Theme
from workflows.owed import chaseable_for, chaseables, recommendation_sources
from workflows.selectors import (
    ActionWithRag,
    action_list,
    actions_visible_to,
    agencies_open_to,
    agency_of_viewer,
    oversees_work,
    sees_all_agencies,
    serving_theme,
)
from workflows.validators import MAX_ID, id_from

Viewer = User | AnonymousUser

# Only orders an index of open actions serves (see Action's Meta), so that every sort, and every page of it
# by keyset, costs what the first page costs at a million actions. Sorting by a joined name (agency,
# owner) or by the text would sort every open action on each view: filter by them instead.
SORTS: dict[str, tuple[str, str]] = {
    "due": ("due_on", "id"),
    "ref": ("reference", "id"),
}
# Columns that are functions of the due date sort in its order: most overdue first is earliest due first,
# and so is Red before Amber; the most escalated are the most overdue.
SORT_ALIASES: dict[str, str] = {"overdue": "due", "rag": "due", "escalation": "-due"}
PAGE_SIZE = 25
# More people than this matching an owner's name are looked up by subquery rather than by their ids.
OWNER_MATCHES = 500
# Bounds a filter's number must keep to: more days than this is no real lateness (and a date that far back
# overflows).
MAX_DAYS_OVERDUE = 36_500
OWNER_SEARCH_MAX = 200


def _queue_scope(user: Viewer, today: dt.date) -> QuerySet[Action]:
    """Open actions at risk (Red or Amber by their due date)."""
    if not oversees_work(user):
        raise PermissionDenied("The queue is for managers and agency leads")
    actions = actions_visible_to(user)
    if not sees_all_agencies(user):
        # An agency lead answers for their agency's work; the queue is that, not what they own elsewhere.
        actions = actions.filter(agency_id=agency_of_viewer(user))
    return actions.filter(deadlines.at_risk(today), state__in=OPEN_STATES)


FILTER_CHOICES_SECONDS = 300


def _agency_choices_key(agency_id: int | None) -> str:
    return f"oversight:queue:agencies:{'all' if agency_id is None else agency_id}"


THEME_CHOICES_KEY = "oversight:queue:themes"


def agency_choices(viewer: Viewer) -> list[tuple[int, str]]:
    """The agencies the viewer may filter by (never a list of every agency for an agency lead), from the
    cache: the queue is the page managers open most, and these change rarely."""
    key = _agency_choices_key(None if sees_all_agencies(viewer) else agency_of_viewer(viewer))
    return list(
        cache.get_or_set(
            key,
            lambda: list(agencies_open_to(viewer).order_by("name").values_list("pk", "name")),
            FILTER_CHOICES_SECONDS,
        )
        or []
    )


def theme_choices() -> list[tuple[int, str]]:
    return list(
        cache.get_or_set(
            THEME_CHOICES_KEY,
            lambda: list(Theme.objects.order_by("name").values_list("pk", "name")),
            FILTER_CHOICES_SECONDS,
        )
        or []
    )


def forget_filter_choices(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    """An agency or theme saved or deleted: the cached choices it appears in are dropped (connected in
    the app's ready())."""
    if isinstance(instance, Theme):
        cache.delete(THEME_CHOICES_KEY)
    else:
        cache.delete_many([_agency_choices_key(None), _agency_choices_key(instance.pk)])


def source_types() -> list[tuple[str, str]]:
    """The kinds of source an action's recommendation may come from, as the owed registry declares them."""
    return [(str(source.model._meta.model_name), source.kind) for source in recommendation_sources()]


class QueueFilter(django_filters.FilterSet):
    # The viewer's agencies, set per viewer below: never a list of every agency.
    # distinct=False on every several-values filter: none joins a row in twice, and DISTINCT made the
    # database sort every row of the queue before the first page.
    agency = django_filters.MultipleChoiceFilter(field_name="agency_id", label="Agency", distinct=False)
    source_type = django_filters.ChoiceFilter(
        choices=source_types, field_name="recommendation__source_type__model", label="Source type"
    )
    source = django_filters.NumberFilter(
        field_name="recommendation__source_id", label="Source (id)", min_value=1, max_value=MAX_ID
    )
    theme = django_filters.ChoiceFilter(method="filter_theme", label="Theme or strategic priority")
    # A name to search for, not a list of every person: a partnership has thousands. Bounded, as each
    # word is a condition: a thousand of them overflowed the database's expression limit.
    owner = django_filters.CharFilter(
        method="filter_owner", label="Owner's name or username", max_length=OWNER_SEARCH_MAX
    )
    rag = django_filters.MultipleChoiceFilter(
        choices=[(RAG.RED, "Red"), (RAG.AMBER, "Amber")], method="filter_rag", label="RAG", distinct=False
    )
    escalation = django_filters.MultipleChoiceFilter(
        method="filter_escalation",
        choices=[(str(n), f"Level {n}") for n in range(4)],
        label="Escalation level",
        distinct=False,
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
        self.filters["agency"].extra["choices"] = agency_choices(viewer)
        self.filters["theme"].extra["choices"] = theme_choices()

    def filter_owner(self, actions: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        # The people first, then their actions: a few owners' actions are found by the owner index, not
        # by reading the whole queue in due order looking for them.
        people = User.objects.all()
        for word in value.split():
            people = people.filter(
                Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(username__iexact=word)
            )
        # As a list of ids (a name matches few people): as a subquery the planner read the queue in due
        # order testing each row against it.
        ids = list(people.values_list("pk", flat=True)[: OWNER_MATCHES + 1])
        if len(ids) > OWNER_MATCHES:
            return actions.filter(owner__in=people)
        return actions.filter(owner_id__in=ids)

    def filter_rag(self, actions: QuerySet[Action], name: str, value: list[str]) -> QuerySet[Action]:
        # Everything in the queue is Red or Amber, and which is a matter of the due date alone: as a range
        # of due dates the index serves it (filtering on the computed RAG read every Red row to find the
        # first Amber one).
        if set(value) >= {RAG.RED, RAG.AMBER} or not value:
            return actions
        red_before = deadlines.red_before(timezone.localdate())
        return (
            actions.filter(due_on__lt=red_before)
            if RAG.RED in value
            else actions.filter(due_on__gte=red_before)
        )

    def filter_escalation(self, actions: QuerySet[Action], name: str, value: list[str]) -> QuerySet[Action]:
        """The rung derived in SQL decides; each rung is also given as the range of due dates it can lie
        in (a superset), so the index reads those rows only instead of deriving the rung of every row
        before the first match (rung 0 of an unchased action may have any due date)."""
        levels = sorted({int(level) for level in value})
        first, second, third = deadlines.thresholds().escalation_days
        today = timezone.localdate()
        owed = chaseable_for(Action)
        chased = owed.open if owed is not None else None
        not_yet = deadlines.overdue_by(today=today, at_most=first - 1)
        ranges = {
            0: not_yet | ~chased if chased is not None else not_yet,
            1: deadlines.overdue_by(today=today, at_least=first, at_most=second - 1),
            2: deadlines.overdue_by(today=today, at_least=second, at_most=third - 1),
            3: deadlines.overdue_by(today=today, at_least=third),
        }
        within = Q()
        for level in levels:
            within |= ranges[level]
        # The level is annotated (derived), not a field: named as a lookup the type checker cannot see.
        return actions.filter(within, **{"escalation_level__in": levels})

    def filter_theme(self, actions: QuerySet[Action], name: str, value: str) -> QuerySet[Action]:
        return serving_theme(actions, Theme(pk=int(value)))

    def filter_overdue_min(self, actions: QuerySet[Action], name: str, value: Any) -> QuerySet[Action]:
        return actions.filter(deadlines.overdue_by(today=timezone.localdate(), at_least=int(value)))

    def filter_overdue_max(self, actions: QuerySet[Action], name: str, value: Any) -> QuerySet[Action]:
        return actions.filter(deadlines.overdue_by(today=timezone.localdate(), at_most=int(value)))


def _ordering(params: Any) -> tuple[tuple[str, str], bool]:
    """The sort's fields and whether descending: a key not offered falls back to due date; a leading
    "-" reverses it."""
    sort = str(params.get("sort", "due"))
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key in SORT_ALIASES:
        alias = SORT_ALIASES[key]
        descending = descending != alias.startswith("-")
        key = alias.lstrip("-")
    return SORTS.get(key, SORTS["due"]), descending if key in SORTS else False


def overdue_queue(
    user: Viewer, params: Any, *, today: dt.date | None = None
) -> tuple[QueueFilter, QuerySet[ActionWithRag]]:
    """The filtered, sorted queue for ``params`` (a QueryDict), and the filter (for its form and errors).

    Sorted by one of SORTS (or an alias of one), ties by id in the same direction, so that an index of
    open actions serves every order and a page can start after any item (keyset paging)."""
    today = today or timezone.localdate()
    queue = QueueFilter(params, queryset=action_list(_queue_scope(user, today), today=today), viewer=user)
    (key, _), descending = _ordering(params)
    ordering = [f"-{key}", "-id"] if descending else [key, "id"]
    return queue, queue.qs.order_by(*ordering)


T = TypeVar("T")


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """One page of the queue and where its neighbours start: the id of the item a page follows
    (``after``) or precedes (``before``), carried in the links with the filter and sort."""

    items: list[T]
    has_next: bool
    has_previous: bool
    # A page was asked for from a mark that is no item the viewer can see (or no id): this is the first
    # page instead, and the page says so rather than silently showing another.
    restarted: bool = False

    @property
    def next_after(self) -> int | None:
        return self.items[-1].pk if self.has_next and self.items else None  # type: ignore[attr-defined]

    @property
    def previous_before(self) -> int | None:
        return self.items[0].pk if self.has_previous and self.items else None  # type: ignore[attr-defined]


def _mark(params: Any, name: str) -> int | None:
    return id_from(params.get(name, ""))


def _rows(ordered: QuerySet[Any], limit: int) -> list[Any]:
    """The first ``limit`` rows of ``ordered``: their ids first, from the actions alone, then the rows with
    everything joined for those ids. A filter the planner misjudges (a derived rung) otherwise had it join
    every matching row to owners, agencies and sources before sorting them for one page."""
    ids = list(ordered.values_list("pk", flat=True)[:limit])
    found = {row.pk: row for row in ordered.filter(pk__in=ids).order_by()}
    return [found[pk] for pk in ids if pk in found]


def keyset_page(
    user: Viewer, actions: QuerySet[Any], params: Any, *, size: int = PAGE_SIZE
) -> KeysetPage[Any]:
    """The page of ``actions`` (ordered by overdue_queue) after the item ``params["after"]`` or before
    ``params["before"]``; the first page without either, or when the item is not one the viewer can see.

    Each page is one index range read however deep it is: no OFFSET, so page 1,000 costs what page 1
    does. The item named keeps its place in the order even once it has left the queue (done, extended)."""
    (key, _), descending = _ordering(params)
    after, before = _mark(params, "after"), _mark(params, "before")
    mark = after or before
    found = actions_visible_to(user).filter(pk=mark).values_list(key, flat=True).first() if mark else None
    if mark is None or found is None:
        rows = _rows(actions, size + 1)
        asked = any(str(params.get(name, "")) for name in ("after", "before"))
        return KeysetPage(items=rows[:size], has_next=len(rows) > size, has_previous=False, restarted=asked)
    # Forward in the page order after the mark, or backward before it; ">= value" first so the index
    # range starts at the mark, then ties on the value broken by id.
    forward = after is not None
    later = forward != descending
    if later:
        beyond = Q(**{f"{key}__gte": found}) & ~Q(**{key: found, "id__lte": mark})
    else:
        beyond = Q(**{f"{key}__lte": found}) & ~Q(**{key: found, "id__gte": mark})
    chosen = actions.filter(beyond)
    if forward:
        rows = _rows(chosen, size + 1)
        return KeysetPage(items=rows[:size], has_next=len(rows) > size, has_previous=True)
    rows = _rows(chosen.reverse(), size + 1)
    return KeysetPage(items=rows[:size][::-1], has_next=True, has_previous=len(rows) > size)


def capped_count(actions: QuerySet[Any]) -> tuple[int, bool]:
    """How many items match, counting no further than FOLLOWTHROUGH_QUEUE_COUNT_CAP: (the count, whether
    there are more). A full count of a million open actions costs more than the page it heads."""
    cap = settings.FOLLOWTHROUGH_QUEUE_COUNT_CAP
    counted = actions.order_by().values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


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
        return deadlines.days_overdue(self.due_on, timezone.localdate())


OTHER_ITEMS_SHOWN = 100


def other_chased_items(user: Viewer, params: Any, *, today: dt.date) -> tuple[list[ChasedItem], int]:
    """Every other chased item (returns, chronologies, clocks...) past due or due within the due-soon
    window, for the queue's second table: the viewer's scope and the queue's agency, owner, escalation
    and date filters applied; one query per kind (and one count), the most overdue first."""
    if not oversees_work(user):
        raise PermissionDenied("The queue is for managers and agency leads")
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
        due, agency, owner, level = spec.due_field, spec.agency_field, spec.owner_field, "escalation_level"
        found = deadlines.with_rung(
            spec.model._default_manager.filter(spec.open).filter(deadlines.due_soon_or_past(today, due)),
            on=today,
        )
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
                kind=spec.kind,
                label=str(label),
                url=reverse(spec.url_name, args=[pk]),
                due_on=due_on,
                owner=f"{first or ''} {last or ''}".strip() or "The agency's leads",
                escalation_level=escalation,
            )
            for pk, label, due_on, first, last, escalation in rows
        ]
    return sorted(items, key=lambda item: item.due_on)[:OTHER_ITEMS_SHOWN], total
