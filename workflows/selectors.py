"""Reads shared by pages, API, dashboard and digests, so every count agrees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .deadlines import ActionWithRag, with_rag, with_rung
from .models import (
    OPEN_STATES,
    PROGRESS_UPDATE,
    Action,
    ActionChangeRequest,
    ActionState,
    Agency,
    Evidence,
    ExtensionRequest,
    Person,
    ProgressNote,
    Recommendation,
    RefusedAttempt,
    Theme,
)
from .models.actions import ActionRequest, RequestDecision
from .owed import recommendation_sources
from .timeline import TimelineEntry, registered_entries
from .transitions import state_field, transition_log

Viewer = User | AnonymousUser
RequestT = TypeVar("RequestT", bound=ActionRequest)


def sees_all_agencies(user: Viewer) -> bool:
    return bool(user.is_authenticated and user.has_perm("workflows.view_all_agencies"))


def oversees_work(user: Viewer) -> bool:
    """Whether the user answers for other people's work (managers, executives, agency leads): the
    overdue-remediation queue is theirs, and a digest too big to list sends them to it."""
    return bool(
        user.is_authenticated
        and (user.has_perm("workflows.view_all_agencies") or user.has_perm("workflows.view_agency_work"))
    )


def agency_of_viewer(user: Viewer) -> int:
    """The viewer's agency, or 0 (no agency's id) for someone who works for none, so a filter on it
    matches nothing."""
    person = getattr(user, "person", None)
    return person.agency_id if person is not None else 0


def has_agency_lead(agency: Agency) -> bool:
    """Whether someone active answers for the agency's work: the chase's fallback when nobody is named."""
    return Person.objects.filter(
        agency=agency, user__is_active=True, user__groups__permissions__codename="view_agency_work"
    ).exists()


def actions_visible_to(user: Viewer) -> QuerySet[Action]:
    """Managers, executives and auditors see every action; an agency lead their agency's; anyone
    else the actions they own."""
    actions = Action.objects.all()
    if not user.is_authenticated:
        return actions.none()
    if sees_all_agencies(user):
        return actions
    agency_id = agency_of_viewer(user)
    if user.has_perm("workflows.view_agency_work") and agency_id:
        return actions.filter(Q(agency_id=agency_id) | Q(owner_id=user.pk))
    return actions.filter(owner_id=user.pk)


def recommendations_visible_to(user: Viewer) -> QuerySet[Recommendation]:
    """All for those who see every agency; otherwise the recommendations with an action they can see."""
    recommendations = Recommendation.objects.all()
    if sees_all_agencies(user):
        return recommendations
    return recommendations.filter(Exists(actions_visible_to(user).filter(recommendation=OuterRef("pk"))))


def recommendations_open_to(user: Viewer) -> QuerySet[Recommendation]:
    """Recommendations the user may hang an action on: every one for those who see every agency;
    otherwise those they can already see and those of a source that is their agency's (a health
    shortfall is never the police's to answer)."""
    if sees_all_agencies(user):
        return Recommendation.objects.all()
    if not user.is_authenticated:
        return Recommendation.objects.none()
    open_to: Q | Exists = Exists(actions_visible_to(user).filter(recommendation=OuterRef("pk")))
    for source in recommendation_sources():
        sources = source.recommendations_open_to or source.visible_to
        if sources is None:
            continue
        model = source.model
        # Through the join, not a content type lookup: no query until the list is read.
        open_to |= Q(
            source_type__app_label=model._meta.app_label,
            source_type__model=model._meta.model_name,
            source_id__in=sources(user).values("pk"),
        )
    return Recommendation.objects.filter(open_to)


def people_open_to(user: Viewer) -> QuerySet[User]:
    """Active people the user may give work to: anyone for those who see every agency, otherwise the
    people of their own agency."""
    people = User.objects.filter(is_active=True, person__isnull=False)
    if not user.is_authenticated:
        return people.none()
    if sees_all_agencies(user):
        return people
    return people.filter(person__agency_id=agency_of_viewer(user))


