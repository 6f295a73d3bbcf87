"""Writes on section 11 cycles, returns, ratings and challenge. Each service is one transaction and refuses
bad input saying why, changing nothing. Both the self-assessed and the agreed rating are kept for ever."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
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

M = TypeVar("M", bound=models.Model)


def _require_run(actor: User) -> None:
    if not actor.has_perm("audits.run_section11"):
        raise PermissionDenied("only an auditor or a manager may run a section 11 cycle")


def _locked(obj: M) -> M:
    """The row as the database has it now, locked until the transaction ends: a decision is checked
    against this copy and saved from it, never from the caller's, which may be stale."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def _save(obj: models.Model, actor: User, reason: str) -> None:
    """Save with the history that answers "who changed this and why?"."""
    obj._history_user = actor  # type: ignore[attr-defined]
    obj._change_reason = reason[:100]  # type: ignore[attr-defined]
    obj.save()


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


def cycle_update(
    *, cycle: Section11Cycle, actor: User, reason: str = "", **dates: dt.date | None
) -> Section11Cycle:
    """Move the cycle's deadlines. Returns not yet submitted move with the returns' date, and challenges
    still open with the challenge date; each moved row keeps who moved it and why in its history."""
    _require_run(actor)
    unknown = set(dates) - {"returns_due_on", "challenge_due_on", "action_plan_due_on"}
    if unknown:
        raise ValidationError({f: "This field cannot be changed here" for f in sorted(unknown)})
    why = f"The cycle's dates moved{': ' + reason.strip() if reason.strip() else ''}"
    with transaction.atomic():
        cycle = _locked(cycle)
        for name, value in dates.items():
            setattr(cycle, name, value)
        cycle.full_clean(exclude=["state"])
        _save(cycle, actor, why)
        if "returns_due_on" in dates and cycle.returns_due_on is not None:
            for agency_return in Section11Return.objects.select_for_update().filter(
                cycle=cycle,
                state__in=[Section11ReturnState.NOT_STARTED, Section11ReturnState.IN_PROGRESS],
            ):
                if agency_return.due_on != cycle.returns_due_on:
                    agency_return.due_on = cycle.returns_due_on
                    _save(agency_return, actor, why)
        if "challenge_due_on" in dates and cycle.challenge_due_on is not None:
            for challenge in Section11Challenge.objects.select_for_update().filter(
                agency_return__cycle=cycle, finished_at__isnull=True
            ):
                if challenge.due_on != cycle.challenge_due_on:
                    challenge.due_on = cycle.challenge_due_on
                    _save(challenge, actor, why)
    return cycle


def cycle_add_agency(
    *, cycle: Section11Cycle, actor: User, agency: Agency, owner: User | None = None
) -> Section11Return:
    """An agency takes part: its return, with a rating to give for every standard of the pinned framework."""
    _require_run(actor)
    if owner is not None and getattr(getattr(owner, "person", None), "agency_id", None) != agency.pk:
        raise ValidationError({"owner": f"The person completing the return must work for {agency}"})
    if owner is None and not has_agency_lead(agency):
        raise ValidationError({"owner": f"{agency} has no agency lead: name who completes its return"})
    with transaction.atomic():
        # Locked so that challenge cannot start between the check and the new return.
        locked = _locked(cycle)
        if locked.state not in (CycleState.PLANNED, CycleState.OPEN):
            raise ValidationError("Agencies join a cycle before challenge starts")
        if locked.returns.filter(agency=agency).exists():
            raise ValidationError({"agency": f"{agency} is already taking part"})
        agency_return = Section11Return(
            cycle_id=locked.pk,  # not the locked copy: the return reads its cycle as it is when asked
            agency=agency,
            owner=owner,
            due_on=locked.returns_due_on or timezone.localdate() + dt.timedelta(days=42),
            title=f"{locked.name}: section 11 return ({agency})",
        )
        _save(agency_return, actor, f"{agency} joined the cycle")
        bulk_create_with_history(
            [
                StandardRating(agency_return=agency_return, standard=s)
                for s in locked.framework.standards.all()
            ],
            StandardRating,
            default_user=actor,
        )
    return agency_return


# The agency rates itself while the return is open; it keeps evidencing its ratings during challenge,
# when the reviewer may ask for more, but the self-assessed ratings themselves no longer change.
RATING_STATES = (Section11ReturnState.NOT_STARTED, Section11ReturnState.IN_PROGRESS)
EVIDENCE_STATES = (*RATING_STATES, Section11ReturnState.UNDER_CHALLENGE)


def _require_agency_step(
    rating: StandardRating, actor: User, states: tuple[str, ...], closed: str
) -> Section11Return:
    """The rating's return, locked and re-checked: someone from its agency, a state in ``states`` (else
    the ``closed`` refusal) and a cycle still taking returns or in challenge."""
    if not may_complete(rating.agency_return, actor):
        raise PermissionDenied(may_complete.message)
    agency_return = (
        Section11Return.objects.select_for_update().select_related("cycle").get(pk=rating.agency_return_id)
    )
    if agency_return.state not in states:
        raise ValidationError(closed)
    if agency_return.cycle.state not in (CycleState.OPEN, CycleState.CHALLENGE):
        raise ValidationError("The cycle is not open for returns")
    return agency_return


