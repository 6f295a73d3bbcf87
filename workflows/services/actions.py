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
    ActionChangeRequest,
    ActionState,
    Agency,
    Evidence,
    ExtensionRequest,
    ProgressNote,
    Recommendation,
    Theme,
)
from ..models.actions import WORDING_FIELDS, ActionRequest, RequestDecision, decide_refusal, may_work_on
from ..selectors import recommendations_open_to
from ..transitions import (
    TransitionRefused,
    record_refusal,
    register_effect,
    require_someone_else,
    transition_perform,
)
from . import model_update
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


def require_may_add_actions(actor: User) -> None:
    """Asked first, so someone who may not add actions is told so before anything about what they sent."""
    _require(
        actor.has_perm("workflows.add_action"), "only an auditor, agency lead or manager may add actions"
    )


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
    require_may_add_actions(actor)
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


# Fields a person who may work on an action can edit. Owner, theme and due date only in draft: once agreed
# the due date moves only through an approved extension, so the record shows why it moved. The wording
# (WORDING_FIELDS) only in draft too: once agreed it is a commitment, changed by an approved change request.
EDITABLE_FIELDS = {"priority", "reported_rag"}
DRAFT_ONLY_FIELDS = {"due_on", "owner", "theme"}


def action_update(*, action: Action, actor: User, reason: str = "", **changes: Any) -> Action:
    """Change an action's editable fields; refuses anything else and records who changed what and why."""
    _require(may_work_on(action, actor), may_work_on.message)
    unknown = set(changes) - EDITABLE_FIELDS - DRAFT_ONLY_FIELDS - set(WORDING_FIELDS)
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    if "reported_rag" in changes:
        _check_reported_rag(changes["reported_rag"])
    if action.state != ActionState.DRAFT:
        errors = {
            f: "Only a draft action's owner, theme or due date can be edited; ask for an extension"
            for f in sorted(set(changes) & DRAFT_ONLY_FIELDS)
        }
        errors |= {
            f: "The action is agreed: its wording changes only through a change request another manager "
            "approves"
            for f in sorted(set(changes) & set(WORDING_FIELDS))
        }
        if errors:
            raise ValidationError(errors)
    if "owner" in changes and changes["owner"] != action.owner:
        require_someone_else(
            action,
            actor,
            "you cannot hand an action you own to someone else: your agency lead or a manager must",
            attempted="Change the owner",
        )
    if "owner" in changes and changes["owner"] is not None:
        owner_agency = getattr(getattr(changes["owner"], "person", None), "agency_id", None)
        if action.agency_id is not None and owner_agency != action.agency_id:
            raise ValidationError({"owner": "The owner must work for the action's agency"})
    with transaction.atomic():
        # Saved from the locked row: the history row is a copy of what is saved, so a copy read before
        # someone else's change must not be saved or recorded. The checks above read the caller's copy;
        # they still hold if its state (and, when the owner is being changed, its owner) is the row's.
        locked = Action.objects.select_for_update().get(pk=action.pk)
        if locked.state != action.state or ("owner" in changes and locked.owner_id != action.owner_id):
            raise ValidationError(
                "This action was changed by someone else since you opened it (it is now "
                f"{locked.get_state_display().lower()}); reload it and try again"
            )
        _require(may_work_on(locked, actor), may_work_on.message)
        changed = model_update(
            locked, actor=actor, reason=reason, changes=changes, clean_exclude=CLEAN_EXCLUDE
        )
    for name in changed:
        setattr(action, name, getattr(locked, name))
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
        # On the locked row, re-checked: the history row is a copy of what is saved, so a copy read before
        # someone else's change (a new owner, a discontinuation) must not be saved or recorded.
        locked = Action.objects.select_for_update().get(pk=action.pk)
        _require_open_and_workable(locked, actor)
        note = ProgressNote.objects.create(
            action=locked, author=actor, text=text.strip(), reported_rag=reported_rag
        )
        locked.last_progress_on = timezone.localdate()
        if reported_rag:
            locked.reported_rag = reported_rag
        locked._history_user = actor  # type: ignore[attr-defined]
        locked._change_reason = PROGRESS_UPDATE  # type: ignore[attr-defined]
        locked.save(update_fields=["last_progress_on", "reported_rag"])
    action.last_progress_on, action.reported_rag = locked.last_progress_on, locked.reported_rag
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
        # Re-checked on the locked row: nothing is added to an action closed since the caller read it.
        _require_open_and_workable(Action.objects.select_for_update().get(pk=action.pk), actor)
        if file is not None:
            evidence.file.save(evidence.original_name, file, save=False)
        evidence.save()
    return evidence