def people_lookup(viewer: Any, text: str, *, limit: int = 20) -> list[User]:
    """The first ``limit`` people the viewer may pick whose name, username or email contains every word
    typed, in name order: one query whatever the number of people."""
    words = text.split()
    if len(text.strip()) < 2:
        return []
    found = people_open_to(viewer).select_related("person__agency")
    for word in words:
        found = found.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(email__icontains=word)
        )
    return list(found.order_by("first_name", "last_name", "username")[:limit])


def agencies_open_to(user: Viewer) -> QuerySet[Agency]:
    """Active agencies the user may act for: all for those who see every agency, otherwise their own."""
    agencies = Agency.objects.filter(is_active=True)
    if not user.is_authenticated:
        return agencies.none()
    if sees_all_agencies(user):
        return agencies
    return agencies.filter(pk=agency_of_viewer(user))


# An action agreed with an owner and a due date, whatever has happened to it since.
AGREED_STATES = [s for s in ActionState if s not in (ActionState.DRAFT, ActionState.DISCONTINUED)]


def recommendations_without_agreed_action(
    recommendations: QuerySet[Recommendation],
) -> QuerySet[Recommendation]:
    """The source's recommendations that no agreed action delivers yet: a source cannot be monitored
    while any is left."""
    agreed = Action.objects.filter(recommendation=OuterRef("pk"), state__in=AGREED_STATES)
    return recommendations.filter(~Exists(agreed))


def open_actions_of(recommendations: QuerySet[Recommendation]) -> QuerySet[Action]:
    """Actions still open for the source's recommendations: a source cannot close while any is left.

    Completed, impact-checked (an unevidenced impact opens a follow-up, itself open) and discontinued
    actions are done with.
    """
    return Action.objects.filter(recommendation__in=recommendations, state__in=OPEN_STATES)


def serving_theme(actions: QuerySet[Action], theme: Theme) -> QuerySet[Action]:
    """The actions that serve ``theme``: their own theme, or, with none of their own, their
    recommendation's."""
    return actions.filter(Q(theme=theme) | Q(theme__isnull=True, recommendation__theme=theme))


def action_list(actions: QuerySet[Action], *, today: dt.date | None = None) -> QuerySet[ActionWithRag]:
    """Actions ready for a list page: RAG and the escalation rung annotated and related rows joined, in one
    query."""
    return with_rung(with_rag(actions, today=today), on=today).select_related(
        "owner", "agency", "theme", "recommendation", "recommendation__source_type"
    )


def my_work(user: Viewer) -> QuerySet[ActionWithRag]:
    """The open actions a person owns, soonest due first, undated last."""
    return action_list(Action.objects.filter(owner_id=user.pk, state__in=OPEN_STATES)).order_by(
        F("due_on").asc(nulls_last=True), "id"
    )


def awaiting_sign_off(user: Viewer) -> QuerySet[ActionWithRag]:
    """Completions waiting for a manager; never the manager's own actions (four eyes)."""
    if not user.has_perm("workflows.sign_off_action"):
        return action_list(Action.objects.none())
    return action_list(
        actions_visible_to(user).filter(state=ActionState.AWAITING_SIGN_OFF).exclude(owner_id=user.pk)
    ).order_by(Coalesce("submitted_at", "created_at"), "id")


def _requests_to_decide(model: type[RequestT], user: Viewer) -> QuerySet[RequestT]:
    """Pending requests ``user`` may decide: never on their own action nor ones they asked for."""
    if not user.is_authenticated or not user.has_perm(model.decide_permission):
        return model._default_manager.none()
    return (
        model._default_manager.filter(decision=RequestDecision.PENDING, action__in=actions_visible_to(user))
        .exclude(action__owner_id=user.pk)
        .exclude(requested_by_id=user.pk)
        .select_related("action", "requested_by")
    )