def _rating_name(value: str) -> str:
    return str(Rating(value).label) if value in Rating.values else value


def rating_save(
    *,
    rating: StandardRating,
    actor: User,
    self_rating: str,
    commentary: str = "",
    not_applicable_reason: str = "",
) -> StandardRating:
    """The agency's own rating of one standard; "not applicable" needs its reason."""
    if self_rating not in Rating.values:
        raise ValidationError({"self_rating": "Choose Red, Amber, Green or Not applicable"})
    if self_rating == Rating.NOT_APPLICABLE and not not_applicable_reason.strip():
        raise ValidationError(
            {"not_applicable_reason": "Say why this standard does not apply to your agency"}
        )
    with transaction.atomic():
        agency_return = _require_agency_step(
            rating,
            actor,
            RATING_STATES,
            "The return has been submitted: its self-assessment can no longer change",
        )
        if agency_return.state == Section11ReturnState.NOT_STARTED:
            # On the caller's copy, which the door brings up to date.
            transition_perform(obj=rating.agency_return, name="start", actor=actor)
        rating = _locked(rating)
        rating.self_rating, rating.commentary = self_rating, commentary.strip()
        rating.not_applicable_reason = (
            not_applicable_reason.strip() if self_rating == Rating.NOT_APPLICABLE else ""
        )
        _save(rating, actor, f"Rated {_rating_name(self_rating)}")
    return rating


def rating_add_evidence(
    *, rating: StandardRating, actor: User, description: str, file: UploadedFile | None = None, url: str = ""
) -> Section11Evidence:
    """Evidence for a rating: a file (size and type checked by content) or a link, each described. The
    agency adds it while completing its return and while the return is under challenge."""
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
        _require_agency_step(
            rating,
            actor,
            EVIDENCE_STATES,
            "Evidence is added while the return is being completed or is under challenge",
        )
        if file is not None:
            evidence.file.save(evidence.original_name, file, save=False)
        evidence.save()
    return evidence


