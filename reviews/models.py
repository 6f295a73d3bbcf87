"""Rapid reviews and local child safeguarding practice reviews, on statutory working-day clocks."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from workflows.models import Agency, Recommendation
from workflows.selectors import open_actions_of, recommendations_without_agreed_action
from workflows.transitions import rule
from workflows.validators import validate_case_reference


def _label(record: models.Model, name: str) -> str:
    field = record._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.verbose_name)


def past_dates(record: models.Model, names: list[str]) -> dict[str, str]:
    """Refusals for those of the record's dates that are in the future: a record of what happened."""
    today = timezone.localdate()
    return {
        name: f"{capfirst(_label(record, name))} cannot be in the future"
        for name in names
        if getattr(record, name) is not None and getattr(record, name) > today
    }


@rule("only a reviewer or a manager may progress a review")
def may_progress(review: Any, user: Any) -> bool:
    return bool(user.has_perm("reviews.progress_review"))


class RapidReviewState(models.TextChoices):
    NOTIFIED = "notified", "Notified"
    INFORMATION_GATHERING = "information_gathering", "Information gathering"
    PANEL_MEETING = "panel_meeting", "Panel meeting"
    DECISION = "decision", "Decision"
    SUBMITTED_TO_PANEL = "submitted_to_panel", "Submitted to the Panel"
    CLOSED = "closed", "Closed"


@rule("record the date the national Panel was notified before information gathering starts")
def panel_notified(review: RapidReview) -> bool:
    return review.notified_on is not None


@rule("ask at least one agency for its chronology before information gathering starts")
def agencies_asked(review: RapidReview) -> bool:
    return review.chronologies.exists()


@rule("record the panel meeting's date and who attended")
def meeting_recorded(review: RapidReview) -> bool:
    return review.panel_meeting_on is not None and bool(review.attendees.strip())


@rule(
    "chronologies are still outstanding: wait for them, or record the panel meeting without them and say why"
)
def no_chronologies_outstanding(review: RapidReview) -> bool:
    return not review.chronologies.filter(state=ChronologyState.OWED).exists()


@rule("every chronology is in: record the panel meeting in the usual way")
def chronologies_outstanding(review: RapidReview) -> bool:
    return not no_chronologies_outstanding(review)


@rule("record the decision and its rationale")
def decision_recorded(review: RapidReview) -> bool:
    return bool(review.decision) and bool(review.decision_rationale.strip())


@rule("a practice review was recommended: commission it before closing the rapid review")
def practice_review_commissioned(review: RapidReview) -> bool:
    return review.decision != RapidReview.Decision.LCSPR_RECOMMENDED or hasattr(review, "practice_review")


