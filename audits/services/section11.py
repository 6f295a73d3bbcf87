"""Writes on section 11 cycles, returns, ratings and challenge. Each service is one transaction and refuses
bad input saying why, changing nothing. Both the self-assessed and the agreed rating are kept for ever."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from workflows.models import Action, Agency, Recommendation
from workflows.selectors import has_agency_lead
from workflows.services.actions import action_create
from workflows.services.evidence import check_evidence_file
from workflows.transitions import register_effect, transition_perform

from ..models import (
    CycleState,
    Framework,
    Rating,
    Section11Challenge,
    Section11Cycle,
    Section11Evidence,
    Section11Return,
    Section11ReturnState,
    StandardRating,
)
from ..models.section11 import may_complete
from ..section11_defaults import DEFAULT_NAME


def _require_run(actor: User) -> None:
    if not actor.has_perm("audits.run_section11"):
        raise PermissionDenied("only an auditor or a manager may run a section 11 cycle")


def current_framework() -> Framework:
    """The newest version of the default framework, or of any framework if that one was renamed."""
    framework = (
        Framework.objects.filter(name=DEFAULT_NAME).order_by("-version").first()
        or Framework.objects.order_by("-created_at", "-version").first()
    )
    if framework is None:
        raise ValidationError("There is no section 11 framework: an administrator must add one")
    return framework


def cycle_create(
    *,
    actor: User,
    name: str,
    lead: User,
    framework: Framework | None = None,
    previous: Section11Cycle | None = None,
    **dates: dt.date | None,
) -> Section11Cycle:
    """Plan a cycle on the current framework version, compared by default with the latest earlier cycle."""
    _require_run(actor)
    cycle = Section11Cycle(
        name=name.strip(),
        lead=lead,
        framework=framework or current_framework(),
        previous=previous or Section11Cycle.objects.order_by("-created_at").first(),
        **dates,
    )
    cycle.full_clean(exclude=["state"])
    cycle._history_user = actor  # type: ignore[attr-defined]
    cycle.save()
    return cycle


def cycle_update(*, cycle: Section11Cycle, actor: User, **dates: dt.date | None) -> Section11Cycle:
    """Move the cycle's deadlines; returns not yet submitted move with the returns' date."""
    _require_run(actor)
    unknown = set(dates) - {"returns_due_on", "challenge_due_on", "action_plan_due_on"}
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    with transaction.atomic():
        for name, value in dates.items():
            setattr(cycle, name, value)
        cycle.full_clean(exclude=["state"])
        cycle._history_user = actor  # type: ignore[attr-defined]
        cycle.save()
        if "returns_due_on" in dates and cycle.returns_due_on is not None:
            cycle.returns.filter(
                state__in=[Section11ReturnState.NOT_STARTED, Section11ReturnState.IN_PROGRESS]
            ).update(due_on=cycle.returns_due_on)
    return cycle


def cycle_add_agency(
    *, cycle: Section11Cycle, actor: User, agency: Agency, owner: User | None = None
) -> Section11Return:
    """An agency takes part: its return, with a rating to give for every standard of the pinned framework."""
    _require_run(actor)
    if cycle.state not in (CycleState.PLANNED, CycleState.OPEN):
        raise ValidationError("Agencies join a cycle before challenge starts")
    if owner is not None and getattr(getattr(owner, "person", None), "agency_id", None) != agency.pk:
        raise ValidationError({"owner": f"The person completing the return must work for {agency}"})
    if owner is None and not has_agency_lead(agency):
        raise ValidationError({"owner": f"{agency} has no agency lead: name who completes its return"})
    if cycle.returns.filter(agency=agency).exists():
        raise ValidationError({"agency": f"{agency} is already taking part"})
    due_on = cycle.returns_due_on or timezone.localdate() + dt.timedelta(days=42)
    with transaction.atomic():
        agency_return = Section11Return(
            cycle=cycle,
            agency=agency,
            owner=owner,
            due_on=due_on,
            title=f"{cycle.name}: section 11 return ({agency})",
        )
        agency_return._history_user = actor  # type: ignore[attr-defined]
        agency_return.save()
        bulk_create_with_history(
            [
                StandardRating(agency_return=agency_return, standard=s)
                for s in cycle.framework.standards.all()
            ],
            StandardRating,
            default_user=actor,
        )
    return agency_return


def _require_editable(rating: StandardRating, actor: User) -> Section11Return:
    agency_return = rating.agency_return
    if not may_complete(agency_return, actor):
        raise PermissionDenied(may_complete.message)
    if agency_return.state not in (Section11ReturnState.NOT_STARTED, Section11ReturnState.IN_PROGRESS):
        raise ValidationError("The return has been submitted: its self-assessment can no longer change")
    if agency_return.cycle.state not in (CycleState.OPEN, CycleState.CHALLENGE):
        raise ValidationError("The cycle is not open for returns")
    return agency_return


def rating_save(
    *,
    rating: StandardRating,
    actor: User,
    self_rating: str,
    commentary: str = "",
    not_applicable_reason: str = "",
) -> StandardRating:
    """The agency's own rating of one standard; "not applicable" needs its reason."""
    agency_return = _require_editable(rating, actor)
    if self_rating not in Rating.values:
        raise ValidationError({"self_rating": "Choose Red, Amber, Green or Not applicable"})
    if self_rating == Rating.NOT_APPLICABLE and not not_applicable_reason.strip():
        raise ValidationError(
            {"not_applicable_reason": "Say why this standard does not apply to your agency"}
        )
    with transaction.atomic():
        if agency_return.state == Section11ReturnState.NOT_STARTED:
            transition_perform(obj=agency_return, name="start", actor=actor)
        rating.self_rating, rating.commentary = self_rating, commentary.strip()
        rating.not_applicable_reason = (
            not_applicable_reason.strip() if self_rating == Rating.NOT_APPLICABLE else ""
        )
        rating._history_user = actor  # type: ignore[attr-defined]
        rating.save()
    return rating


