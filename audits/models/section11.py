"""Section 11 self-assessments: agencies rate themselves against a pinned framework of standards, with
evidence; reviewers from other agencies test it; gaps become actions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from workflows.models import Agency
from workflows.selectors import open_actions_of
from workflows.transitions import rule


class Framework(models.Model):
    """A version of the section 11 standards. Once a cycle uses a version it is never edited again: a change
    is a new version, so what agencies were assessed against stays as it was."""

    name = models.CharField(max_length=200)
    version = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="one_framework_version")]

    def __str__(self) -> str:
        return f"{self.name} (version {self.version})"

    @property
    def in_use(self) -> bool:
        return self.cycles.exists()


class Standard(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="standards")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    expectations = models.TextField()
    evidence_guide = models.TextField("evidence that would show it")

    class Meta:
        ordering = ["framework", "number"]
        constraints = [models.UniqueConstraint(fields=["framework", "number"], name="one_standard_number")]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class Rating(models.TextChoices):
    RED = "red", "Red"
    AMBER = "amber", "Amber"
    GREEN = "green", "Green"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


# Better to worse: a rating moved down in challenge is a worse one.
RATING_ORDER: dict[str, int] = {Rating.GREEN: 3, Rating.AMBER: 2, Rating.RED: 1}


class CycleState(models.TextChoices):
    PLANNED = "planned", "Planned"
    OPEN = "open", "Open"
    CHALLENGE = "challenge", "Challenge"
    ACTION_PLANNING = "action_planning", "Action planning"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"


@rule("only an auditor or a manager may run a section 11 cycle")
def may_run(cycle: Any, user: Any) -> bool:
    return bool(user.has_perm("audits.run_section11"))


@rule("add the agencies taking part and the date their returns are due before opening the cycle")
def ready_to_open(cycle: Section11Cycle) -> bool:
    return cycle.returns.exists() and cycle.returns_due_on is not None and cycle.challenge_due_on is not None


@rule("every return must be agreed in challenge before action planning")
def all_agreed(cycle: Section11Cycle) -> bool:
    return not cycle.returns.exclude(state=ReturnState.AGREED).exists()


@rule("the cycle cannot close while actions are open: each must be completed, impact checked or discontinued")
def cycle_actions_done(cycle: Section11Cycle) -> bool:
    from workflows.models import Recommendation

    recommendations = Recommendation.objects.filter(section11_rating__agency_return__cycle=cycle)
    return not open_actions_of(recommendations).exists()


class Section11Cycle(ConcurrentTransitionMixin, models.Model):
    name = models.CharField(max_length=200, unique=True)
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="cycles")
    previous = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="For comparison"
    )
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    returns_due_on = models.DateField("returns due", null=True, blank=True)
    challenge_due_on = models.DateField("challenge due", null=True, blank=True)
    action_plan_due_on = models.DateField("action plans due", null=True, blank=True)
    state = FSMField(default=CycleState.PLANNED, choices=CycleState.choices, protected=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "section 11 cycle"
        permissions = [("run_section11", "Can run section 11 cycles and challenge")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("section11-cycle-detail", args=[self.pk])

    @transition(
        field=state,
        source=CycleState.PLANNED,
        target=CycleState.OPEN,
        conditions=[ready_to_open],
        permission=may_run,
        custom={"label": "Open the cycle (returns become due)"},
    )
    def open(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CycleState.OPEN,
        target=CycleState.CHALLENGE,
        permission=may_run,
        custom={"label": "Start challenge"},
    )
    def start_challenge(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CycleState.CHALLENGE,
        target=CycleState.ACTION_PLANNING,
        conditions=[all_agreed],
        permission=may_run,
        custom={"label": "Start action planning"},
    )
    def start_action_planning(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CycleState.ACTION_PLANNING,
        target=CycleState.MONITORING,
        permission=may_run,
        custom={"label": "Start monitoring the actions"},
    )
    def start_monitoring(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CycleState.MONITORING,
        target=CycleState.CLOSED,
        conditions=[cycle_actions_done],
        permission=may_run,
        custom={"label": "Close the cycle"},
    )
    def close(self, **_: Any) -> None:
        pass


class ReturnState(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    UNDER_CHALLENGE = "under_challenge", "Under challenge"
    AGREED = "agreed", "Agreed"


def _of_agency(agency_return: Section11Return, user: Any) -> bool:
    person = getattr(user, "person", None)
    return person is not None and person.agency_id == agency_return.agency_id


@rule("only someone from the return's agency may complete it")
def may_complete(agency_return: Section11Return, user: Any) -> bool:
    return _of_agency(agency_return, user)


@rule("only the return's reviewer or a manager may agree it")
def may_agree(agency_return: Section11Return, user: Any) -> bool:
    return agency_return.reviewer_id == user.pk or bool(user.has_perm("audits.run_section11"))


@rule("the cycle is not open for returns")
def cycle_open(agency_return: Section11Return) -> bool:
    return bool(
        agency_return.cycle.state == CycleState.OPEN or agency_return.cycle.state == CycleState.CHALLENGE
    )


@rule("rate every standard (with a reason for any that do not apply) before submitting")
def every_standard_rated(agency_return: Section11Return) -> bool:
    ratings = agency_return.ratings.all()
    return (
        not ratings.filter(self_rating="").exists()
        and not ratings.filter(self_rating=Rating.NOT_APPLICABLE, not_applicable_reason="").exists()
    )


@rule("every standard rated Green or Amber needs its evidence before the return is submitted")
def green_and_amber_evidenced(agency_return: Section11Return) -> bool:
    return not agency_return.ratings.filter(
        self_rating__in=[Rating.GREEN, Rating.AMBER], evidence__isnull=True
    ).exists()


@rule("assign a reviewer from another agency before challenge starts")
def has_reviewer(agency_return: Section11Return) -> bool:
    return agency_return.reviewer_id is not None


@rule("challenge starts when the cycle reaches challenge")
def cycle_in_challenge(agency_return: Section11Return) -> bool:
    return bool(agency_return.cycle.state == CycleState.CHALLENGE)


@rule("every standard needs an agreed rating before the return is agreed")
def every_rating_agreed(agency_return: Section11Return) -> bool:
    return not agency_return.ratings.filter(agreed_rating="").exists()


@rule(
    "every standard agreed Amber or Red needs at least one action owned in the agency "
    "before the return is agreed"
)
def gaps_have_actions(agency_return: Section11Return) -> bool:
    from workflows.models import Action

    gaps = agency_return.ratings.filter(agreed_rating__in=[Rating.AMBER, Rating.RED])
    covered = Action.objects.filter(
        recommendation__section11_rating__in=gaps, agency_id=agency_return.agency_id
    ).values("recommendation__section11_rating")
    return not gaps.exclude(pk__in=covered).exists()


class Section11Return(ConcurrentTransitionMixin, models.Model):
    """One agency's self-assessment in a cycle. State changes only through transition_perform."""

    cycle = models.ForeignKey(Section11Cycle, on_delete=models.CASCADE, related_name="returns")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="section11_returns")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    state = FSMField(
        default=ReturnState.NOT_STARTED, choices=ReturnState.choices, protected=True, db_index=True
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    agreed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["agency__name"]
        verbose_name = "section 11 return"
        constraints = [
            models.UniqueConstraint(fields=["cycle", "agency"], name="one_section11_return_per_agency")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("section11-return-detail", args=[self.pk])

    def is_party(self, user: Any) -> bool:
        """The agency assesses itself and never agrees its own return (four eyes)."""
        return _of_agency(self, user)

    @transition(
        field=state,
        source=ReturnState.NOT_STARTED,
        target=ReturnState.IN_PROGRESS,
        conditions=[cycle_open],
        permission=may_complete,
        custom={"label": "Start the return"},
    )
    def start(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=ReturnState.IN_PROGRESS,
        target=ReturnState.SUBMITTED,
        conditions=[cycle_open, every_standard_rated, green_and_amber_evidenced],
        permission=may_complete,
        custom={"label": "Submit the self-assessment"},
    )
    def submit(self, **_: Any) -> None:
        self.submitted_at = timezone.now()

    @transition(
        field=state,
        source=ReturnState.SUBMITTED,
        target=ReturnState.UNDER_CHALLENGE,
        conditions=[cycle_in_challenge, has_reviewer],
        permission=may_run,
        custom={"label": "Start the challenge of this return"},
    )
    def begin_challenge(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=ReturnState.UNDER_CHALLENGE,
        target=ReturnState.AGREED,
        conditions=[every_rating_agreed, gaps_have_actions],
        permission=may_agree,
        custom={
            "label": "Agree the return",
            "four_eyes": "you cannot agree your own agency's return: its reviewer, or a manager, from "
            "another agency must",
        },
    )
    def agree(self, **_: Any) -> None:
        self.agreed_at = timezone.now()


class StandardRating(models.Model):
    """One standard in one agency's return: the self-assessed rating with its evidence and commentary, the
    reviewer's challenge, the agency's answer and the agreed rating. History keeps every change."""

    agency_return = models.ForeignKey(Section11Return, on_delete=models.CASCADE, related_name="ratings")
    standard = models.ForeignKey(Standard, on_delete=models.PROTECT, related_name="+")
    self_rating = models.CharField(max_length=20, choices=Rating.choices, blank=True)
    not_applicable_reason = models.TextField(blank=True)
    commentary = models.TextField(blank=True)
    proposed_rating = models.CharField(
        "reviewer's proposed rating", max_length=20, choices=Rating.choices, blank=True
    )
    reviewer_reasoning = models.TextField(blank=True)
    agency_response = models.TextField(blank=True)
    agreed_rating = models.CharField(max_length=20, choices=Rating.choices, blank=True)
    recommendation = models.OneToOneField(
        "workflows.Recommendation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="section11_rating",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["standard__number"]
        constraints = [
            models.UniqueConstraint(fields=["agency_return", "standard"], name="one_rating_per_standard")
        ]

    def __str__(self) -> str:
        return f"{self.agency_return.agency}: {self.standard}"


def section11_evidence_path(instance: Section11Evidence, filename: str) -> str:
    # The original name is kept in a field; the stored name carries no user text.
    return f"section11/{instance.rating_id}/{timezone.now():%Y%m%d%H%M%S%f}"


class Section11Evidence(models.Model):
    rating = models.ForeignKey(StandardRating, on_delete=models.CASCADE, related_name="evidence")
    description = models.CharField(max_length=300)
    file = models.FileField(upload_to=section11_evidence_path, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    url = models.URLField(blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "section 11 evidence"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(file="") | ~models.Q(url=""), name="section11_evidence_has_file_or_link"
            )
        ]

    def __str__(self) -> str:
        return self.description


class Section11Challenge(models.Model):
    """A reviewer's deadline to challenge one agency's return: chased like an action until it is agreed."""

    agency_return = models.OneToOneField(Section11Return, on_delete=models.CASCADE, related_name="challenge")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who opened, moved and closed it, and who tried to close it too late, each with the reason.
    history = HistoricalRecords()

    class Meta:
        verbose_name = "section 11 challenge"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.agency_return.get_absolute_url()
