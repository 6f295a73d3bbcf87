"""Single-agency case audits: a case is graded, its shortfalls get remedial actions, and someone other than
the case's worker checks that each was addressed before it closes ("identified, addressed and checked")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from workflows.models import OPEN_STATES, Action, Agency, Recommendation
from workflows.transitions import rule
from workflows.validators import Grade, validate_case_reference


class CaseAuditState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    GRADED = "graded", "Graded"
    REMEDIAL_ACTIONS = "remedial_actions", "Remedial actions"
    FOLLOW_UP_CHECK = "follow_up_check", "Follow-up check"
    CLOSED = "closed", "Closed"


def _audits_for_agency(case_audit: CaseAudit, user: Any) -> bool:
    person = getattr(user, "person", None)
    return user.has_perm("audits.progress_case_audit") and (
        user.has_perm("workflows.view_all_agencies")
        or (person is not None and person.agency_id == case_audit.agency_id)
    )


@rule("only an auditor of the case's agency, or a partnership auditor or manager, may progress a case audit")
def may_progress_case_audit(case_audit: CaseAudit, user: Any) -> bool:
    return _audits_for_agency(case_audit, user)


# That the checker is not a party to the case is four eyes, the door's: see CaseAudit.is_party.
@rule("the follow-up check must be done by an auditor who is not the case's worker")
def may_check(case_audit: CaseAudit, user: Any) -> bool:
    return _audits_for_agency(case_audit, user)


CHECK_OWN = (
    "you cannot make the follow-up check of a case you work on or whose remedial action you own: it must be "
    "done by an auditor who is not the case's worker"
)


@rule("give the case a grade before recording it as graded")
def has_grade(case_audit: CaseAudit) -> bool:
    return bool(case_audit.grade)


@rule("every shortfall needs a remedial action before the remedial actions stage")
def every_shortfall_has_action(case_audit: CaseAudit) -> bool:
    shortfalls = case_audit.shortfalls.all()
    return shortfalls.exists() and not shortfalls.filter(action__isnull=True).exists()


@rule("the case audit found shortfalls: they need remedial actions before it can close")
def has_no_shortfalls(case_audit: CaseAudit) -> bool:
    return not case_audit.shortfalls.exists()


@rule("every remedial action must be completed before the follow-up check")
def remedial_actions_done(case_audit: CaseAudit) -> bool:
    return not case_audit.shortfalls.filter(action__state__in=OPEN_STATES).exists()


@rule("every shortfall must be checked and confirmed as addressed before the case audit closes")
def all_addressed(case_audit: CaseAudit) -> bool:
    return not case_audit.shortfalls.exclude(addressed=True).exists()


@rule("every shortfall was addressed: close the case audit instead")
def some_not_addressed(case_audit: CaseAudit) -> bool:
    return case_audit.shortfalls.filter(addressed=False).exists()


class CaseAudit(ConcurrentTransitionMixin, models.Model):
    """One case file audited within one agency. State changes only through transition_perform."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="case_audits")
    case_reference = models.CharField(max_length=30, validators=[validate_case_reference])
    # The practitioner who holds the case: never the one who checks that its shortfalls were addressed.
    case_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scheduled_for = models.DateField()
    grade = models.CharField(max_length=30, choices=Grade.choices, blank=True)
    summary = models.TextField(blank=True)
    graded_on = models.DateField(null=True, blank=True)
    follow_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    follow_up_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    state = FSMField(
        default=CaseAuditState.SCHEDULED, choices=CaseAuditState.choices, protected=True, db_index=True
    )
    recommendations = GenericRelation(
        Recommendation,
        content_type_field="source_type",
        object_id_field="source_id",
        related_query_name="case_audit",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        permissions = [("progress_case_audit", "Can carry out single-agency case audits")]
        indexes = [models.Index(fields=["agency", "graded_on"])]

    def __str__(self) -> str:
        return f"Case audit {self.case_reference} ({self.agency})"

    def get_absolute_url(self) -> str:
        return reverse("case-audit-detail", args=[self.pk])

    def is_party(self, user: Any) -> bool:
        """The case's worker and the owners of its remedial actions never check that the shortfalls were
        addressed: "identified, addressed and checked" by someone else (four eyes)."""
        return self.case_worker_id == user.pk or self.shortfalls.filter(action__owner_id=user.pk).exists()

    @transition(
        field=state,
        source=CaseAuditState.SCHEDULED,
        target=CaseAuditState.IN_PROGRESS,
        permission=may_progress_case_audit,
        custom={"label": "Start the audit"},
    )
    def start(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CaseAuditState.IN_PROGRESS,
        target=CaseAuditState.GRADED,
        conditions=[has_grade],
        permission=may_progress_case_audit,
        custom={"label": "Record the grade"},
    )
    def record_grade(self, **_: Any) -> None:
        self.graded_on = timezone.localdate()

    @transition(
        field=state,
        source=CaseAuditState.GRADED,
        target=CaseAuditState.REMEDIAL_ACTIONS,
        conditions=[every_shortfall_has_action],
        permission=may_progress_case_audit,
        custom={"label": "Set the remedial actions going"},
    )
    def set_remedial_actions(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CaseAuditState.GRADED,
        target=CaseAuditState.CLOSED,
        conditions=[has_no_shortfalls],
        permission=may_progress_case_audit,
        custom={"label": "Close: no shortfalls found", "quiet": True},
    )
    def close_without_shortfalls(self, **_: Any) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=CaseAuditState.REMEDIAL_ACTIONS,
        target=CaseAuditState.FOLLOW_UP_CHECK,
        conditions=[remedial_actions_done],
        permission=may_progress_case_audit,
        custom={"label": "Start the follow-up check"},
    )
    def start_follow_up(self, **_: Any) -> None:
        pass

    @transition(
        field=state,
        source=CaseAuditState.FOLLOW_UP_CHECK,
        target=CaseAuditState.CLOSED,
        conditions=[all_addressed],
        permission=may_check,
        custom={"label": "Close: every shortfall addressed", "quiet": True, "four_eyes": CHECK_OWN},
    )
    def close(self, *, actor: Any, **_: Any) -> None:
        self.follow_up_by = actor
        self.follow_up_at = self.closed_at = timezone.now()

    @transition(
        field=state,
        source=CaseAuditState.FOLLOW_UP_CHECK,
        target=CaseAuditState.REMEDIAL_ACTIONS,
        conditions=[some_not_addressed],
        permission=may_check,
        custom={
            "four_eyes": CHECK_OWN,
            "quiet": True,
            "label": "Return to remedial actions",
            "comment_required": "say what the follow-up check found",
        },
    )
    def return_to_remedial_actions(self, *, actor: Any, **_: Any) -> None:
        self.follow_up_by = actor
        self.follow_up_at = timezone.now()


class Shortfall(models.Model):
    """A shortfall the case audit found: a recommendation of the audit, delivered by one remedial action."""

    case_audit = models.ForeignKey(CaseAudit, on_delete=models.CASCADE, related_name="shortfalls")
    description = models.TextField()
    recommendation = models.OneToOneField(Recommendation, on_delete=models.PROTECT, related_name="shortfall")
    action = models.OneToOneField(
        Action, on_delete=models.PROTECT, null=True, blank=True, related_name="shortfall"
    )
    # Set by the follow-up check: None until checked.
    addressed = models.BooleanField(null=True, blank=True)
    check_comment = models.TextField(blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description[:80]
