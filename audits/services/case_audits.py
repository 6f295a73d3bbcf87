"""Writes on single-agency case audits. Each service is one transaction and refuses bad input with a
ValidationError (or PermissionDenied) that says why, changing nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from workflows.models import Action, Agency, Recommendation
from workflows.services.actions import action_create
from workflows.transitions import permission_refusal, record_refusal, transition_perform

from ..models import CaseAudit, CaseAuditState, Grade, Shortfall
from ..models.case_audits import may_progress_case_audit


def _works_for(user: User | None, agency: Agency) -> bool:
    return getattr(getattr(user, "person", None), "agency_id", None) == agency.pk


def case_audit_schedule(
    *,
    actor: User,
    agency: Agency,
    case_reference: str,
    scheduled_for: dt.date,
    case_worker: User | None = None,
    auditor: User | None = None,
) -> CaseAudit:
    """Schedule a case audit in an agency's programme; the case worker, if named, works for that agency."""
    if not actor.has_perm("audits.add_caseaudit") or not (
        actor.has_perm("workflows.view_all_agencies") or _works_for(actor, agency)
    ):
        raise PermissionDenied("only an auditor or the agency's lead may schedule a case audit for an agency")
    if case_worker is not None and not _works_for(case_worker, agency):
        raise ValidationError({"case_worker": f"The case worker must work for {agency}"})
    case_audit = CaseAudit(
        agency=agency,
        case_reference=case_reference.strip(),
        scheduled_for=scheduled_for,
        case_worker=case_worker,
        auditor=auditor or actor,
    )
    case_audit.full_clean(exclude=["state"])
    case_audit._history_user = actor  # type: ignore[attr-defined]
    case_audit.save()
    return case_audit


def case_audit_grade(
    *, case_audit: CaseAudit, actor: User, grade: str, summary: str = "", shortfalls: list[str]
) -> CaseAudit:
    """Grade the case and list its shortfalls, each becoming a recommendation of the case audit that a
    remedial action will deliver; then record it as graded."""
    if not may_progress_case_audit(case_audit, actor):
        raise PermissionDenied(may_progress_case_audit.message)
    if case_audit.state != CaseAuditState.IN_PROGRESS:
        raise ValidationError("Only a case audit in progress can be graded")
    if grade not in Grade.values:
        raise ValidationError({"grade": "Choose a grade"})
    found = [text.strip() for text in shortfalls if text.strip()]
    if grade in (Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE) and not found:
        raise ValidationError({"shortfalls": "A case graded below good needs the shortfalls that were found"})
    with transaction.atomic():
        case_audit.grade, case_audit.summary = grade, summary.strip()
        case_audit._history_user = actor  # type: ignore[attr-defined]
        case_audit.save()
        for number, text in enumerate(found, start=1):
            recommendation = Recommendation(
                text=text, reference=f"{case_audit.case_reference}-S{number}", source=case_audit
            )
            recommendation._history_user = actor  # type: ignore[attr-defined]
            recommendation.save()
            Shortfall.objects.create(case_audit=case_audit, description=text, recommendation=recommendation)
        transition_perform(obj=case_audit, name="record_grade", actor=actor)
    return case_audit


def shortfall_add_action(*, shortfall: Shortfall, actor: User, **fields: Any) -> Action:
    """The remedial action for a shortfall, owned in the case's agency; one per shortfall."""
    case_audit = shortfall.case_audit
    if case_audit.state not in (CaseAuditState.GRADED, CaseAuditState.REMEDIAL_ACTIONS):
        raise ValidationError("Remedial actions are set once the case is graded")
    if shortfall.action_id is not None:
        raise ValidationError("This shortfall already has its remedial action")
    with transaction.atomic():
        action = action_create(
            actor=actor, recommendation=shortfall.recommendation, agency=case_audit.agency, **fields
        )
        shortfall.action = action
        shortfall.save(update_fields=["action"])
    return action


@dataclass(frozen=True)
class ShortfallCheck:
    shortfall_id: int
    addressed: bool
    comment: str = ""
    # A reopened remedial action needs a date in the future to be chased against.
    new_due_on: dt.date | None = None


def case_audit_follow_up(*, case_audit: CaseAudit, actor: User, checks: list[ShortfallCheck]) -> CaseAudit:
    """Record the follow-up check of every shortfall, by someone other than the case's worker.

    Every shortfall addressed closes the case audit. A shortfall not addressed reopens its remedial action
    with a new due date and returns the case audit to remedial actions. All of it or none of it is saved.
    """
    refusal = permission_refusal(case_audit, "close", actor)
    if refusal is not None:
        raise PermissionDenied(refusal)
    if case_audit.state != CaseAuditState.FOLLOW_UP_CHECK:
        raise ValidationError("The follow-up check has not started")
    shortfalls = {s.pk: s for s in case_audit.shortfalls.select_related("action")}
    by_id = {c.shortfall_id: c for c in checks}
    if set(by_id) != set(shortfalls):
        raise ValidationError("Say for every shortfall whether it was addressed")
    today = timezone.localdate()
    errors = {}
    for pk, check in by_id.items():
        if not check.addressed and not check.comment.strip():
            errors[f"comment_{pk}"] = f"Say what is still to be done about “{shortfalls[pk]}”"
        if not check.addressed and (check.new_due_on is None or check.new_due_on <= today):
            errors[f"new_due_on_{pk}"] = f"Give a new due date in the future for “{shortfalls[pk]}”"
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        # Of two checks recorded at once, the first wins; the second is refused below, with its trace.
        locked = CaseAudit.objects.select_for_update().get(pk=case_audit.pk)
        if locked.state == CaseAuditState.FOLLOW_UP_CHECK:
            return _record_follow_up(case_audit, actor, checks, shortfalls, now)
    reason = (
        f"The follow-up check was already recorded by {_name(locked.follow_up_by)}: "
        f"the case audit is now {locked.get_state_display().lower()}"
    )
    record_refusal(case_audit, actor, attempted="Record the follow-up check", reason=reason)
    raise ValidationError(reason)


def _name(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "someone else"


def _record_follow_up(
    case_audit: CaseAudit,
    actor: User,
    checks: list[ShortfallCheck],
    shortfalls: dict[int, Shortfall],
    now: dt.datetime,
) -> CaseAudit:
    """The checks' writes, inside case_audit_follow_up's transaction and under its lock."""
    by_id = {c.shortfall_id: c for c in checks}
    for pk, check in by_id.items():
        shortfall = shortfalls[pk]
        shortfall.addressed, shortfall.check_comment = check.addressed, check.comment.strip()
        shortfall.checked_by, shortfall.checked_at = actor, now
        shortfall._history_user = actor  # type: ignore[attr-defined]
        shortfall.save()
        if not check.addressed:
            assert shortfall.action is not None
            transition_perform(
                obj=shortfall.action,
                name="reopen",
                actor=actor,
                comment=f"Follow-up check of case {case_audit.case_reference}: {check.comment.strip()}",
                due_on=check.new_due_on,
            )
    if all(c.addressed for c in checks):
        transition_perform(obj=case_audit, name="close", actor=actor)
    else:
        transition_perform(
            obj=case_audit,
            name="return_to_remedial_actions",
            actor=actor,
            comment="; ".join(
                f"{shortfalls[c.shortfall_id]}: {c.comment}" for c in checks if not c.addressed
            ),
        )
    return case_audit