def pending_extensions(user: Viewer) -> QuerySet[ExtensionRequest]:
    return _requests_to_decide(ExtensionRequest, user)


def pending_change_requests(user: Viewer) -> QuerySet[ActionChangeRequest]:
    return _requests_to_decide(ActionChangeRequest, user)


# Fields that transitions, progress notes and extensions set as they happen: those entries already say so.
# A reported RAG is not among them: set any other way (the API) it is a change like any other, and a
# progress note's own save is left out whole (PROGRESS_UPDATE).
TIMELINE_QUIET_FIELDS = {
    "state",
    "last_progress_on",
    "agreed_at",
    "submitted_at",
    "signed_off_at",
    "signed_off_by",
    "completed_on",
    "impact_check_on",
    "impact_recorded_at",
    "closed_at",
    "original_due_on",
}


def person_name(user: Any) -> str:
    return str(user.get_full_name() or user.username)


def _shown(field: Any, value: Any, related: dict[Any, dict[Any, Any]]) -> str:
    """A field's value as a person reads it: a name, a label, a date in words; never an id or a slug."""
    if value is None or value == "":
        return "—"
    if field.many_to_one or field.one_to_one:
        found = related[field.related_model].get(value)
        if found is None:
            return "(since deleted)"
        return person_name(found) if isinstance(found, User) else str(found)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return f"{timezone.localtime(value):%-d %B %Y, %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%-d %B %Y}"
    return str(value)


def refused_entries(
    objs: Sequence[models.Model], *, prefix: Callable[[Any], str] = lambda obj: ""
) -> list[TimelineEntry]:
    """The attempts the door refused on ``objs`` (of one model), in one query: a decision someone else
    made first, or one the person may not make, leaves its trace beside the one that was made."""
    if not objs:
        return []
    by_pk = {obj.pk: obj for obj in objs}
    return [
        TimelineEntry(
            at=attempt.at,
            kind="refused",
            who=attempt.actor,
            summary=f"{prefix(by_pk[attempt.object_id])}Attempt refused: {attempt.attempted}",
            detail=attempt.reason,
            reason=attempt.comment,
        )
        for attempt in RefusedAttempt.objects.filter(
            content_type=ContentType.objects.get_for_model(type(objs[0])), object_id__in=by_pk
        ).select_related("actor")
    ]


