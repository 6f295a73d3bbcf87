from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from ..transitions import rule
from .agencies import Agency


class Theme(models.Model):
    """A strategic priority or theme that work serves, e.g. Neglect, Voice of the child."""

    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A business plan or improvement plan: a source of actions, like an audit or a review."""

    name = models.CharField(max_length=200, unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("import_plan", "Can import and export action plans")]

    def __str__(self) -> str:
        return self.name


class PlanUpload(models.Model):
    """A plan file held between its preview and the import the person confirms; nothing is imported
    from it until then. A big file is imported by a worker, and this row is its progress and result."""

    class Status(models.TextChoices):
        HELD = "held", "Waiting for you to import it"
        QUEUED = "queued", "Waiting for a worker"
        CHECKING = "checking", "Checking the rows"
        SAVING = "saving", "Saving every row (all or nothing)"
        DONE = "done", "Imported"
        FAILED = "failed", "Not imported"

    name = models.CharField(max_length=255)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    source = models.CharField(max_length=200, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    rows = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    # The import's summary (ImportResult.summary()), or why it stopped.
    result = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class Recommendation(models.Model):
    """What a source of learning says must change; delivered by one or more actions."""

    text = models.TextField()
    reference = models.CharField(max_length=50, blank=True)
    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, null=True, blank=True)
    # The chair of the group that owns the source: second rung of the escalation ladder.
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["reference", "id"]
        indexes = [models.Index(fields=["source_type", "source_id"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.text[:80]}".strip()


class RAG(models.TextChoices):
    """The business plan's own definitions (seed 001)."""

    RED = "red", "Red"
    AMBER = "amber", "Amber"
    GREEN = "green", "Green"
    GREY = "grey", "Grey (complete)"
    NO_DATE = "no_date", "No due date"


class ActionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    AGREED = "agreed", "Agreed"
    IN_PROGRESS = "in_progress", "In progress"
    AWAITING_SIGN_OFF = "awaiting_sign_off", "Awaiting sign-off"
    COMPLETED = "completed", "Completed"
    IMPACT_CONFIRMED = "impact_confirmed", "Impact confirmed"
    IMPACT_NOT_EVIDENCED = "impact_not_evidenced", "Impact not evidenced"
    DISCONTINUED = "discontinued", "Discontinued"


OPEN_STATES = [
    ActionState.DRAFT,
    ActionState.AGREED,
    ActionState.IN_PROGRESS,
    ActionState.AWAITING_SIGN_OFF,
]
CLOSED_STATES = [s for s in ActionState if s not in OPEN_STATES]


def _is_owner(action: Action, user: Any) -> bool:
    return action.owner_id is not None and action.owner_id == user.pk


def _leads_agency(action: Action, user: Any) -> bool:
    person = getattr(user, "person", None)
    return (
        user.has_perm("workflows.view_agency_work")
        and person is not None
        and action.agency_id is not None
        and person.agency_id == action.agency_id
    )


@rule("only the owner, their agency lead or a manager may work on this action")
def may_work_on(action: Action, user: Any) -> bool:
    return (
        # Seeing every agency's work (the executive, auditors) is not working on it.
        _is_owner(action, user)
        or _leads_agency(action, user)
        or user.has_perm("workflows.work_on_all_agencies")
    )


@rule("only the agency lead or a manager may agree an action")
def may_agree(action: Action, user: Any) -> bool:
    return user.has_perm("workflows.agree_action") and (
        user.has_perm("workflows.view_all_agencies") or _leads_agency(action, user)
    )


# Four eyes (that the owner never decides) is the door's, declared on each decision's transition below.
@rule("only a manager who is not the action's owner may sign it off")
def may_sign_off(action: Action, user: Any) -> bool:
    return bool(user.has_perm("workflows.sign_off_action"))


@rule("only a manager may discontinue an action")
def may_discontinue(action: Action, user: Any) -> bool:
    return bool(user.has_perm("workflows.discontinue_action"))


@rule("only a manager who is not the action's owner may record its impact")
def may_record_impact(action: Action, user: Any) -> bool:
    return bool(user.has_perm("workflows.record_impact"))


SIGN_OFF_OWN = "you cannot sign off an action you own: a manager who is not the action's owner must"
IMPACT_OWN = (
    "you cannot record the impact of an action you own: only a manager who is not the action's owner may "
    "record its impact"
)


@rule("only an auditor or manager, or the lead of the action's agency, may reopen an action")
def may_reopen(action: Action, user: Any) -> bool:
    return user.has_perm("workflows.reopen_action") and (
        user.has_perm("workflows.view_all_agencies") or _leads_agency(action, user)
    )


