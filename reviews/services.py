"""Writes on rapid reviews, chronologies and practice reviews. Each service is one transaction, keeps the
statutory clocks in step with the dates it changes, and refuses bad input saying why, changing nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction

from workflows.clocks import Clock, clock_sync
from workflows.models import Action, Agency, Recommendation, Theme
from workflows.selectors import has_agency_lead
from workflows.services import save_checked
from workflows.services.actions import action_create, recommendation_create
from workflows.transitions import register_effect, transition_perform

from .models import (
    Chronology,
    ChronologyState,
    PracticeReview,
    PracticeReviewState,
    RapidReview,
    RapidReviewState,
    may_submit_chronology,
)


def _require_progress(actor: User) -> None:
    if not actor.has_perm("reviews.progress_review"):
        raise PermissionDenied("only a reviewer or a manager may change a review")


def rapid_review_clocks(review: RapidReview) -> None:
    """The two statutory clocks of a rapid review, from its dates: the Panel notification (from when the
    local authority became aware) and the rapid review itself (from the notification)."""
    common = {"source": review, "owner": review.lead, "chair": review.chair}
    clock_sync(
        name="panel_notification",
        label=f"{review.reference}: notify the national Panel",
        starts_on=review.became_aware_on,
        met_on=review.notified_on,
        **common,
    )
    clock_sync(
        name="rapid_review",
        label=f"{review.reference}: rapid review to the national Panel",
        starts_on=review.notified_on,
        met_on=review.sent_to_panel_on,
        **common,
    )
    # The review's own milestone inside its clock: a panel that has not met by working day 12 leaves too
    # little time to decide and write up, so it is tracked and chased like a clock of its own.
    clock_sync(
        name="review_panel",
        label=f"{review.reference}: rapid review panel meets",
        starts_on=review.notified_on,
        met_on=review.panel_meeting_on,
        **common,
    )


def practice_review_clocks(review: PracticeReview) -> None:
    clock_sync(
        name="practice_review",
        label=f"{review.reference}: publish the practice review",
        source=review,
        starts_on=review.decided_on,
        met_on=review.published_on,
        owner=review.lead,
        chair=review.chair,
    )


RAPID_FIELDS = {
    "child_reference",
    "incident_type",
    "incident_summary",
    "became_aware_on",
    "notified_on",
    "lead",
    "chair",
    "panel_meeting_on",
    "attendees",
    "decision",
    "decision_rationale",
    "immediate_learning",
    "sent_to_panel_on",
}


def rapid_review_create(*, actor: User, reference: str, **fields: Any) -> RapidReview:
    """Record a serious incident notification: the rapid review starts, and with it the clocks."""
    _require_progress(actor)
    unknown = set(fields) - RAPID_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be set here" for f in sorted(unknown)})
    review = RapidReview(reference=reference.strip(), **fields)
    with transaction.atomic():
        save_checked(review, actor)
        rapid_review_clocks(review)
    return review


def rapid_review_update(*, review: RapidReview, actor: User, **changes: Any) -> RapidReview:
    _require_progress(actor)
    unknown = set(changes) - RAPID_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    if not review.is_open:
        raise ValidationError("The rapid review is closed: its record can no longer change")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(review, name, value)
        save_checked(review, actor)
        rapid_review_clocks(review)
    return review


def rapid_review_ask_agency(
    *,
    review: RapidReview,
    actor: User,
    agency: Agency,
    owner: User | None = None,
    due_on: dt.date | None = None,
) -> Chronology:
    """Ask an agency for its chronology and summary, by default due on working day 10 of the rapid
    review's clock (FOLLOWTHROUGH_CLOCKS["agency_summaries"])."""
    _require_progress(actor)
    if review.state not in (RapidReviewState.NOTIFIED, RapidReviewState.INFORMATION_GATHERING):
        raise ValidationError("Agencies are asked for chronologies before the panel meets")
    if owner is not None and getattr(getattr(owner, "person", None), "agency_id", None) != agency.pk:
        raise ValidationError({"owner": f"The person completing the chronology must work for {agency}"})
    if owner is None and not has_agency_lead(agency):
        raise ValidationError({"owner": f"{agency} has no agency lead: name who completes its chronology"})
    if review.chronologies.filter(agency=agency).exists():
        raise ValidationError({"agency": f"{agency} has already been asked"})
    if due_on is None:
        if review.notified_on is None:
            raise ValidationError({"due_on": "Give a due date, or record when the Panel was notified first"})
        due_on = Clock.named("agency_summaries", review.notified_on).due_on
    chronology = Chronology(
        review=review,
        agency=agency,
        owner=owner,
        due_on=due_on,
        title=f"{review.reference} chronology for {review.child_reference} ({agency})",
    )
    with transaction.atomic():
        save_checked(chronology, actor)
    return chronology