class RapidReview(ConcurrentTransitionMixin, models.Model):
    """The partners' rapid review of a serious incident. State changes only through transition_perform."""

    class IncidentType(models.TextChoices):
        DEATH = "death", "A child died"
        SERIOUS_HARM = "serious_harm", "A child was seriously harmed"

    class Decision(models.TextChoices):
        LCSPR_RECOMMENDED = "lcspr_recommended", "Local practice review recommended"
        LCSPR_NOT_RECOMMENDED = "lcspr_not_recommended", "Local practice review not recommended"
        OTHER_LEARNING = "other_learning_route", "Other learning route"

    reference = models.CharField(max_length=30, unique=True)
    child_reference = models.CharField(
        max_length=30, validators=[validate_case_reference], help_text="Pseudonymised, such as “Child A”"
    )
    incident_type = models.CharField(max_length=20, choices=IncidentType.choices)
    incident_summary = models.TextField(
        blank=True, help_text="No names: the child is referred to by reference"
    )
    became_aware_on = models.DateField("date the local authority became aware")
    notified_on = models.DateField("date the national Panel was notified", null=True, blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Answers for the clocks",
    )
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    panel_meeting_on = models.DateField("date of the panel meeting", null=True, blank=True)
    attendees = models.TextField(blank=True, help_text="Who attended the panel, and for which agency")
    decision = models.CharField(max_length=30, choices=Decision.choices, blank=True)
    decision_rationale = models.TextField(blank=True)
    immediate_learning = models.TextField(blank=True)
    sent_to_panel_on = models.DateField("date sent to the national Panel", null=True, blank=True)
    state = FSMField(
        default=RapidReviewState.NOTIFIED, choices=RapidReviewState.choices, protected=True, db_index=True
    )
    recommendations = GenericRelation(
        Recommendation,
        content_type_field="source_type",
        object_id_field="source_id",
        related_query_name="rapid_review",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-became_aware_on", "-id"]
        permissions = [("progress_review", "Can run rapid reviews and practice reviews")]

    def __str__(self) -> str:
        return f"Rapid review {self.reference} ({self.child_reference})"

    def get_absolute_url(self) -> str:
        return reverse("rapid-review-detail", args=[self.pk])

    def clean(self) -> None:
        """The dates record what has happened, in the order it must happen: none is in the future, and
        none is before the step it follows."""
        dates = ["became_aware_on", "notified_on", "panel_meeting_on", "sent_to_panel_on"]
        errors = past_dates(self, dates)
        for earlier, later in pairwise(dates):
            first, then = getattr(self, earlier), getattr(self, later)
            if first is not None and then is not None and then < first and later not in errors:
                errors[later] = (
                    f"{capfirst(_label(self, later))} cannot be before the {_label(self, earlier)} "
                    f"({first:%-d %B %Y})"
                )
        if errors:
            raise ValidationError(errors)

    @property
    def is_open(self) -> bool:
        return self.state != RapidReviewState.CLOSED

    @transition(
        field=state,
        source=RapidReviewState.NOTIFIED,
        target=RapidReviewState.INFORMATION_GATHERING,
        conditions=[panel_notified, agencies_asked],
        permission=may_progress,
        custom={"label": "Start information gathering (chronologies become due)"},
    )
    def start_information_gathering(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=RapidReviewState.INFORMATION_GATHERING,
        target=RapidReviewState.PANEL_MEETING,
        conditions=[meeting_recorded, no_chronologies_outstanding],
        permission=may_progress,
        custom={"label": "Record the panel meeting"},
    )
    def hold_panel_meeting(self, **_: Any) -> None:
        pass

    # The panel meets by its date whatever is missing, but what did not come is recorded with the reason
    # it went ahead without it, as an audit's moderation does without its returns.
    @transition(
        field=state,
        source=RapidReviewState.INFORMATION_GATHERING,
        target=RapidReviewState.PANEL_MEETING,
        conditions=[meeting_recorded, chronologies_outstanding],
        permission=may_progress,
        custom={
            "quiet": True,
            "label": "Record the panel meeting without the outstanding chronologies",
            "comment_required": "say why the panel went ahead without every chronology",
        },
    )
    def hold_panel_meeting_without_chronologies(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=RapidReviewState.PANEL_MEETING,
        target=RapidReviewState.DECISION,
        conditions=[decision_recorded],
        permission=may_progress,
        custom={"label": "Record the decision"},
    )
    def record_decision(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=RapidReviewState.DECISION,
        target=RapidReviewState.SUBMITTED_TO_PANEL,
        permission=may_progress,
        custom={"label": "Record as sent to the national Panel"},
    )
    def submit_to_panel(self, **_: Any) -> None:
        if self.sent_to_panel_on is None:
            self.sent_to_panel_on = timezone.localdate()

    @transition(
        field=state,
        source=RapidReviewState.SUBMITTED_TO_PANEL,
        target=RapidReviewState.CLOSED,
        conditions=[practice_review_commissioned],
        permission=may_progress,
        custom={"label": "Close the rapid review"},
    )
    def close(self, **_: Any) -> None:
        pass


class ChronologyState(models.TextChoices):
    OWED = "owed", "Owed"
    SUBMITTED = "submitted", "Submitted"
    NOT_RECEIVED = "not_received", "Not received"


@rule("only someone from the agency asked may submit its chronology")
def may_submit_chronology(chronology: Chronology, user: Any) -> bool:
    person = getattr(user, "person", None)
    return person is not None and person.agency_id == chronology.agency_id


@rule("write the agency's summary before submitting it")
def has_summary(chronology: Chronology) -> bool:
    return bool(chronology.summary.strip())


class Chronology(ConcurrentTransitionMixin, models.Model):
    """An agency's chronology and summary for a rapid review, due inside the rapid review's clock."""

    review = models.ForeignKey(RapidReview, on_delete=models.CASCADE, related_name="chronologies")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="chronologies")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    summary = models.TextField(blank=True, help_text="What the agency knew and did; no names")
    state = FSMField(
        default=ChronologyState.OWED, choices=ChronologyState.choices, protected=True, db_index=True
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "agency__name"]
        verbose_name_plural = "chronologies"
        constraints = [models.UniqueConstraint(fields=["review", "agency"], name="one_chronology_per_agency")]

    def __str__(self) -> str:
        return self.title

    @transition(
        field=state,
        source=ChronologyState.OWED,
        target=ChronologyState.SUBMITTED,
        conditions=[has_summary],
        permission=may_submit_chronology,
        custom={"label": "Submit the chronology"},
    )
    def submit(self, *, actor: Any, **_: Any) -> None:
        self.submitted_at, self.submitted_by = timezone.now(), actor

    @transition(
        field=state,
        source=ChronologyState.OWED,
        target=ChronologyState.NOT_RECEIVED,
        permission=may_progress,
        custom={
            "label": "Record as not received",
            "internal": True,
            "comment_required": "say why the chronology is not needed",
        },
    )
    def mark_not_received(self, **_: Any) -> None:
        pass


class PracticeReviewState(models.TextChoices):
    COMMISSIONED = "commissioned", "Commissioned"
    REVIEWER_APPOINTED = "reviewer_appointed", "Reviewer appointed"
    IN_REVIEW = "in_review", "In review"
    DRAFT_REPORT = "draft_report", "Draft report"
    FINAL_REPORT = "final_report", "Final report"
    PUBLISHED = "published", "Published"
    ACTION_PLANNING = "action_planning", "Action planning"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"