def rating_add_evidence(
    *, rating: StandardRating, actor: User, description: str, file: UploadedFile | None = None, url: str = ""
) -> Section11Evidence:
    """Evidence for a rating: a file (size and type checked by content) or a link, each described."""
    _require_editable(rating, actor)
    if not description.strip():
        raise ValidationError({"description": "Describe what this evidence shows"})
    if (file is None) == (not url):
        raise ValidationError("Give either a file or a link, not both or neither")
    evidence = Section11Evidence(rating=rating, description=description.strip(), url=url, added_by=actor)
    if file is not None:
        evidence.content_type = check_evidence_file(file, max_bytes=settings.EVIDENCE_MAX_BYTES)
        evidence.original_name = (file.name or "evidence")[:255]
    else:
        evidence.full_clean(exclude=["rating", "added_by", "file"])
    with transaction.atomic():
        if file is not None:
            evidence.file.save(evidence.original_name, file, save=False)
        evidence.save()
    return evidence


def return_assign_reviewer(*, agency_return: Section11Return, actor: User, reviewer: User) -> Section11Return:
    """The reviewer who will challenge the return: never someone from the same agency."""
    _require_run(actor)
    reviewer_agency = getattr(getattr(reviewer, "person", None), "agency_id", None)
    if reviewer_agency is None or reviewer_agency == agency_return.agency_id:
        raise ValidationError({"reviewer": "The reviewer must work for another agency than the return's"})
    if agency_return.state in (Section11ReturnState.UNDER_CHALLENGE, Section11ReturnState.AGREED):
        raise ValidationError("The challenge has started: its reviewer can no longer change")
    agency_return.reviewer = reviewer
    agency_return._history_user = actor  # type: ignore[attr-defined]
    agency_return.save()
    return agency_return


@register_effect(Section11Return, "begin_challenge")
def _open_challenge(agency_return: Section11Return, *, actor: User, comment: str, arguments: Any) -> None:
    """The reviewer's deadline, chased until the return is agreed."""
    assert agency_return.reviewer is not None
    Section11Challenge.objects.create(
        agency_return=agency_return,
        reviewer=agency_return.reviewer,
        title=f"Challenge the section 11 return of {agency_return.agency} ({agency_return.cycle.name})",
        due_on=agency_return.cycle.challenge_due_on or timezone.localdate() + dt.timedelta(days=28),
    )