def chronology_save(*, chronology: Chronology, actor: User, summary: str, submit: bool = False) -> Chronology:
    """Save an agency's summary and, with ``submit``, submit it: both or neither."""
    if not may_submit_chronology(chronology, actor):
        raise PermissionDenied(may_submit_chronology.message)
    if chronology.state != ChronologyState.OWED or chronology.review.state not in (
        RapidReviewState.NOTIFIED,
        RapidReviewState.INFORMATION_GATHERING,
    ):
        raise ValidationError(
            "This chronology can no longer be changed: it is submitted or the panel has met"
        )
    with transaction.atomic():
        chronology.summary = summary
        save_checked(chronology, actor)
        if submit:
            transition_perform(obj=chronology, name="submit", actor=actor)
    return chronology


@register_effect(RapidReview, "hold_panel_meeting_without_chronologies")
def _close_outstanding_chronologies(
    review: RapidReview, *, actor: User, comment: str, arguments: Any
) -> None:
    """Each chronology the panel met without is recorded as not received, with the reason given, and stops
    being chased."""
    for chronology in review.chronologies.filter(state=ChronologyState.OWED):
        transition_perform(
            obj=chronology,
            name="mark_not_received",
            actor=actor,
            comment=f"The panel met on {review.panel_meeting_on:%-d %B %Y} without it: {comment.strip()}",
            internal=True,
        )


@register_effect(RapidReview, "submit_to_panel")
def _stop_the_review_clock(review: RapidReview, *, actor: User, comment: str, arguments: Any) -> None:
    rapid_review_clocks(review)


RECOMMENDING: dict[type[models.Model], list[str]] = {
    RapidReview: [
        RapidReviewState.PANEL_MEETING,
        RapidReviewState.DECISION,
        RapidReviewState.SUBMITTED_TO_PANEL,
    ],
    PracticeReview: [
        PracticeReviewState.FINAL_REPORT,
        PracticeReviewState.PUBLISHED,
        PracticeReviewState.ACTION_PLANNING,
    ],
}
PLANNING: dict[type[models.Model], list[str]] = {
    RapidReview: [
        RapidReviewState.PANEL_MEETING,
        RapidReviewState.DECISION,
        RapidReviewState.SUBMITTED_TO_PANEL,
        RapidReviewState.CLOSED,
    ],
    PracticeReview: [PracticeReviewState.ACTION_PLANNING, PracticeReviewState.MONITORING],
}


def review_add_recommendation(
    *,
    review: RapidReview | PracticeReview,
    actor: User,
    text: str,
    reference: str = "",
    theme: Theme | None = None,
) -> Recommendation:
    """A recommendation of the review (for a rapid review, its immediate learning), escalated at the second
    rung to the review's chair."""
    _require_progress(actor)
    if review.state not in RECOMMENDING[type(review)]:
        raise ValidationError(
            f"Recommendations are not added while the review is {review.get_state_display().lower()}"
        )
    with transaction.atomic():
        recommendation = recommendation_create(
            actor=actor, text=text, reference=reference, source=review, theme=theme
        )
        recommendation.chair = review.chair
        recommendation.save(update_fields=["chair"])
    return recommendation


def review_add_action(
    *, review: RapidReview | PracticeReview, recommendation: Recommendation, actor: User, **fields: Any
) -> Action:
    if review.state not in PLANNING[type(review)]:
        raise ValidationError(
            f"Actions are not added while the review is {review.get_state_display().lower()}"
        )
    if not review.recommendations.filter(pk=recommendation.pk).exists():
        raise ValidationError("That recommendation is not one of this review's")
    return action_create(actor=actor, recommendation=recommendation, **fields)


PRACTICE_FIELDS = {
    "title",
    "child_reference",
    "decided_on",
    "lead",
    "chair",
    "reviewer",
    "terms_of_reference",
    "practitioner_involvement",
    "family_involvement",
    "published_on",
    "publication_url",
}


def practice_review_create(
    *, actor: User, reference: str, rapid_review: RapidReview | None = None, **fields: Any
) -> PracticeReview:
    """Commission a practice review, from its rapid review where there is one; its six-month clock runs
    from the decision to hold it."""
    _require_progress(actor)
    unknown = set(fields) - PRACTICE_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be set here" for f in sorted(unknown)})
    if rapid_review is not None:
        fields.setdefault("child_reference", rapid_review.child_reference)
        fields.setdefault("chair", rapid_review.chair)
    with transaction.atomic():
        if rapid_review is not None:
            # Asked of the database under the rapid review's lock, not of ``rapid_review.practice_review``:
            # a form that has built the new review has already cached it there as the rapid review's own.
            RapidReview.objects.select_for_update().get(pk=rapid_review.pk)
            if PracticeReview.objects.filter(rapid_review=rapid_review).exists():
                raise ValidationError("This rapid review already has its practice review")
        review = PracticeReview(reference=reference.strip(), rapid_review=rapid_review, **fields)
        save_checked(review, actor)
        practice_review_clocks(review)
    return review


def practice_review_update(*, review: PracticeReview, actor: User, **changes: Any) -> PracticeReview:
    _require_progress(actor)
    unknown = set(changes) - PRACTICE_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    if not review.is_open:
        raise ValidationError("The review is closed: its record can no longer change")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(review, name, value)
        save_checked(review, actor)
        practice_review_clocks(review)
    return review