def _person_name(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user is not None else "nobody"


def return_assign_reviewer(*, agency_return: Section11Return, actor: User, reviewer: User) -> Section11Return:
    """The reviewer who will challenge the return: never someone from the same agency."""
    _require_run(actor)
    reviewer_agency = getattr(getattr(reviewer, "person", None), "agency_id", None)
    if reviewer_agency is None or reviewer_agency == agency_return.agency_id:
        raise ValidationError({"reviewer": "The reviewer must work for another agency than the return's"})
    with transaction.atomic():
        agency_return = _locked(agency_return)
        if agency_return.state in (Section11ReturnState.UNDER_CHALLENGE, Section11ReturnState.AGREED):
            raise ValidationError("The challenge has started: its reviewer can no longer change")
        agency_return.reviewer = reviewer
        _save(agency_return, actor, f"Reviewer: {_person_name(reviewer)}")
    return agency_return


@register_effect(Section11Return, "begin_challenge")
def _open_challenge(agency_return: Section11Return, *, actor: User, comment: str, arguments: Any) -> None:
    """The reviewer's deadline, chased until the return is agreed."""
    assert agency_return.reviewer is not None
    challenge = Section11Challenge(
        agency_return=agency_return,
        reviewer=agency_return.reviewer,
        title=f"Challenge the section 11 return of {agency_return.agency} ({agency_return.cycle.name})",
        due_on=agency_return.cycle.challenge_due_on or timezone.localdate() + dt.timedelta(days=28),
    )
    _save(challenge, actor, f"Challenge opened for {_person_name(agency_return.reviewer)}")


@register_effect(Section11Return, "agree")
def _finish_challenge(agency_return: Section11Return, *, actor: User, comment: str, arguments: Any) -> None:
    challenge_close(
        challenge=Section11Challenge.objects.get(agency_return=agency_return),
        actor=actor,
        reason=comment or "the return was agreed",
    )


def challenge_close(*, challenge: Section11Challenge, actor: User, reason: str) -> Section11Challenge:
    """Close a reviewer's challenge deadline, so it is no longer chased. One closing wins: the row is
    locked and re-checked, and a second attempt is refused naming who closed it and when. Both attempts
    are in the challenge's history with who and why (the refused one in its own transaction when this is
    called outside one; inside the transition door it goes with the door's refusal)."""
    with transaction.atomic():
        locked = _locked(challenge)
        if locked.finished_at is None:
            locked.finished_at, locked.finished_by = timezone.now(), actor
            _save(locked, actor, f"Challenge closed: {reason}")
            return locked
    assert locked.finished_at is not None
    refusal = (
        f"the challenge was already closed by {_person_name(locked.finished_by)} "
        f"on {timezone.localtime(locked.finished_at):%-d %B %Y at %H:%M}"
    )
    Section11Challenge.history.bulk_history_create(  # type: ignore[attr-defined]
        [locked], update=True, default_user=actor, default_change_reason=f"Refused: {refusal}"[:100]
    )
    raise ValidationError(refusal[0].upper() + refusal[1:])


def _challenge_step(rating: StandardRating, actor: User, *, reviewer: bool) -> StandardRating:
    """The rating as the database has it, locked with its return until the step is saved, so two people
    answering from pages loaded at the same time cannot both act on what they saw."""
    locked = (
        StandardRating.objects.select_for_update()
        .select_related("agency_return", "standard")
        .get(pk=rating.pk)
    )
    agency_return = locked.agency_return
    if agency_return.state != Section11ReturnState.UNDER_CHALLENGE:
        raise ValidationError("The return is not under challenge")
    if reviewer and agency_return.reviewer_id != actor.pk:
        raise PermissionDenied("only the return's reviewer may challenge it")
    if not reviewer and not may_complete(agency_return, actor):
        raise PermissionDenied("only someone from the return's agency may answer the challenge")
    return locked


@transaction.atomic
def challenge_review(
    *, rating: StandardRating, actor: User, agree: bool, proposed_rating: str = "", reasoning: str = ""
) -> StandardRating:
    """The reviewer, having examined the evidence, agrees the self-assessed rating or proposes another
    with reasoning. Once per standard: what follows is the agency's answer and the reviewer's settling."""
    rating = _challenge_step(rating, actor, reviewer=True)
    if rating.agreed_rating or rating.proposed_rating:
        raise ValidationError(
            f"Standard {rating.standard.number} has already been challenged: reload the page to see where "
            "it stands"
        )
    if agree:
        rating.agreed_rating, rating.proposed_rating = rating.self_rating, ""
        rating.reviewer_reasoning = reasoning.strip()
        _save(rating, actor, f"Reviewer agreed {_rating_name(rating.agreed_rating)}")
        return rating
    if proposed_rating not in Rating.values or proposed_rating == rating.self_rating:
        raise ValidationError({"proposed_rating": "Propose a rating other than the agency's own"})
    if not reasoning.strip():
        raise ValidationError({"reasoning": "Give the reasoning for the rating you propose"})
    rating.proposed_rating, rating.reviewer_reasoning, rating.agreed_rating = (
        proposed_rating,
        reasoning.strip(),
        "",
    )
    own = _rating_name(rating.self_rating)
    _save(rating, actor, f"Reviewer proposed {_rating_name(proposed_rating)} (self-assessed {own})")
    return rating


@transaction.atomic
def challenge_respond(
    *, rating: StandardRating, actor: User, accept: bool, response: str = ""
) -> StandardRating:
    """The agency accepts the reviewer's proposed rating, or responds to it for the reviewer to settle."""
    rating = _challenge_step(rating, actor, reviewer=False)
    if not rating.proposed_rating or rating.agreed_rating or rating.agency_response:
        raise ValidationError("There is no proposed rating waiting for your answer")
    if accept:
        rating.agreed_rating = rating.proposed_rating
    elif not response.strip():
        raise ValidationError({"response": "Say why you disagree with the proposed rating"})
    rating.agency_response = response.strip()
    _save(
        rating,
        actor,
        f"The agency accepted the proposed {_rating_name(rating.proposed_rating)}"
        if accept
        else "The agency responded",
    )
    return rating


@transaction.atomic
def challenge_settle(*, rating: StandardRating, actor: User, agreed_rating: str) -> StandardRating:
    """After the agency's response, the reviewer settles the rating (its own, or the proposed one)."""
    rating = _challenge_step(rating, actor, reviewer=True)
    if not rating.agency_response or rating.agreed_rating:
        raise ValidationError("There is no response waiting to be settled")
    if agreed_rating not in (rating.self_rating, rating.proposed_rating):
        raise ValidationError({"agreed_rating": "Settle on the agency's rating or the one you proposed"})
    rating.agreed_rating = agreed_rating
    _save(rating, actor, f"Reviewer settled on {_rating_name(agreed_rating)}")
    return rating


def rating_add_action(*, rating: StandardRating, actor: User, **fields: Any) -> Action:
    """An action for a standard agreed Amber or Red, owned in the return's agency."""
    with transaction.atomic():
        # The rating row alone: PostgreSQL cannot lock the nullable side of the recommendation's join.
        rating = (
            StandardRating.objects.select_for_update(of=("self",))
            .select_related("agency_return__agency", "standard", "recommendation")
            .get(pk=rating.pk)
        )
        if rating.agreed_rating not in (Rating.AMBER, Rating.RED):
            raise ValidationError("Actions are set for standards agreed Amber or Red")
        agency_return = rating.agency_return
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
            _save(rating, actor, "Recommendation made for the agency's action plan")
        assert rating.recommendation is not None
        return action_create(
            actor=actor, recommendation=rating.recommendation, agency=agency_return.agency, **fields
        )
