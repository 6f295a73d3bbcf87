"""Writes on recommendations and actions. Each service is one transaction and says what it guarantees."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone

from ..models import (
    OPEN_STATES,
    PROGRESS_UPDATE,
    RAG,
    Action,
    ActionState,
    Agency,
    Evidence,
    ExtensionRequest,
    ProgressNote,
    Recommendation,
    Theme,
)
from ..models.actions import may_work_on
from ..selectors import recommendations_open_to
from ..transitions import register_effect, require_someone_else, transition_perform
from .evidence import check_evidence_file

# Relations are checked by the services themselves; the state is protected and changes only by transition.
CLEAN_EXCLUDE = ["recommendation", "owner", "agency", "theme", "follow_up_of", "signed_off_by", "state"]


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def recommendation_create(
    *,
    actor: User,
    text: str,
    reference: str = "",
    source: models.Model | None = None,
    theme: Theme | None = None,
) -> Recommendation:
    """Create a recommendation from a source of learning. Only auditors and managers may."""
    _require(
        actor.has_perm("workflows.add_recommendation"), "only an auditor or a manager may add recommendations"
    )
    if not text.strip():
        raise ValidationError({"text": "Enter the recommendation"})
    recommendation = Recommendation(text=text.strip(), reference=reference, source=source, theme=theme)
    recommendation._history_user = actor  # type: ignore[attr-defined]
    recommendation.save()
    return recommendation


def action_create(
    *,
    actor: User,
    recommendation: Recommendation,
    description: str,
    owner: User | None = None,
    agency: Agency | None = None,
    due_on: dt.date | None = None,
    **fields: Any,
) -> Action:
    """Create a draft action. The agency defaults to the owner's; the owner must work for that agency.

    The recommendation must be one the actor may plan for (a police lead never answers a health
    shortfall), and the agency the actor's own unless they see every agency."""
    _require(
        actor.has_perm("workflows.add_action"), "only an auditor, agency lead or manager may add actions"
    )
    _require(
        recommendations_open_to(actor).filter(pk=recommendation.pk).exists(),
        "you may only add actions to recommendations of your own agency's work",
    )
    if not description.strip():
        raise ValidationError({"description": "Enter what will be done"})
    owner_person = getattr(owner, "person", None)
    if owner is not None and owner_person is None:
        raise ValidationError({"owner": "The owner must work for one of the partnership's agencies"})
    agency = agency or (owner_person.agency if owner_person else None)
    if owner_person is not None and agency is not None and owner_person.agency_id != agency.pk:
        raise ValidationError({"owner": "The owner must work for the action's agency"})
    if not actor.has_perm("workflows.view_all_agencies"):
        actor_agency = getattr(getattr(actor, "person", None), "agency_id", None)
        _require(
            agency is not None and agency.pk == actor_agency, "you may only add actions for your own agency"
        )
    action = Action(
        recommendation=recommendation,
        description=description.strip(),
        owner=owner,
        agency=agency,
        due_on=due_on,
        theme=fields.pop("theme", None) or recommendation.theme,
        **fields,
    )
    action.full_clean(exclude=CLEAN_EXCLUDE)
    action._history_user = actor  # type: ignore[attr-defined]
    action.save()
    return action


# Fields a person who may work on an action can edit. The due date is editable only in draft: once
# agreed it moves only through an approved extension, so the record shows why it moved.
EDITABLE_FIELDS = {"description", "outcome_measure", "difference_for_children", "priority", "reported_rag"}
DRAFT_ONLY_FIELDS = {"due_on", "owner", "theme"}


def action_update(*, action: Action, actor: User, **changes: Any) -> Action:
    """Change an action's editable fields; refuses anything else and records who changed what."""
    _require(may_work_on(action, actor), may_work_on.message)
    unknown = set(changes) - EDITABLE_FIELDS - DRAFT_ONLY_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    if "reported_rag" in changes:
        _check_reported_rag(changes["reported_rag"])
    if set(changes) & DRAFT_ONLY_FIELDS and action.state != ActionState.DRAFT:
        raise ValidationError(
            {
                f: "Only a draft action's owner, theme or due date can be edited; ask for an extension"
                for f in sorted(set(changes) & DRAFT_ONLY_FIELDS)
            }
        )
    if "owner" in changes and changes["owner"] != action.owner:
        require_someone_else(
            action,
            actor,
            "you cannot hand an action you own to someone else: your agency lead or a manager must",
        )
    if "owner" in changes and changes["owner"] is not None:
        owner_agency = getattr(getattr(changes["owner"], "person", None), "agency_id", None)
        if action.agency_id is not None and owner_agency != action.agency_id:
            raise ValidationError({"owner": "The owner must work for the action's agency"})
    with transaction.atomic():
        for name, value in changes.items():
            setattr(action, name, value)
        action.full_clean(exclude=CLEAN_EXCLUDE)
        action._history_user = actor  # type: ignore[attr-defined]
        action.save()
    return action


def action_delete(*, action: Action, actor: User) -> None:
    """Delete a draft action, for those permitted; an agreed one is discontinued instead, with a rationale.
    History keeps who deleted it."""
    _require(actor.has_perm("workflows.delete_action"), "you may not delete actions")
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        if not locked.may_be_deleted:
            raise ValidationError(
                f"This action is {locked.get_state_display().lower()}: an agreed action is never deleted; "
                "discontinue it instead, with a rationale"
            )
        locked._history_user = actor  # type: ignore[attr-defined]
        locked.delete()


def action_transition(
    *,
    action: Action,
    actor: User,
    name: str,
    comment: str = "",
    expected_state: str | None = None,
) -> Action:
    """Make a named transition on an action (see workflows.transitions.transition_perform)."""
    transition_perform(obj=action, name=name, actor=actor, comment=comment, expected_state=expected_state)
    return action