def object_timeline(
    objs: Sequence[models.Model],
    *,
    quiet: set[str],
    prefix: Callable[[Any], str] = lambda obj: "",
    said_elsewhere: frozenset[str] = frozenset(),
) -> list[TimelineEntry]:
    """Workflow objects' transitions, the changes to their fields (except the ``quiet`` ones, which
    transitions set and already say, and saves whose change reason is in ``said_elsewhere``, which
    another entry says whole) with the reason given, and what registered sources (chasing) add, unsorted.
    Values read as people's names, labels and dates.

    The objects are of one model; a fixed number of queries however many there are (one more for each
    model the changed fields point to).
    """
    if not objs:
        return []
    model = type(objs[0])
    by_pk = {obj.pk: obj for obj in objs}
    state = state_field(model)

    def state_name(value: str) -> str:
        return str(dict(state.flatchoices).get(value, value))

    def label(name: str) -> str:
        return str(getattr(model._meta.get_field(name), "verbose_name", name)).capitalize()

    entries = [
        TimelineEntry(
            at=log.at,
            kind="transition",
            who=log.actor,
            summary=f"{prefix(by_pk[log.object_id])}{log.label}: "
            f"{state_name(log.from_state)} → {state_name(log.to_state)}",
            detail=log.comment,
        )
        for log in transition_log(objs)
    ]
    records = (
        model.history.filter(id__in=by_pk)  # type: ignore[attr-defined]
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    changes = []
    for older, newer in pairwise(records):
        if older.id != newer.id or newer.history_change_reason in said_elsewhere:
            continue
        changed = [c for c in newer.diff_against(older).changes if c.field not in quiet]
        if changed:
            changes.append((newer, changed))
    # What the changed relations point to, one query per model they point to.
    wanted: dict[Any, set[Any]] = {}
    for _, changed in changes:
        for c in changed:
            field = model._meta.get_field(c.field)
            if field.many_to_one or field.one_to_one:
                wanted.setdefault(field.related_model, set()).update(
                    v for v in (c.old, c.new) if v is not None
                )
    related = {target: target._default_manager.in_bulk(ids) for target, ids in wanted.items()}
    for newer, changed in changes:
        entries.append(
            TimelineEntry(
                at=newer.history_date,
                kind="change",
                who=newer.history_user,
                summary=f"{prefix(by_pk[newer.id])}Changed "
                + ", ".join(label(c.field).lower() for c in changed),
                detail="; ".join(
                    f"{label(c.field)}: {_shown(model._meta.get_field(c.field), c.old, related)} → "
                    f"{_shown(model._meta.get_field(c.field), c.new, related)}"
                    for c in changed
                ),
                reason=newer.history_change_reason or "",
            )
        )
    return entries + refused_entries(objs, prefix=prefix) + registered_entries(objs)


def action_timeline(action: Action) -> list[TimelineEntry]:
    """Everything that happened to an action, oldest first: transitions, field changes, progress,
    evidence, extension decisions and chasing."""
    entries = object_timeline(
        [action], quiet=TIMELINE_QUIET_FIELDS, said_elsewhere=frozenset({PROGRESS_UPDATE})
    )
    entries += [
        TimelineEntry(
            at=n.at,
            kind="progress",
            who=n.author,
            summary=f"Progress update (owner's RAG: {n.get_reported_rag_display()})"
            if n.reported_rag
            else "Progress update",
            detail=n.text,
        )
        for n in ProgressNote.objects.filter(action=action).select_related("author")
    ]
    entries += [
        TimelineEntry(
            at=e.at, kind="evidence", who=e.added_by, summary="Evidence added", detail=e.description
        )
        for e in Evidence.objects.filter(action=action).select_related("added_by")
    ]
    extensions = list(
        ExtensionRequest.objects.filter(action=action).select_related("requested_by", "decided_by")
    )
    changes = list(
        ActionChangeRequest.objects.filter(action=action).select_related("requested_by", "decided_by")
    )
    # Every kind of request leaves the same trace: refused attempts to decide it, as well as its decision.
    entries += refused_entries(extensions) + refused_entries(changes)
    for ext in extensions:
        entries.append(
            TimelineEntry(
                at=ext.requested_at,
                kind="extension",
                who=ext.requested_by,
                summary=f"Extension requested to {ext.requested_due_on:%-d %B %Y}",
                detail=ext.reason,
            )
        )
        if ext.decided_at is not None:
            entries.append(
                TimelineEntry(
                    at=ext.decided_at,
                    kind="extension",
                    who=ext.decided_by,
                    summary=f"Extension {ext.get_decision_display().lower()}",
                    detail=ext.decision_comment,
                )
            )
    for change in changes:
        wording = "; ".join(f"{name}: {old or '—'} → {new or '—'}" for name, old, new in change.changes())
        entries.append(
            TimelineEntry(
                at=change.requested_at,
                kind="change_request",
                who=change.requested_by,
                summary="Change requested to the agreed wording",
                detail=wording,
                reason=change.reason,
            )
        )
        if change.decided_at is not None:
            entries.append(
                TimelineEntry(
                    at=change.decided_at,
                    kind="change_request",
                    who=change.decided_by,
                    summary=f"Change request {change.get_decision_display().lower()}",
                    detail=wording,
                    reason=change.decision_comment,
                )
            )
    return sorted(entries, key=lambda e: e.at)