@register_effect(Section11Return, "agree")
def _finish_challenge(agency_return: Section11Return, *, actor: User, comment: str, arguments: Any) -> None:
    Section11Challenge.objects.filter(agency_return=agency_return).update(finished_at=timezone.now())


def _require_challenge(rating: StandardRating, actor: User, *, reviewer: bool) -> None:
    agency_return = rating.agency_return
    if agency_return.state != Section11ReturnState.UNDER_CHALLENGE:
        raise ValidationError("The return is not under challenge")
    if reviewer and agency_return.reviewer_id != actor.pk:
        raise PermissionDenied("only the return's reviewer may challenge it")
    if not reviewer and not may_complete(agency_return, actor):
        raise PermissionDenied("only someone from the return's agency may answer the challenge")


def _save_rating(rating: StandardRating, actor: User) -> StandardRating:
    rating._history_user = actor  # type: ignore[attr-defined]
    rating.save()
    return rating


def challenge_review(
    *, rating: StandardRating, actor: User, agree: bool, proposed_rating: str = "", reasoning: str = ""
) -> StandardRating:
    """The reviewer, having examined the evidence, agrees the self-assessed rating or proposes another
    with reasoning."""
    _require_challenge(rating, actor, reviewer=True)
    if agree:
        rating.agreed_rating, rating.proposed_rating = rating.self_rating, ""
        rating.reviewer_reasoning = reasoning.strip()
        return _save_rating(rating, actor)
    if proposed_rating not in Rating.values or proposed_rating == rating.self_rating:
        raise ValidationError({"proposed_rating": "Propose a rating other than the agency's own"})
    if not reasoning.strip():
        raise ValidationError({"reasoning": "Give the reasoning for the rating you propose"})
    rating.proposed_rating, rating.reviewer_reasoning, rating.agreed_rating = (
        proposed_rating,
        reasoning.strip(),
        "",
    )
    return _save_rating(rating, actor)


def challenge_respond(
    *, rating: StandardRating, actor: User, accept: bool, response: str = ""
) -> StandardRating:
    """The agency accepts the reviewer's proposed rating, or responds to it for the reviewer to settle."""
    _require_challenge(rating, actor, reviewer=False)
    if not rating.proposed_rating or rating.agreed_rating:
        raise ValidationError("There is no proposed rating waiting for your answer")
    if accept:
        rating.agreed_rating = rating.proposed_rating
    elif not response.strip():
        raise ValidationError({"response": "Say why you disagree with the proposed rating"})
    rating.agency_response = response.strip()
    return _save_rating(rating, actor)


def challenge_settle(*, rating: StandardRating, actor: User, agreed_rating: str) -> StandardRating:
    """After the agency's response, the reviewer settles the rating (its own, or the proposed one)."""
    _require_challenge(rating, actor, reviewer=True)
    if not rating.agency_response:
        raise ValidationError("The agency has not responded to the proposed rating")
    if agreed_rating not in (rating.self_rating, rating.proposed_rating):
        raise ValidationError({"agreed_rating": "Settle on the agency's rating or the one you proposed"})
    rating.agreed_rating = agreed_rating
    return _save_rating(rating, actor)


def rating_add_action(*, rating: StandardRating, actor: User, **fields: Any) -> Action:
    """An action for a standard agreed Amber or Red, owned in the return's agency."""
    if rating.agreed_rating not in (Rating.AMBER, Rating.RED):
        raise ValidationError("Actions are set for standards agreed Amber or Red")
    agency_return = rating.agency_return
    with transaction.atomic():
        if rating.recommendation is None:
            recommendation = Recommendation(
                text=f"Section 11 standard {rating.standard}: {agency_return.agency} rated "
                f"{rating.get_agreed_rating_display()}",
                reference=f"S11-{rating.standard.number}",
                source=agency_return,
            )
            recommendation._history_user = actor  # type: ignore[attr-defined]
            recommendation.save()
            rating.recommendation = recommendation
            rating.save(update_fields=["recommendation"])
        assert rating.recommendation is not None
        return action_create(
            actor=actor, recommendation=rating.recommendation, agency=agency_return.agency, **fields
        )