@register_effect(Action, "record_impact_not_evidenced")
def _open_follow_up(action: Action, *, actor: User, comment: str, arguments: dict[str, Any]) -> None:
    """Impact not evidenced is not the end: a draft follow-up for the same owner carries the work on."""
    follow_up = Action(
        recommendation=action.recommendation,
        reference=f"{action.reference}-F" if action.reference else "",
        description=f"Follow-up: {action.description}",
        outcome_measure=action.outcome_measure,
        difference_for_children=action.difference_for_children,
        owner=action.owner,
        agency=action.agency,
        responsible_group=action.responsible_group,
        priority=action.priority,
        theme=action.theme,
        follow_up_of=action,
    )
    follow_up._history_user = actor  # type: ignore[attr-defined]
    follow_up._change_reason = f"Opened because impact was not evidenced: {comment}"[:100]  # type: ignore[attr-defined]
    follow_up.save()


def _check_reported_rag(reported_rag: str) -> None:
    """An owner reports Red, Amber or Green (or nothing): Grey (complete) and "no due date" are facts the
    system works out, not an owner's judgement."""
    if reported_rag and reported_rag not in {RAG.RED, RAG.AMBER, RAG.GREEN}:
        raise ValidationError({"reported_rag": "Choose Red, Amber or Green"})


def _require_open_and_workable(action: Action, actor: User) -> None:
    _require(may_work_on(action, actor), may_work_on.message)
    if action.state not in OPEN_STATES:
        raise ValidationError(
            f"This action is {action.get_state_display().lower()}: it can no longer be updated"
        )


def action_add_progress(*, action: Action, actor: User, text: str, reported_rag: str = "") -> ProgressNote:
    """Record a progress update; it counts as recent progress for RAG and keeps the owner's own RAG."""
    _require_open_and_workable(action, actor)
    if not text.strip():
        raise ValidationError({"text": "Enter the progress made"})
    _check_reported_rag(reported_rag)
    with transaction.atomic():
        note = ProgressNote.objects.create(
            action=action, author=actor, text=text.strip(), reported_rag=reported_rag
        )
        action.last_progress_on = timezone.localdate()
        if reported_rag:
            action.reported_rag = reported_rag
        action._history_user = actor  # type: ignore[attr-defined]
        action._change_reason = PROGRESS_UPDATE  # type: ignore[attr-defined]
        action.save(update_fields=["last_progress_on", "reported_rag"])
    return note


def action_add_evidence(
    *,
    action: Action,
    actor: User,
    description: str,
    file: UploadedFile | None = None,
    url: str = "",
) -> Evidence:
    """Attach a file (size and type checked by content) or a link to an open action."""
    _require_open_and_workable(action, actor)
    if not description.strip():
        raise ValidationError({"description": "Describe what this evidence shows"})
    if (file is None) == (not url):
        raise ValidationError("Give either a file or a link, not both or neither")
    evidence = Evidence(action=action, description=description.strip(), url=url, added_by=actor)
    if file is not None:
        evidence.content_type = check_evidence_file(file, max_bytes=settings.EVIDENCE_MAX_BYTES)
        evidence.original_name = (file.name or "evidence")[:255]
    else:
        evidence.full_clean(exclude=["action", "added_by", "file"])
    with transaction.atomic():
        if file is not None:
            evidence.file.save(evidence.original_name, file, save=False)
        evidence.save()
    return evidence


def action_request_extension(
    *, action: Action, actor: User, requested_due_on: dt.date, reason: str
) -> ExtensionRequest:
    """Ask for a new due date. One request may be pending at a time."""
    _require_open_and_workable(action, actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why more time is needed"})
    if action.due_on is not None and requested_due_on <= action.due_on:
        raise ValidationError({"requested_due_on": "The new date must be after the current due date"})
    if requested_due_on <= timezone.localdate():
        raise ValidationError({"requested_due_on": "The new date must be in the future"})
    if action.extension_requests.filter(decision=ExtensionRequest.Decision.PENDING).exists():
        raise ValidationError("An extension request for this action is already waiting for a decision")
    return ExtensionRequest.objects.create(
        action=action,
        current_due_on=action.due_on,
        requested_due_on=requested_due_on,
        reason=reason.strip(),
        requested_by=actor,
    )


def action_decide_extension(
    *, extension: ExtensionRequest, actor: User, approve: bool, comment: str = ""
) -> ExtensionRequest:
    """Approve (the due date moves, the original is kept) or refuse; never by the action's owner."""
    action = extension.action
    _require(actor.has_perm("workflows.decide_extension"), "only a manager may decide an extension")
    _require(action.owner_id != actor.pk, "you cannot decide an extension to your own action")
    if extension.decision != ExtensionRequest.Decision.PENDING:
        raise ValidationError("This extension request has already been decided")
    if not approve and not comment.strip():
        raise ValidationError({"comment": "Say why the extension is refused"})
    with transaction.atomic():
        extension.decision = (
            ExtensionRequest.Decision.APPROVED if approve else ExtensionRequest.Decision.REFUSED
        )
        extension.decided_by = actor
        extension.decided_at = timezone.now()
        extension.decision_comment = comment.strip()
        extension._history_user = actor  # type: ignore[attr-defined]
        extension.save()
        if approve:
            if action.original_due_on is None:
                action.original_due_on = action.due_on
            action.due_on = extension.requested_due_on
            action._history_user = actor  # type: ignore[attr-defined]
            action._change_reason = "Extension approved"  # type: ignore[attr-defined]
            action.save(update_fields=["due_on", "original_due_on"])
    return extension