@rule("only a manager may import a plan")
def may_import(action: Action, user: Any) -> bool:
    return bool(user.has_perm("workflows.import_plan"))


@rule("the owner is required")
def has_owner(action: Action) -> bool:
    return action.owner_id is not None


@rule("the due date is required")
def has_due_date(action: Action) -> bool:
    return action.due_on is not None


@rule("evidence is required before an action can be submitted for sign-off")
def has_evidence(action: Action) -> bool:
    return action.evidence.exists()


class Action(ConcurrentTransitionMixin, models.Model):
    """An owned, dated, SMART piece of work that delivers a recommendation.

    State changes only through workflows.transitions.transition_perform.
    """

    class Priority(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    recommendation = models.ForeignKey(Recommendation, on_delete=models.PROTECT, related_name="actions")
    reference = models.CharField(max_length=50, blank=True)
    description = models.TextField(help_text="Specific, measurable, achievable, relevant and time-bound.")
    outcome_measure = models.TextField(blank=True)
    difference_for_children = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    # Who a plan says is responsible when that is a group rather than a person ("Neglect subgroup").
    responsible_group = models.CharField(max_length=300, blank=True)
    due_on = models.DateField(null=True, blank=True)
    # The due date first agreed; extensions move due_on and leave this alone.
    original_due_on = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, null=True, blank=True)
    state = FSMField(default=ActionState.DRAFT, choices=ActionState.choices, protected=True, db_index=True)
    reported_rag = models.CharField(max_length=10, choices=RAG.choices, blank=True)
    follow_up_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    # Columns of an imported plan that have no field here, as the plan had them, so nothing is dropped
    # and an export gives them back.
    extra_columns = models.JSONField(default=dict, blank=True)
    # Set by the daily chase from days overdue (0 none, 1-3 the rungs of the ladder).
    # How often sign-off sent the action back: a reopened action is chased afresh.
    reopened_count = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    last_progress_on = models.DateField(null=True, blank=True)
    agreed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_on = models.DateField(null=True, blank=True)
    impact_check_on = models.DateField(null=True, blank=True)
    impact_recorded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        permissions = [
            ("agree_action", "Can agree an action"),
            ("sign_off_action", "Can sign off an action's completion"),
            ("discontinue_action", "Can discontinue an action"),
            ("decide_extension", "Can approve or refuse an extension"),
            ("record_impact", "Can record whether an action made a difference"),
            ("reopen_action", "Can reopen a completed action that a check found not done"),
        ]
        indexes = [
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["agency", "state", "due_on"]),
            models.Index(fields=["owner", "state", "due_on"]),
            # The overdue queue's orders (oversight.queue.SORTS), each over open actions only and ending
            # in the id, so a page can start after any item (keyset paging) and stay an index range;
            # an agency lead's queue is always one agency's.
            models.Index(
                fields=["due_on", "id"], condition=models.Q(state__in=OPEN_STATES), name="action_open_due"
            ),
            models.Index(
                fields=["agency", "due_on", "id"],
                condition=models.Q(state__in=OPEN_STATES),
                name="action_open_agency_due",
            ),
            models.Index(
                fields=["reference", "id"], condition=models.Q(state__in=OPEN_STATES), name="action_open_ref"
            ),
            # What left the exception report since a reader last read it, and completions per month.
            models.Index(fields=["completed_on"], name="action_completed_on"),
            models.Index(fields=["closed_at"], name="action_closed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.description[:80]}".strip()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def may_be_deleted(self) -> bool:
        """Only a draft: once agreed an action is part of the record, and is discontinued instead."""
        return self.state == ActionState.DRAFT

    def is_party(self, user: Any) -> bool:
        """The owner works on the action and never decides it (four eyes)."""
        return _is_owner(self, user)

    # Transition methods hold only the state change and its milestone fields; transition_perform checks
    # permission and conditions, saves and logs.

    @transition(
        field=state,
        source=ActionState.DRAFT,
        target=ActionState.AGREED,
        conditions=[has_owner, has_due_date],
        permission=may_agree,
        custom={"label": "Agree"},
    )
    def agree(self, **_: Any) -> None:
        self.agreed_at = timezone.now()
        if self.original_due_on is None:
            self.original_due_on = self.due_on

    @transition(
        field=state,
        source=ActionState.AGREED,
        target=ActionState.IN_PROGRESS,
        permission=may_work_on,
        custom={"label": "Start work"},
    )
    def start(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=ActionState.IN_PROGRESS,
        target=ActionState.AWAITING_SIGN_OFF,
        conditions=[has_evidence],
        permission=may_work_on,
        custom={"label": "Submit for sign-off"},
    )
    def submit_for_sign_off(self, **_: Any) -> None:
        self.submitted_at = timezone.now()

    @transition(
        field=state,
        source=ActionState.AWAITING_SIGN_OFF,
        target=ActionState.COMPLETED,
        permission=may_sign_off,
        custom={"label": "Sign off as complete", "four_eyes": SIGN_OFF_OWN},
    )
    def sign_off(self, *, actor: Any, **_: Any) -> None:
        now = timezone.now()
        self.signed_off_at = now
        self.signed_off_by = actor
        self.completed_on = timezone.localdate(now)
        self.impact_check_on = self.completed_on + dt.timedelta(days=settings.FOLLOWTHROUGH_IMPACT_CHECK_DAYS)

    @transition(
        field=state,
        source=ActionState.AWAITING_SIGN_OFF,
        target=ActionState.IN_PROGRESS,
        permission=may_sign_off,
        custom={
            "four_eyes": SIGN_OFF_OWN,
            "label": "Reject and return to owner",
            "comment_required": "a reason for rejecting is required",
        },
    )
    def reject(self, **_: Any) -> None:
        self.submitted_at = None
        self.reopened_count += 1

    @transition(
        field=state,
        source=ActionState.COMPLETED,
        target=ActionState.IMPACT_CONFIRMED,
        permission=may_record_impact,
        custom={
            "four_eyes": IMPACT_OWN,
            "label": "Confirm impact",
            "comment_required": "say what shows that practice changed (for example a re-audit)",
        },
    )
    def confirm_impact(self, **_: Any) -> None:
        self.impact_recorded_at = timezone.now()
        self.closed_at = self.impact_recorded_at

    @transition(
        field=state,
        source=ActionState.COMPLETED,
        target=ActionState.IMPACT_NOT_EVIDENCED,
        permission=may_record_impact,
        custom={
            "four_eyes": IMPACT_OWN,
            "label": "Record impact not evidenced (opens a follow-up action)",
            "comment_required": "say why the impact is not evidenced",
        },
    )
    def record_impact_not_evidenced(self, **_: Any) -> None:
        self.impact_recorded_at = timezone.now()
        self.closed_at = self.impact_recorded_at

    @transition(
        field=state,
        source=ActionState.DRAFT,
        target=ActionState.COMPLETED,
        permission=may_import,
        custom={"label": "Imported as complete (not signed off here)", "internal": True},
    )
    def import_as_completed(self, **_: Any) -> None:
        # The plan said it was done before it came here: nobody here signed it off, and no impact check is
        # scheduled for work this system never saw.
        pass

    @transition(
        field=state,
        source=[ActionState.COMPLETED, ActionState.IMPACT_CONFIRMED],
        target=ActionState.IN_PROGRESS,
        permission=may_reopen,
        custom={
            "label": "Reopen: not done after all",
            "comment_required": "say what a check found still to be done",
        },
    )
    def reopen(self, *, due_on: dt.date | None = None, **_: Any) -> None:
        # Sign-off and impact belong to the completion that turned out not to hold; history keeps them.
        self.signed_off_at = self.signed_off_by = self.submitted_at = None
        self.completed_on = self.impact_check_on = self.impact_recorded_at = self.closed_at = None
        if due_on is not None:
            self.due_on = due_on
        # A reopened action is chased afresh, from its new due date.
        self.reopened_count += 1

    @transition(
        field=state,
        source=OPEN_STATES,
        target=ActionState.DISCONTINUED,
        permission=may_discontinue,
        custom={
            "four_eyes": "you cannot discontinue an action you own: another manager must",
            "label": "Discontinue",
            "comment_required": "a rationale is required to discontinue an action",
        },
    )
    def discontinue(self, **_: Any) -> None:
        self.closed_at = timezone.now()


# The change reason of the action's save that a progress note makes: the note itself says what it set.
PROGRESS_UPDATE = "Progress update"


class ProgressNote(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="progress_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField()
    reported_rag = models.CharField(max_length=10, choices=RAG.choices, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Progress on action {self.action_id}"


def evidence_path(instance: Evidence, filename: str) -> str:
    # The original name is kept in a field; the stored name carries no user text.
    return f"evidence/{instance.action_id}/{timezone.now():%Y%m%d%H%M%S%f}"


class Evidence(models.Model):
    """A file or a link that shows an action was done. Files are only served through a scoped view."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="evidence")
    description = models.CharField(max_length=300)
    file = models.FileField(upload_to=evidence_path, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    url = models.URLField(blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(file="") | ~models.Q(url=""), name="evidence_has_file_or_link"
            )
        ]

    def __str__(self) -> str:
        return self.description


class RequestDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


def decide_refusal(request: ActionRequest, user: Any) -> str | None:
    """Why ``user`` may not decide ``request``, or None if they may: only a manager, and never on their
    own action nor on a request they made (someone else decides)."""
    if not user.is_authenticated or not user.has_perm(request.decide_permission):
        return "only a manager may decide this request"
    if request.action.is_party(user):
        return "you cannot decide a request on your own action: another manager must"
    if request.requested_by_id == user.pk:
        return "you cannot decide a request you asked for yourself: another manager must"
    return None


@rule("only a manager who neither owns the action nor asked for this may decide it")
def may_decide(request: ActionRequest, user: Any) -> bool:
    return decide_refusal(request, user) is None


@rule("the action is no longer open: nothing about it can change now")
def action_still_open(request: ActionRequest) -> bool:
    return request.action.state in OPEN_STATES


class ActionRequest(models.Model):
    """Something asked of a manager about an agreed action (more time, new wording), decided once.

    The decision changes only through workflows.transitions.transition_perform, so it is locked,
    re-checked, logged, and a second decision on a decided request is refused.
    """

    Decision = RequestDecision
    # The permission that lets a manager decide this kind of request.
    decide_permission: str

    # Declared by each kind of request with its own related name.
    action: models.ForeignKey[Action, Action]
    action_id: int
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decision = FSMField(default=RequestDecision.PENDING, choices=RequestDecision.choices, max_length=10)
    decision_comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def _decided(self, actor: Any, comment: str) -> None:
        self.decided_by = actor
        self.decided_at = timezone.now()
        self.decision_comment = comment.strip()


def decision_transitions(noun: str) -> tuple[Callable[..., None], Callable[..., None]]:
    """A kind of request's two decisions, labelled with what it asks for (``noun``)."""

    @transition(
        field="decision",
        source=RequestDecision.PENDING,
        target=RequestDecision.APPROVED,
        conditions=[action_still_open],
        permission=may_decide,
        custom={"label": f"Approve the {noun}"},
    )
    def approve(self: ActionRequest, *, actor: Any, comment: str = "", **_: Any) -> None:
        self._decided(actor, comment)

    @transition(
        field="decision",
        source=RequestDecision.PENDING,
        target=RequestDecision.REFUSED,
        permission=may_decide,
        custom={"label": f"Refuse the {noun}", "comment_required": f"say why the {noun} is refused"},
    )
    def refuse(self: ActionRequest, *, actor: Any, comment: str = "", **_: Any) -> None:
        self._decided(actor, comment)

    return approve, refuse


class ExtensionRequest(ActionRequest):
    """An owner asks for a new due date; a manager approves (the due date moves) or refuses."""

    decide_permission = "workflows.decide_extension"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="extension_requests")
    current_due_on = models.DateField(null=True, blank=True)
    requested_due_on = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action"],
                condition=models.Q(decision="pending"),
                name="one_pending_extension_per_action",
            )
        ]

    def __str__(self) -> str:
        return f"Extension of action {self.action_id} to {self.requested_due_on}"

    # The due date moves in the effect workflows.services.actions registers for "approve".
    approve, refuse = decision_transitions("extension")