def _pending_request_exists(requests: models.QuerySet[Any]) -> bool:
    return requests.filter(decision=RequestDecision.PENDING).exists()


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
    if _pending_request_exists(action.extension_requests.all()):
        raise ValidationError("An extension request for this action is already waiting for a decision")
    extension = ExtensionRequest(
        action=action,
        current_due_on=action.due_on,
        requested_due_on=requested_due_on,
        reason=reason.strip(),
        requested_by=actor,
    )
    extension._history_user = actor  # type: ignore[attr-defined]
    extension.save()
    return extension


def action_request_change(
    *,
    action: Action,
    actor: User,
    reason: str,
    description: str | None = None,
    outcome_measure: str | None = None,
    difference_for_children: str | None = None,
) -> ActionChangeRequest:
    """Ask to change an agreed action's wording (a field left out keeps its text). Nothing changes until
    a manager who is neither the owner nor the one asking approves. One request may be pending at a
    time; a draft is edited directly."""
    _require_open_and_workable(action, actor)
    if action.state == ActionState.DRAFT:
        raise ValidationError("This action is still a draft: edit its wording directly")
    asked = {"description": description, "outcome_measure": outcome_measure}
    asked["difference_for_children"] = difference_for_children
    new = {
        name: (asked[name] or "").strip() if asked[name] is not None else getattr(action, name)
        for name in WORDING_FIELDS
    }
    if not new["description"]:
        raise ValidationError({"description": "Enter what will be done"})
    if all(new[name] == getattr(action, name) for name in WORDING_FIELDS):
        raise ValidationError(
            "Change at least one of the description, outcome measure or difference for children"
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why the wording should change"})
    if _pending_request_exists(action.change_requests.all()):
        raise ValidationError("A change request for this action is already waiting for a decision")
    change = ActionChangeRequest(action=action, reason=reason.strip(), requested_by=actor)
    for name in WORDING_FIELDS:
        setattr(change, f"old_{name}", getattr(action, name))
        setattr(change, f"new_{name}", new[name])
    change._history_user = actor  # type: ignore[attr-defined]
    change.save()
    return change


def _decide(request: ActionRequest, *, actor: User, approve: bool, comment: str) -> None:
    """Decide through the one door: the request's row is locked and re-checked (a request someone decided
    meanwhile is refused, and the refusal recorded), the decision logged, and the approval's effect (below)
    applied to the action's locked row, all in one transaction."""
    refusal = decide_refusal(request, actor)
    if refusal is not None:
        # Refused before the door (a 403, not a 400), so the trace the door would keep is kept here.
        refusal = refusal[0].upper() + refusal[1:]
        attempted = "Approve" if approve else "Refuse"
        record_refusal(request, actor, attempted=attempted, reason=refusal, comment=comment.strip())
        raise PermissionDenied(refusal)
    try:
        transition_perform(
            obj=request, name="approve" if approve else "refuse", actor=actor, comment=comment.strip()
        )
    except TransitionRefused as refused:
        raise ValidationError(str(refused)) from refused


def action_decide_extension(
    *, extension: ExtensionRequest, actor: User, approve: bool, comment: str = ""
) -> ExtensionRequest:
    """Approve (the due date moves, the original is kept) or refuse (with a reason), once, by a manager
    who neither owns the action nor asked. A caller whose copy was decided meanwhile gets
    TransitionConflict."""
    _decide(extension, actor=actor, approve=approve, comment=comment)
    return extension


def action_decide_change(
    *, change: ActionChangeRequest, actor: User, approve: bool, comment: str = ""
) -> ActionChangeRequest:
    """Approve (the new wording replaces the old, on the action's history) or refuse (with a reason),
    once, by a manager who neither owns the action nor asked. A caller whose copy was decided meanwhile
    gets TransitionConflict."""
    _decide(change, actor=actor, approve=approve, comment=comment)
    return change


def _locked_action(request: ActionRequest) -> Action:
    # The action's row as it is now, locked: never a copy read before someone else changed it.
    return Action.objects.select_for_update().get(pk=request.action_id)


@register_effect(ExtensionRequest, "approve")
def _move_due_date(
    extension: ExtensionRequest, *, actor: User, comment: str, arguments: dict[str, Any]
) -> None:
    action = _locked_action(extension)
    model_update(
        action,
        actor=actor,
        reason="Extension approved",
        changes={
            "due_on": extension.requested_due_on,
            "original_due_on": action.original_due_on or action.due_on,
        },
        clean_exclude=CLEAN_EXCLUDE,
    )


@register_effect(ActionChangeRequest, "approve")
def _apply_new_wording(
    change: ActionChangeRequest, *, actor: User, comment: str, arguments: dict[str, Any]
) -> None:
    action = _locked_action(change)
    model_update(
        action,
        actor=actor,
        reason=f"Change request approved: {change.reason}",
        changes={name: getattr(change, f"new_{name}") for name in WORDING_FIELDS},
        clean_exclude=CLEAN_EXCLUDE,
    )
