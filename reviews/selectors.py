"""Reads for the review pages, API and dashboard: who may see what, and every running clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet

from workflows.calendar import working_calendar
from workflows.clocks import Clock
from workflows.models import StatutoryClock
from workflows.selectors import (
    action_list,
    actions_visible_to,
    agency_of_viewer,
    object_timeline,
    sees_all_agencies,
)
from workflows.timeline import TimelineEntry, registered_entries

from .models import (
    Chronology,
    PracticeReview,
    PracticeReviewState,
    RapidReview,
    RapidReviewState,
)

Viewer = User | AnonymousUser


def rapid_reviews_visible_to(user: Viewer) -> QuerySet[RapidReview]:
    """Partnership staff see every review; an agency the reviews it was asked to contribute to."""
    reviews = RapidReview.objects.all()
    if not user.is_authenticated:
        return reviews.none()
    if sees_all_agencies(user):
        return reviews
    return reviews.filter(
        Exists(Chronology.objects.filter(review=OuterRef("pk"), agency_id=agency_of_viewer(user)))
    )


def practice_reviews_visible_to(user: Viewer) -> QuerySet[PracticeReview]:
    reviews = PracticeReview.objects.all()
    if not user.is_authenticated:
        return reviews.none()
    if sees_all_agencies(user):
        return reviews
    asked = Chronology.objects.filter(review=OuterRef("rapid_review"), agency_id=agency_of_viewer(user))
    return reviews.filter(Exists(asked))


def chronologies_visible_to(user: Viewer) -> QuerySet[Chronology]:
    """An agency sees its own chronologies and never another agency's."""
    chronologies = Chronology.objects.all()
    if not user.is_authenticated:
        return chronologies.none()
    if sees_all_agencies(user):
        return chronologies
    return chronologies.filter(agency_id=agency_of_viewer(user))


def review_actions(review: RapidReview | PracticeReview, user: Viewer) -> QuerySet:  # type: ignore[type-arg]
    return action_list(
        actions_visible_to(user).filter(recommendation__in=review.recommendations.all())
    ).order_by("recommendation__reference", "due_on", "id")


def clocks_of(review: RapidReview | PracticeReview) -> list[StatutoryClock]:
    content_type = ContentType.objects.get_for_model(type(review))
    return list(
        StatutoryClock.objects.filter(source_type=content_type, source_id=review.pk).order_by("starts_on")
    )


@dataclass(frozen=True)
class ClockRow:
    """One running or met clock, with its answers for a date."""

    clock: StatutoryClock
    review: RapidReview | PracticeReview
    used: int
    left: int
    overdue_by: int
    status: str
    # Why the status is worse than the clock's own days left say, when a milestone inside it slipped.
    milestone: str = ""

    @property
    def due_on(self) -> dt.date:
        return self.clock.due_on


def clock_rows(
    clocks: list[StatutoryClock], sources: dict[tuple[int, int], RapidReview | PracticeReview], on: dt.date
) -> list[ClockRow]:
    calendar = working_calendar()
    rows = []
    for stored in clocks:
        review = sources.get((stored.source_type_id, stored.source_id))
        if review is None:
            continue
        clock: Clock = stored.clock(calendar)
        rows.append(
            ClockRow(
                clock=stored,
                review=review,
                used=clock.working_days_used(min(on, stored.met_on or on)),
                left=clock.working_days_left(on) if stored.met_on is None else 0,
                overdue_by=clock.overdue_by(on) if stored.met_on is None else 0,
                status=clock.status(on, met_on=stored.met_on),
            )
        )
    return _with_panel_milestones(rows)


def _with_panel_milestones(rows: list[ClockRow]) -> list[ClockRow]:
    """A rapid review whose panel has not met, and is late or at risk of it (working day 12), is at risk
    however many days its own clock has left: deciding and writing up need the days after the panel."""
    panels = {
        (row.clock.source_type_id, row.clock.source_id): row
        for row in rows
        if row.clock.name == "review_panel" and row.status in ("late", "at risk")
    }
    marked = []
    for row in rows:
        panel = panels.get((row.clock.source_type_id, row.clock.source_id))
        if row.clock.name == "rapid_review" and row.status == "on track" and panel is not None:
            was = "was due" if panel.status == "late" else "is due"
            row = replace(
                row,
                status="at risk",
                milestone=f"The panel meeting {was} by {panel.due_on:%a %-d %b %Y} and is not recorded",
            )
        marked.append(row)
    return marked


def review_dashboard(user: Viewer, *, on: dt.date) -> list[ClockRow]:
    """Every running clock of an open review the viewer may see, fewest working days left first (the
    late ones, most overdue, at the top). A fixed number of queries."""
    rapid = {r.pk: r for r in rapid_reviews_visible_to(user).exclude(state=RapidReviewState.CLOSED)}
    practice = {r.pk: r for r in practice_reviews_visible_to(user).exclude(state=PracticeReviewState.CLOSED)}
    types = ContentType.objects.get_for_models(RapidReview, PracticeReview)
    sources: dict[tuple[int, int], RapidReview | PracticeReview] = {
        **{(types[RapidReview].pk, pk): r for pk, r in rapid.items()},
        **{(types[PracticeReview].pk, pk): r for pk, r in practice.items()},
    }
    clocks = list(
        StatutoryClock.objects.filter(met_on__isnull=True, source_type__in=types.values()).select_related(
            "owner"
        )
    )
    rows = clock_rows(clocks, sources, on)
    return sorted(rows, key=lambda row: (row.left - row.overdue_by, row.clock.due_on))


def review_timeline(
    review: RapidReview | PracticeReview, clocks: list[StatutoryClock], viewer: Viewer
) -> list[TimelineEntry]:
    """The review's transitions and changes, the chronologies the viewer may see and the reminders its
    clocks sent, oldest first; a fixed number of queries.

    A timeline shows what its list would: an agency asked sees its own chronology, never another's."""
    entries = object_timeline([review], quiet={"state"}) + registered_entries(clocks)
    if isinstance(review, RapidReview):
        chronologies = list(chronologies_visible_to(viewer).filter(review=review).select_related("agency"))
        entries += object_timeline(
            chronologies,
            quiet={"state", "submitted_at", "submitted_by"},
            prefix=lambda c: f"Chronology ({c.agency}): ",
        )
    return sorted(entries, key=lambda e: e.at)