# An agreed action's commitment: what a change request may change.
WORDING_FIELDS = ("description", "outcome_measure", "difference_for_children")


class ActionChangeRequest(ActionRequest):
    """Once agreed, an action's SMART description, outcome measure and difference for children are a
    commitment: someone working on it asks for new wording, with a reason, and a manager who is neither
    the action's owner nor the one who asked approves (the new text replaces the old) or refuses. The
    old text is kept here as it was when asked."""

    decide_permission = "workflows.decide_change_request"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="change_requests")
    old_description = models.TextField()
    new_description = models.TextField()
    old_outcome_measure = models.TextField(blank=True)
    new_outcome_measure = models.TextField(blank=True)
    old_difference_for_children = models.TextField(blank=True)
    new_difference_for_children = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "change request"
        permissions = [("decide_change_request", "Can approve or refuse a change to an agreed action")]
        constraints = [
            models.UniqueConstraint(
                fields=["action"],
                condition=models.Q(decision="pending"),
                name="one_pending_change_per_action",
            )
        ]

    def __str__(self) -> str:
        return f"Change to the wording of action {self.action_id}"

    def changes(self) -> list[tuple[str, str, str]]:
        """(field's label, old text, new text) for each field the request changes."""
        return [
            (
                str(Action._meta.get_field(name).verbose_name).capitalize(),
                getattr(self, f"old_{name}"),
                getattr(self, f"new_{name}"),
            )
            for name in WORDING_FIELDS
            if getattr(self, f"old_{name}") != getattr(self, f"new_{name}")
        ]

    # The new wording is applied in the effect workflows.services.actions registers for "approve".
    approve, refuse = decision_transitions("change")
