"""Pages for section 11 cycles, agencies' returns and their challenge. Each view parses input, calls one
service or selector, renders; someone who may not see a cycle or a return gets 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from workflows.deadlines import with_rung
from workflows.forms import DATE, ActionForm, PersonChoiceField, ScopedModelChoiceField, scope_people
from workflows.selectors import agencies_open_to
from workflows.transitions import available_transitions, blocked_transitions
from workflows.views.actions import EvidenceForm
from workflows.views.auth import AuthenticatedHttpRequest
from workflows.views.feedback import attempt, post_form, transition_from_post

from ..models import (
    CycleState,
    Rating,
    Section11Challenge,
    Section11Cycle,
    Section11ReturnState,
    StandardRating,
)
from ..models.section11 import may_complete
from ..section11_reports import (
    cycle_matrix,
    matrix_csv,
    matrix_xlsx,
    return_timeline,
    section11_cycles_visible_to,
    section11_returns_visible_to,
)
from ..services import section11 as services

RATINGS = [("", "Choose a rating"), *Rating.choices]


class CycleForm(forms.Form):
    name = forms.CharField(max_length=200)
    lead = PersonChoiceField()
    returns_due_on = forms.DateField(widget=DATE, required=False, label="Returns due")
    challenge_due_on = forms.DateField(widget=DATE, required=False, label="Challenge due")
    action_plan_due_on = forms.DateField(widget=DATE, required=False, label="Action plans due")


class AgencyForm(forms.Form):
    agency = ScopedModelChoiceField(agencies_open_to)
    owner = PersonChoiceField(
        required=False,
        label="Who completes the return (leave empty for the agency's leads)",
    )


class ReviewerForm(forms.Form):
    reviewer = PersonChoiceField(label="Reviewer (from another agency)")


class RatingForm(forms.Form):
    self_rating = forms.ChoiceField(choices=RATINGS, label="Your rating")
    commentary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    not_applicable_reason = forms.CharField(required=False, label="If not applicable, why")


class ChallengeForm(forms.Form):
    agree = forms.TypedChoiceField(
        choices=[("yes", "Agree the agency's rating"), ("no", "Propose another rating")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Having examined the evidence",
    )
    proposed_rating = forms.ChoiceField(choices=RATINGS, required=False, label="Proposed rating")
    reasoning = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RespondForm(forms.Form):
    accept = forms.TypedChoiceField(
        choices=[("yes", "Accept the proposed rating"), ("no", "Respond to it")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Your answer",
    )
    response = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class SettleForm(forms.Form):
    agreed_rating = forms.ChoiceField(choices=RATINGS, label="Agreed rating")


@login_required
def cycle_list_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    cycles = section11_cycles_visible_to(request.user).select_related("framework", "lead")
    return render(request, "audits/section11_cycles.html", {"cycles": cycles})


@login_required
def cycle_create_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not request.user.has_perm("audits.run_section11"):
        raise PermissionDenied("Only auditors and managers run section 11 cycles")
    form = scope_people(CycleForm(request.POST or None), request.user)
    if request.method == "POST" and form.is_valid():
        created: list[Section11Cycle] = []
        if attempt(
            request,
            lambda: created.append(services.cycle_create(actor=request.user, **form.cleaned_data)),
            "Planned",
        ):
            return redirect(created[0].get_absolute_url())
    return render(request, "audits/section11_cycle_form.html", {"form": form})


def _visible_cycle(request: AuthenticatedHttpRequest, pk: int) -> Section11Cycle:
    return get_object_or_404(
        section11_cycles_visible_to(request.user).select_related("framework", "lead"), pk=pk
    )


@login_required
def cycle_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    cycle = _visible_cycle(request, pk)
    returns = with_rung(section11_returns_visible_to(request.user)).filter(cycle=cycle)
    running = request.user.has_perm("audits.run_section11")
    return render(
        request,
        "audits/section11_cycle.html",
        {
            "cycle": cycle,
            "returns": returns.select_related("agency", "owner", "reviewer"),
            "matrix": cycle_matrix(cycle, returns),
            "transitions": available_transitions(cycle, request.user),
            "blocked": blocked_transitions(cycle, request.user),
            "can_add": running and cycle.state in (CycleState.PLANNED, CycleState.OPEN),
            "can_assign": running and cycle.state in (CycleState.OPEN, CycleState.CHALLENGE),
            "agency_form": scope_people(AgencyForm(), request.user),
            "reviewer_form": ReviewerForm(),
        },
    )


@login_required
def cycle_export(request: AuthenticatedHttpRequest, pk: int, kind: str) -> HttpResponse:
    cycle = _visible_cycle(request, pk)
    matrix = cycle_matrix(cycle, section11_returns_visible_to(request.user).filter(cycle=cycle))
    if kind == "csv":
        response = HttpResponse(matrix_csv(matrix), content_type="text/csv; charset=utf-8")
    elif kind == "xlsx":
        response = HttpResponse(
            matrix_xlsx(matrix, cycle.name),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404("The matrix exports as .csv or .xlsx")
    response["Content-Disposition"] = f'attachment; filename="{slugify(cycle.name) or "section-11"}.{kind}"'
    return response


@login_required
@require_POST
def cycle_transition_view(request: AuthenticatedHttpRequest, pk: int, name: str) -> HttpResponse:
    cycle = _visible_cycle(request, pk)
    return transition_from_post(request, cycle, name, noun="cycle")


@login_required
@require_POST
def cycle_add_agency_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    cycle = _visible_cycle(request, pk)
    return post_form(
        request,
        AgencyForm,
        lambda data: services.cycle_add_agency(cycle=cycle, actor=request.user, **data),
        "Agency added: its return lists every standard",
        back_to=cycle.get_absolute_url(),
    )


def _visible_return(request: AuthenticatedHttpRequest, pk: int) -> Any:
    return get_object_or_404(
        section11_returns_visible_to(request.user).select_related(
            "cycle__framework", "agency", "owner", "reviewer"
        ),
        pk=pk,
    )


@login_required
@require_POST
def assign_reviewer_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    agency_return = _visible_return(request, pk)
    return post_form(
        request,
        ReviewerForm,
        lambda data: services.return_assign_reviewer(agency_return=agency_return, actor=request.user, **data),
        "Reviewer assigned",
        back_to=agency_return.cycle.get_absolute_url(),
        prefix=f"return{agency_return.pk}",
    )


@login_required
def return_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    agency_return = _visible_return(request, pk)
    ratings = list(
        agency_return.ratings.select_related("standard", "recommendation").prefetch_related(
            "evidence", "recommendation__actions"
        )
    )
    editable = agency_return.state in (
        Section11ReturnState.NOT_STARTED,
        Section11ReturnState.IN_PROGRESS,
    ) and agency_return.cycle.state in (CycleState.OPEN, CycleState.CHALLENGE)
    is_agency = may_complete(agency_return, request.user)
    is_reviewer = agency_return.reviewer_id == request.user.pk
    challenge = agency_return.state == Section11ReturnState.UNDER_CHALLENGE
    return render(
        request,
        "audits/section11_return.html",
        {
            "agency_return": agency_return,
            "ratings": [
                {
                    "rating": r,
                    "form": RatingForm(
                        prefix=f"r{r.pk}",
                        initial={
                            "self_rating": r.self_rating,
                            "commentary": r.commentary,
                            "not_applicable_reason": r.not_applicable_reason,
                        },
                    ),
                    "evidence_form": EvidenceForm(prefix=f"e{r.pk}"),
                    "challenge_form": ChallengeForm(prefix=f"c{r.pk}"),
                    "respond_form": RespondForm(prefix=f"a{r.pk}"),
                    "settle_form": SettleForm(prefix=f"s{r.pk}"),
                    "action_form": ActionForm(prefix=f"x{r.pk}"),
                    "can_respond": challenge and is_agency and r.proposed_rating and not r.agreed_rating,
                    "can_settle": challenge and is_reviewer and r.agency_response and not r.agreed_rating,
                    "needs_action": r.agreed_rating in (Rating.AMBER, Rating.RED),
                }
                for r in ratings
            ],
            "editable": editable and is_agency,
            # The agency keeps evidencing its ratings while the reviewer tests them.
            "can_add_evidence": (editable or challenge) and is_agency,
            "reviewing": challenge and is_reviewer,
            "can_plan": _can_plan(agency_return, request.user),
            "transitions": available_transitions(agency_return, request.user),
            "blocked": blocked_transitions(agency_return, request.user),
            "timeline": return_timeline(agency_return),
        },
    )


def _can_plan(agency_return: Any, user: Any) -> bool:
    """Actions for gaps are set by the agency, its reviewer or the partnership once ratings are agreed."""
    return agency_return.state in (
        Section11ReturnState.UNDER_CHALLENGE,
        Section11ReturnState.AGREED,
    ) and bool(user.has_perm("workflows.add_action"))


@login_required
@require_POST
def return_transition_view(request: AuthenticatedHttpRequest, pk: int, name: str) -> HttpResponse:
    agency_return = _visible_return(request, pk)
    return transition_from_post(request, agency_return, name, noun="return")


def _rating_post(
    request: AuthenticatedHttpRequest,
    pk: int,
    form_class: type[Any],
    prefix: str,
    call: Callable[..., Any],
    success: str,
) -> HttpResponse:
    """A form posted for one standard of a return the viewer may see, then back to the return."""
    rating = get_object_or_404(
        StandardRating.objects.select_related("agency_return", "standard"),
        pk=pk,
        agency_return__in=section11_returns_visible_to(request.user),
    )
    return post_form(
        request,
        form_class,
        lambda data: call(rating=rating, actor=request.user, **data),
        success,
        back_to=f"{rating.agency_return.get_absolute_url()}#standard-{rating.standard.number}",
        prefix=f"{prefix}{rating.pk}",
    )


@login_required
@require_POST
def rating_save_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _rating_post(request, pk, RatingForm, "r", services.rating_save, "Rating saved")


@login_required
@require_POST
def rating_evidence_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def add(**data: Any) -> Any:
        data["file"] = request.FILES.get(f"e{pk}-file")
        return services.rating_add_evidence(**data)

    return _rating_post(request, pk, EvidenceForm, "e", add, "Evidence added")


@login_required
@require_POST
def challenge_review_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _rating_post(request, pk, ChallengeForm, "c", services.challenge_review, "Challenge recorded")


@login_required
@require_POST
def challenge_respond_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _rating_post(request, pk, RespondForm, "a", services.challenge_respond, "Answer recorded")


@login_required
@require_POST
def challenge_settle_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _rating_post(request, pk, SettleForm, "s", services.challenge_settle, "Rating agreed")


@login_required
@require_POST
def rating_action_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _rating_post(
        request, pk, ActionForm, "x", services.rating_add_action, "Draft action added: agree it to start it"
    )


@login_required
def challenge_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Reminders about a challenge deadline link here and land on the return (which checks who may see it)."""
    challenge = get_object_or_404(Section11Challenge, pk=pk)
    return redirect(_visible_return(request, challenge.agency_return_id).get_absolute_url())
