"""Writes on multi-agency audits and their returns. Each service is one transaction and refuses bad input
with a ValidationError (or PermissionDenied) that says why, changing nothing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from workflows.models import Action, Agency, Recommendation, Theme
from workflows.selectors import has_agency_lead
from workflows.services import save_checked
from workflows.services.actions import action_create, recommendation_create
from workflows.transitions import register_effect, transition_perform

from ..models import AgencyReturn, Audit, AuditCase, AuditState, Finding, Participation, ReturnState
from ..models.audits import may_complete_return


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_progress(audit: Audit, actor: User) -> None:
    _require(actor.has_perm("audits.progress_audit"), "only an auditor or a manager may change an audit")


def _require_state(audit: Audit, states: list[AuditState], doing: str) -> None:
    if audit.state not in states:
        raise ValidationError(
            f"{doing[0].upper()}{doing[1:]} is not possible while the audit is at the "
            f"{audit.get_state_display().lower()} stage"
        )


SCOPING_FIELDS = {
    "title",
    "kind",
    "theme",
    "terms_of_reference",
    "lead_auditor",
    "commissioning_group",
    "chair",
    "returns_due_on",
}
STAGE_DATES = {"scoping_due_on", "moderation_due_on", "reporting_due_on", "action_planning_due_on"}


def audit_create(*, actor: User, reference: str, title: str, **fields: Any) -> Audit:
    """Commission an audit. Only auditors and managers may."""
    _require(actor.has_perm("audits.add_audit"), "only an auditor or a manager may commission an audit")
    unknown = set(fields) - SCOPING_FIELDS - STAGE_DATES
    if unknown:
        raise ValidationError({f: "This field cannot be set here" for f in sorted(unknown)})
    audit = Audit(reference=reference.strip(), title=title.strip(), **fields)
    with transaction.atomic():
        save_checked(audit, actor)
    return audit


def audit_update(*, audit: Audit, actor: User, **changes: Any) -> Audit:
    """Change an audit's details. Scope (theme, terms, people, the returns' date) is fixed once fieldwork
    starts, so every agency answers the same question by the same date; stage dates can move until it ends."""
    _require_progress(audit, actor)
    unknown = set(changes) - SCOPING_FIELDS - STAGE_DATES
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    if set(changes) & SCOPING_FIELDS:
        _require_state(audit, [AuditState.COMMISSIONED, AuditState.SCOPING], "changing the audit's scope")
    if audit.state in (AuditState.CLOSED, AuditState.CANCELLED):
        raise ValidationError("The audit has ended: its details can no longer change")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(audit, name, value)
        save_checked(audit, actor)
    return audit


def audit_add_case(*, audit: Audit, actor: User, reference: str) -> AuditCase:
    """Add a case to the sample by its pseudonymised reference, while the audit is being scoped."""
    _require_progress(audit, actor)
    _require_state(audit, [AuditState.COMMISSIONED, AuditState.SCOPING], "adding a case")
    case = AuditCase(audit=audit, reference=reference.strip())
    if AuditCase.objects.filter(audit=audit, reference=case.reference).exists():
        raise ValidationError({"reference": f"Case {case.reference} is already in this audit's sample"})
    with transaction.atomic():
        save_checked(case, actor)
    return case


def audit_add_agency(
    *, audit: Audit, actor: User, agency: Agency, contact: User | None = None
) -> Participation:
    """Add a participating agency and who completes its returns (that agency's own person), while scoping."""
    _require_progress(audit, actor)
    _require_state(audit, [AuditState.COMMISSIONED, AuditState.SCOPING], "adding an agency")
    if contact is not None and getattr(getattr(contact, "person", None), "agency_id", None) != agency.pk:
        raise ValidationError({"contact": f"The person completing the returns must work for {agency}"})
    if audit.participations.filter(agency=agency).exists():
        raise ValidationError({"agency": f"{agency} is already taking part"})
    if contact is None and not has_agency_lead(agency):
        raise ValidationError({"contact": f"{agency} has no agency lead: name who completes its returns"})
    participation = Participation(audit=audit, agency=agency, contact=contact)
    with transaction.atomic():
        save_checked(participation, actor)
    return participation


@register_effect(Audit, "start_fieldwork")
def _open_returns(audit: Audit, *, actor: User, comment: str, arguments: dict[str, Any]) -> None:
    """Fieldwork: every participating agency owes a return for every case, by the returns' date."""
    assert audit.returns_due_on is not None
    bulk_create_with_history(
        [
            AgencyReturn(
                case=case,
                agency=participation.agency,
                owner=participation.contact,
                due_on=audit.returns_due_on,
                title=f"{audit.reference} audit return for case {case.reference} ({participation.agency})",
            )
            for case in audit.cases.all()
            for participation in audit.participations.select_related("agency")
        ],
        AgencyReturn,
        default_user=actor,
        default_change_reason="Owed from the start of fieldwork",
    )


@register_effect(Audit, "override_to_moderation")
def _close_outstanding_returns(audit: Audit, *, actor: User, comment: str, arguments: dict[str, Any]) -> None:
    """Each return moderation goes ahead without is recorded as not received, with the manager's reason,
    and stops being chased."""
    for agency_return in AgencyReturn.objects.filter(case__audit=audit, state=ReturnState.OWED):
        transition_perform(obj=agency_return, name="mark_not_received", actor=actor, comment=comment)


def return_save(
    *, agency_return: AgencyReturn, actor: User, submit: bool = False, **answers: Any
) -> AgencyReturn:
    """Save an agency's answers to its return and, with ``submit``, submit it: both or neither."""
    _require(may_complete_return(agency_return, actor), may_complete_return.message)
    unknown = set(answers) - {*AgencyReturn.ANSWERS, "own_grade"}
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    if agency_return.state != ReturnState.OWED or agency_return.case.audit.state != AuditState.FIELDWORK:
        raise ValidationError(
            "This return can no longer be changed: it has been submitted or fieldwork is over"
        )
    with transaction.atomic():
        for name, value in answers.items():
            setattr(agency_return, name, value)
        save_checked(agency_return, actor)
        if submit:
            transition_perform(obj=agency_return, name="submit", actor=actor)
    return agency_return


def case_moderate(*, case: AuditCase, actor: User, agreed_grade: str, grade_reasons: str = "") -> AuditCase:
    """Record the grade moderation agreed for a case; where it differs from an agency's own grade, the
    reasons are required, so the record says why."""
    _require_progress(case.audit, actor)
    _require_state(case.audit, [AuditState.MODERATION], "moderating a grade")
    differing = sorted(
        str(r.agency)
        for r in case.returns.filter(state=ReturnState.SUBMITTED).select_related("agency")
        if r.own_grade != agreed_grade
    )
    if differing and not grade_reasons.strip():
        raise ValidationError(
            {
                "grade_reasons": "Say why the agreed grade differs from the grade given by "
                + ", ".join(differing)
            }
        )
    case.agreed_grade, case.grade_reasons = agreed_grade, grade_reasons.strip()
    case.moderated_by, case.moderated_at = actor, timezone.now()
    with transaction.atomic():
        save_checked(case, actor)
    return case


def finding_add(*, audit: Audit, actor: User, text: str, kind: str = Finding.Kind.IMPROVEMENT) -> Finding:
    _require_progress(audit, actor)
    _require_state(audit, [AuditState.REPORTING], "recording a finding")
    if not text.strip():
        raise ValidationError({"text": "Enter the finding"})
    finding = Finding(audit=audit, text=text.strip(), kind=kind, recorded_by=actor)
    with transaction.atomic():
        save_checked(finding, actor)
    return finding


def audit_add_recommendation(
    *, audit: Audit, actor: User, text: str, reference: str = "", theme: Theme | None = None
) -> Recommendation:
    """A recommendation of the audit, escalated (second rung) to the chair of the commissioning group."""
    _require_progress(audit, actor)
    _require_state(audit, [AuditState.REPORTING, AuditState.ACTION_PLANNING], "adding a recommendation")
    if audit.no_recommendations:
        raise ValidationError(
            "The audit records that no recommendations are needed: withdraw that decision first"
        )
    with transaction.atomic():
        recommendation = recommendation_create(
            actor=actor, text=text, reference=reference, source=audit, theme=theme or audit.theme
        )
        recommendation.chair = audit.chair
        recommendation.save(update_fields=["chair"])
    return recommendation


def audit_decide_no_recommendations(*, audit: Audit, actor: User, decided: bool, reason: str = "") -> Audit:
    """Record (or withdraw) the explicit decision that the audit makes no recommendations, with its reason."""
    _require_progress(audit, actor)
    _require_state(audit, [AuditState.REPORTING, AuditState.ACTION_PLANNING], "deciding on recommendations")
    if decided and audit.recommendations.exists():
        raise ValidationError("The audit already has recommendations")
    if decided and not reason.strip():
        raise ValidationError({"reason": "Say why the audit needs no recommendations"})
    audit.no_recommendations, audit.no_recommendations_reason = decided, reason.strip() if decided else ""
    with transaction.atomic():
        save_checked(audit, actor)
    return audit


def audit_add_action(*, audit: Audit, recommendation: Recommendation, actor: User, **fields: Any) -> Action:
    """A draft action for one of the audit's recommendations, while actions are planned or monitored."""
    _require_state(audit, [AuditState.ACTION_PLANNING, AuditState.MONITORING], "adding an action")
    if not audit.recommendations.filter(pk=recommendation.pk).exists():
        raise ValidationError("That recommendation is not one of this audit's")
    return action_create(actor=actor, recommendation=recommendation, **fields)
