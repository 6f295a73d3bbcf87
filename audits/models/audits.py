"""Multi-agency audits (thematic audits and multi-agency case evaluations) and the returns agencies owe."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from workflows.models import Agency, Recommendation, Theme
from workflows.selectors import open_actions_of, recommendations_without_agreed_action
from workflows.transitions import rule
from workflows.validators import Grade, validate_case_reference


class AuditState(models.TextChoices):
    COMMISSIONED = "commissioned", "Commissioned"
    SCOPING = "scoping", "Scoping"
    FIELDWORK = "fieldwork", "Fieldwork"
    MODERATION = "moderation", "Moderation"
    REPORTING = "reporting", "Reporting"
    ACTION_PLANNING = "action_planning", "Action planning"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


CANCELLABLE_STATES = [
    AuditState.COMMISSIONED,
    AuditState.SCOPING,
    AuditState.FIELDWORK,
    AuditState.MODERATION,
    AuditState.REPORTING,
    AuditState.ACTION_PLANNING,
]


@rule("only an auditor or a manager may progress an audit")
def may_progress(audit: Audit, user: Any) -> bool:
    return bool(user.has_perm("audits.progress_audit"))


@rule("only a manager may move to moderation while returns are outstanding")
def may_override_moderation(audit: Audit, user: Any) -> bool:
    return bool(user.has_perm("audits.override_moderation"))


@rule("fieldwork needs at least one case in the sample and at least two participating agencies")
def has_sample(audit: Audit) -> bool:
    return audit.cases.exists() and audit.participations.count() >= 2


@rule("set the date the agencies' returns are due before fieldwork starts")
def has_returns_due_date(audit: Audit) -> bool:
    return audit.returns_due_on is not None


@rule(
    "returns are still outstanding: wait for them, or a manager can move to moderation "
    "without them and say why"
)
def no_returns_outstanding(audit: Audit) -> bool:
    return not AgencyReturn.objects.filter(case__audit=audit, state=ReturnState.OWED).exists()


@rule("every return is in: move to moderation in the usual way")
def returns_outstanding(audit: Audit) -> bool:
    return not no_returns_outstanding(audit)


@rule("every case needs an agreed grade before reporting")
def every_case_graded(audit: Audit) -> bool:
    return not audit.cases.filter(agreed_grade="").exists()


@rule("record at least one finding, or decide that there are no recommendations, before action planning")
def has_findings_or_decision(audit: Audit) -> bool:
    return audit.no_recommendations or audit.findings.exists()


@rule("add the recommendations, or record the decision that there are none, before monitoring")
def has_recommendations_or_decision(audit: Audit) -> bool:
    return audit.no_recommendations or audit.recommendations.exists()


@rule("every recommendation needs at least one agreed action with an owner and a due date before monitoring")
def every_recommendation_has_agreed_action(audit: Audit) -> bool:
    return not recommendations_without_agreed_action(audit.recommendations.all()).exists()


@rule("the audit cannot close while actions are open: each must be completed, impact checked or discontinued")
def no_open_actions(audit: Audit) -> bool:
    return not open_actions_of(audit.recommendations.all()).exists()


class Audit(ConcurrentTransitionMixin, models.Model):
    """A multi-agency audit, from commissioning to closing. State changes only through transition_perform."""

    class Kind(models.TextChoices):
        THEMATIC = "thematic", "Thematic audit"
        CASE_EVALUATION = "case_evaluation", "Multi-agency case evaluation"
        DESKTOP = "desktop", "Desktop audit"

    reference = models.CharField(max_length=30, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.THEMATIC)
    theme = models.ForeignKey(
        Theme, on_delete=models.PROTECT, null=True, blank=True, verbose_name="theme or strategic priority"
    )
    terms_of_reference = models.TextField(blank=True)
    lead_auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    commissioning_group = models.CharField(max_length=200, blank=True)
    # The chair of the commissioning group: the second rung of escalation for this audit's returns and
    # for the actions of its recommendations.
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agencies = models.ManyToManyField(Agency, through="Participation", related_name="audits")
    scoping_due_on = models.DateField("scoping due", null=True, blank=True)
    returns_due_on = models.DateField("agency returns due", null=True, blank=True)
    moderation_due_on = models.DateField("moderation due", null=True, blank=True)
    reporting_due_on = models.DateField("report due", null=True, blank=True)
    action_planning_due_on = models.DateField("action plan due", null=True, blank=True)
    no_recommendations = models.BooleanField(
        "no recommendations", default=False, help_text="The audit decided that no recommendations are needed."
    )
    no_recommendations_reason = models.TextField(blank=True)
    state = FSMField(
        default=AuditState.COMMISSIONED, choices=AuditState.choices, protected=True, db_index=True
    )
    recommendations = GenericRelation(
        Recommendation,
        content_type_field="source_type",
        object_id_field="source_id",
        related_query_name="audit",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("progress_audit", "Can progress a multi-agency audit through its stages"),
            ("override_moderation", "Can move an audit to moderation while returns are outstanding"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("audit-detail", args=[self.pk])

    def is_party(self, user: Any) -> bool:
        """The audit's lead does not waive its own guards (four eyes): another manager decides that
        moderation goes ahead without the returns."""
        return self.lead_auditor_id is not None and self.lead_auditor_id == user.pk

    @property
    def stage_due_on(self) -> Any:
        """The due date of the stage the audit is in, if it has one."""
        return {
            AuditState.SCOPING: self.scoping_due_on,
            AuditState.FIELDWORK: self.returns_due_on,
            AuditState.MODERATION: self.moderation_due_on,
            AuditState.REPORTING: self.reporting_due_on,
            AuditState.ACTION_PLANNING: self.action_planning_due_on,
        }.get(AuditState(self.state))

    @property
    def is_scoping(self) -> bool:
        return self.state in (AuditState.COMMISSIONED, AuditState.SCOPING)

    @transition(
        field=state,
        source=AuditState.COMMISSIONED,
        target=AuditState.SCOPING,
        permission=may_progress,
        custom={"label": "Start scoping"},
    )
    def start_scoping(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.SCOPING,
        target=AuditState.FIELDWORK,
        conditions=[has_sample, has_returns_due_date],
        permission=may_progress,
        custom={"label": "Start fieldwork (agencies' returns become due)"},
    )
    def start_fieldwork(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.FIELDWORK,
        target=AuditState.MODERATION,
        conditions=[no_returns_outstanding],
        permission=may_progress,
        custom={"label": "Start moderation"},
    )
    def start_moderation(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.FIELDWORK,
        target=AuditState.MODERATION,
        conditions=[returns_outstanding],
        permission=may_override_moderation,
        custom={
            "four_eyes": "you lead this audit: another manager must decide that moderation goes ahead "
            "without every return",
            "quiet": True,
            "label": "Start moderation without the outstanding returns",
            "comment_required": "say why moderation goes ahead without every return",
        },
    )
    def override_to_moderation(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.MODERATION,
        target=AuditState.REPORTING,
        conditions=[every_case_graded],
        permission=may_progress,
        custom={"label": "Start reporting"},
    )
    def start_reporting(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.REPORTING,
        target=AuditState.ACTION_PLANNING,
        conditions=[has_findings_or_decision],
        permission=may_progress,
        custom={"label": "Start action planning"},
    )
    def start_action_planning(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.ACTION_PLANNING,
        target=AuditState.MONITORING,
        conditions=[has_recommendations_or_decision, every_recommendation_has_agreed_action],
        permission=may_progress,
        custom={"label": "Start monitoring the actions"},
    )
    def start_monitoring(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=AuditState.MONITORING,
        target=AuditState.CLOSED,
        conditions=[no_open_actions],
        permission=may_progress,
        custom={"label": "Close the audit"},
    )
    def close(self, **_: Any) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=CANCELLABLE_STATES,
        target=AuditState.CANCELLED,
        permission=may_progress,
        custom={"label": "Cancel the audit", "comment_required": "a reason is required to cancel an audit"},
    )
    def cancel(self, **_: Any) -> None:
        self.closed_at = timezone.now()


class Participation(models.Model):
    """An agency taking part in an audit, and the person who completes its returns."""

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="participations")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="audit_participations")
    # Who completes the agency's returns; with nobody named, the agency's leads are chased.
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["agency__name"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "agency"], name="one_participation_per_agency")
        ]

    def __str__(self) -> str:
        return f"{self.agency} in {self.audit.reference}"


class AuditCase(models.Model):
    """A case in an audit's sample, known only by its pseudonymised reference, and its moderated grade."""

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="cases")
    reference = models.CharField(max_length=30, validators=[validate_case_reference])
    agreed_grade = models.CharField(max_length=30, choices=Grade.choices, blank=True)
    # Why moderation agreed a grade that differs from an agency's own.
    grade_reasons = models.TextField(blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["reference"]
        constraints = [models.UniqueConstraint(fields=["audit", "reference"], name="one_case_per_reference")]

    def __str__(self) -> str:
        return f"{self.audit.reference} case {self.reference}"


class ReturnState(models.TextChoices):
    OWED = "owed", "Owed"
    SUBMITTED = "submitted", "Submitted"
    NOT_RECEIVED = "not_received", "Not received"


@rule("only someone from the return's agency may complete it")
def may_complete_return(agency_return: AgencyReturn, user: Any) -> bool:
    person = getattr(user, "person", None)
    return person is not None and person.agency_id == agency_return.agency_id


@rule("answer every question and give your agency's grade before submitting the return")
def return_is_complete(agency_return: AgencyReturn) -> bool:
    return all(getattr(agency_return, name).strip() for name in AgencyReturn.ANSWERS) and bool(
        agency_return.own_grade
    )


@rule("returns can be submitted only while the audit is in fieldwork")
def audit_in_fieldwork(agency_return: AgencyReturn) -> bool:
    return bool(agency_return.case.audit.state == AuditState.FIELDWORK)


class AgencyReturn(ConcurrentTransitionMixin, models.Model):
    """What one agency knew and did about one case in an audit's sample, due by a date and chased."""

    ANSWERS = ("knew", "did", "strengths", "shortfalls")

    case = models.ForeignKey(AuditCase, on_delete=models.CASCADE, related_name="returns")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="audit_returns")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_returns",
    )
    # How the return is named in digests and lists.
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    knew = models.TextField("what your agency knew", blank=True)
    did = models.TextField("what your agency did", blank=True)
    strengths = models.TextField(blank=True)
    shortfalls = models.TextField(blank=True)
    own_grade = models.CharField("your agency's grade", max_length=30, choices=Grade.choices, blank=True)
    state = FSMField(default=ReturnState.OWED, choices=ReturnState.choices, protected=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "case__reference", "agency__name"]
        constraints = [
            models.UniqueConstraint(fields=["case", "agency"], name="one_return_per_case_and_agency")
        ]
        indexes = [models.Index(fields=["agency", "state", "due_on"])]
        verbose_name = "agency return"

    def __str__(self) -> str:
        return self.title

    def is_party(self, user: Any) -> bool:
        """Anyone of the return's agency answers for it and never excuses it (four eyes)."""
        return may_complete_return(self, user)

    @transition(
        field=state,
        source=ReturnState.OWED,
        target=ReturnState.SUBMITTED,
        conditions=[audit_in_fieldwork, return_is_complete],
        permission=may_complete_return,
        custom={"label": "Submit the return"},
    )
    def submit(self, *, actor: Any, **_: Any) -> None:
        self.submitted_at = timezone.now()
        self.submitted_by = actor

    @transition(
        field=state,
        source=ReturnState.OWED,
        target=ReturnState.NOT_RECEIVED,
        permission=may_override_moderation,
        custom={
            "label": "Record as not received",
            "comment_required": "say why the return is not needed",
            "four_eyes": "you cannot record your own agency's return as not received: a manager from another "
            "agency must",
        },
    )
    def mark_not_received(self, **_: Any) -> None:
        pass


class Finding(models.Model):
    """What the audit found, recorded in reporting; recommendations follow from findings."""

    class Kind(models.TextChoices):
        STRENGTH = "strength", "Strength"
        IMPROVEMENT = "improvement", "Area for improvement"

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.IMPROVEMENT)
    text = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text[:80]