@rule("name the independent reviewer first")
def reviewer_named(review: PracticeReview) -> bool:
    return bool(review.reviewer.strip())


@rule("agree the terms of reference before the review starts")
def has_terms(review: PracticeReview) -> bool:
    return bool(review.terms_of_reference.strip())


@rule("record how practitioners and the family were involved (or why they were not) before the draft report")
def involvement_recorded(review: PracticeReview) -> bool:
    return bool(review.practitioner_involvement.strip()) and bool(review.family_involvement.strip())


@rule("record the publication date and the link to the published report")
def publication_recorded(review: PracticeReview) -> bool:
    return review.published_on is not None and bool(review.publication_url)


@rule("add the review's recommendations before monitoring")
def has_recommendations(review: PracticeReview) -> bool:
    return review.recommendations.exists()


@rule("every recommendation needs at least one agreed action with an owner and a due date before monitoring")
def every_recommendation_has_agreed_action(review: PracticeReview) -> bool:
    return not recommendations_without_agreed_action(review.recommendations.all()).exists()


@rule(
    "the review cannot close while actions are open: each must be completed, impact checked or discontinued"
)
def no_open_actions(review: PracticeReview) -> bool:
    return not open_actions_of(review.recommendations.all()).exists()


class PracticeReview(ConcurrentTransitionMixin, models.Model):
    """A local child safeguarding practice review (LCSPR), from commissioning to its actions' end."""

    reference = models.CharField(max_length=30, unique=True)
    title = models.CharField(max_length=200)
    rapid_review = models.OneToOneField(
        RapidReview, on_delete=models.PROTECT, null=True, blank=True, related_name="practice_review"
    )
    child_reference = models.CharField(max_length=30, validators=[validate_case_reference])
    decided_on = models.DateField("date of the decision to hold the review")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewer = models.CharField("independent reviewer", max_length=200, blank=True)
    terms_of_reference = models.TextField(blank=True)
    practitioner_involvement = models.TextField(blank=True)
    family_involvement = models.TextField(blank=True)
    published_on = models.DateField(null=True, blank=True)
    publication_url = models.URLField("link to the published report", blank=True)
    state = FSMField(
        default=PracticeReviewState.COMMISSIONED,
        choices=PracticeReviewState.choices,
        protected=True,
        db_index=True,
    )
    recommendations = GenericRelation(
        Recommendation,
        content_type_field="source_type",
        object_id_field="source_id",
        related_query_name="practice_review",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-decided_on", "-id"]
        verbose_name = "local child safeguarding practice review"

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("practice-review-detail", args=[self.pk])

    def clean(self) -> None:
        errors = past_dates(self, ["decided_on", "published_on"])
        decided, published = self.decided_on, self.published_on
        if (
            decided is not None
            and published is not None
            and published < decided
            and "published_on" not in errors
        ):
            errors["published_on"] = (
                f"The review cannot be published before it was decided on ({decided:%-d %B %Y})"
            )
        if errors:
            raise ValidationError(errors)

    @property
    def is_open(self) -> bool:
        return self.state != PracticeReviewState.CLOSED

    @transition(
        field=state,
        source=PracticeReviewState.COMMISSIONED,
        target=PracticeReviewState.REVIEWER_APPOINTED,
        conditions=[reviewer_named],
        permission=may_progress,
        custom={"label": "Record the reviewer's appointment"},
    )
    def appoint_reviewer(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.REVIEWER_APPOINTED,
        target=PracticeReviewState.IN_REVIEW,
        conditions=[has_terms],
        permission=may_progress,
        custom={"label": "Start the review"},
    )
    def start_review(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.IN_REVIEW,
        target=PracticeReviewState.DRAFT_REPORT,
        conditions=[involvement_recorded],
        permission=may_progress,
        custom={"label": "Record the draft report"},
    )
    def receive_draft(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.DRAFT_REPORT,
        target=PracticeReviewState.FINAL_REPORT,
        permission=may_progress,
        custom={"label": "Record the final report"},
    )
    def finalise(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.FINAL_REPORT,
        target=PracticeReviewState.PUBLISHED,
        conditions=[publication_recorded],
        permission=may_progress,
        custom={"label": "Record as published"},
    )
    def publish(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.PUBLISHED,
        target=PracticeReviewState.ACTION_PLANNING,
        permission=may_progress,
        custom={"label": "Start action planning"},
    )
    def start_action_planning(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.ACTION_PLANNING,
        target=PracticeReviewState.MONITORING,
        conditions=[has_recommendations, every_recommendation_has_agreed_action],
        permission=may_progress,
        custom={"label": "Start monitoring the actions"},
    )
    def start_monitoring(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=PracticeReviewState.MONITORING,
        target=PracticeReviewState.CLOSED,
        conditions=[no_open_actions],
        permission=may_progress,
        custom={"label": "Close the review"},
    )
    def close(self, **_: Any) -> None:
        pass
