"""Pages for rapid reviews, practice reviews, agencies' chronologies and the reviews dashboard. Each view
parses input, calls one service or selector, renders. Someone who may not see a review gets 404."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from workflows.forms import ActionForm, RecommendationForm, scope_people
from workflows.transitions import available_transitions, blocked_transitions
from workflows.views.auth import AuthenticatedHttpRequest
from workflows.views.feedback import attempt, post_form, transition_from_post

from .. import services
from ..models import ChronologyState, PracticeReview, RapidReview, RapidReviewState, may_submit_chronology
from ..selectors import (
    chronologies_visible_to,
    clock_rows,
    clocks_of,
    practice_reviews_visible_to,
    rapid_reviews_visible_to,
    review_actions,
    review_dashboard,
    review_timeline,
)
from .forms import (
    AskAgencyForm,
    ChronologyForm,
    PracticeReviewCreateForm,
    PracticeReviewForm,
    RapidReviewCreateForm,
    RapidReviewForm,
)

KINDS: dict[str, Any] = {
    "rapid": (RapidReview, rapid_reviews_visible_to, RapidReviewForm, services.rapid_review_update),
    "practice": (
        PracticeReview,
        practice_reviews_visible_to,
        PracticeReviewForm,
        services.practice_review_update,
    ),
}


def _visible(request: AuthenticatedHttpRequest, kind: str, pk: int) -> Any:
    if kind not in KINDS:
        raise Http404("There is no such kind of review")
    _, visible, _, _ = KINDS[kind]
    return get_object_or_404(visible(request.user), pk=pk)


def _require_progress(request: AuthenticatedHttpRequest) -> None:
    if not request.user.has_perm("reviews.progress_review"):
        raise PermissionDenied("Only reviewers and managers run reviews")


@login_required
def dashboard_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(
        request,
        "reviews/dashboard.html",
        {
            "rows": review_dashboard(request.user, on=today),
            "rapid_reviews": rapid_reviews_visible_to(request.user).select_related("lead")[:200],
            "practice_reviews": practice_reviews_visible_to(request.user).select_related("lead")[:200],
            "today": today,
        },
    )


def _create(
    request: AuthenticatedHttpRequest, form_class: type[Any], service: Any, title: str
) -> HttpResponse:
    _require_progress(request)
    # A practice review commissioned from its rapid review's page arrives with ?rapid_review=<id>.
    form = scope_people(form_class(request.POST or None, initial=request.GET.dict()), request.user)
    if request.method == "POST" and form.is_valid():
        created: list[Any] = []
        if attempt(
            request, lambda: created.append(service(actor=request.user, **form.cleaned_data)), "Recorded"
        ):
            return redirect(created[0].get_absolute_url())
    return render(request, "reviews/review_form.html", {"form": form, "title": title, "review": None})


@login_required
def rapid_review_create_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _create(
        request, RapidReviewCreateForm, services.rapid_review_create, "Record a serious incident notification"
    )


@login_required
def practice_review_create_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _create(
        request, PracticeReviewCreateForm, services.practice_review_create, "Commission a practice review"
    )


@login_required
def review_edit_page(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    review = _visible(request, kind, pk)
    _require_progress(request)
    _, _, form_class, update = KINDS[kind]
    form = scope_people(
        form_class(request.POST or None, instance=review if request.method == "GET" else None), request.user
    )
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if getattr(review, k) != v}
        if attempt(request, lambda: update(review=review, actor=request.user, **changes), "Saved"):
            return redirect(review.get_absolute_url())
    return render(
        request, "reviews/review_form.html", {"form": form, "title": f"Change {review}", "review": review}
    )


def _review_context(
    request: AuthenticatedHttpRequest, kind: str, review: RapidReview | PracticeReview
) -> dict[str, Any]:
    today = timezone.localdate()
    clocks = clocks_of(review)
    rows = clock_rows(clocks, {(c.source_type_id, c.source_id): review for c in clocks}, today)
    actions = list(review_actions(review, request.user))
    progress = request.user.has_perm("reviews.progress_review")
    return {
        "review": review,
        "clocks": rows,
        "timeline": review_timeline(review, clocks, request.user),
        "transitions": available_transitions(review, request.user),
        "blocked": blocked_transitions(review, request.user),
        "recommendations": [
            (
                rec,
                [a for a in actions if a.recommendation_id == rec.pk],
                ActionForm(prefix=f"rec{rec.pk}"),
                reverse("review-action-add", args=[kind, review.pk, rec.pk]),
            )
            for rec in review.recommendations.all()
        ],
        "recommendation_url": reverse("review-recommendation-add", args=[kind, review.pk]),
        "transition_url": reverse("review-transition", args=[kind, review.pk, "NAME"]),
        "can_edit": progress and review.is_open,
        "can_recommend": progress and review.state in services.RECOMMENDING[type(review)],
        "can_plan": progress and review.state in services.PLANNING[type(review)],
        "recommendation_form": RecommendationForm(),
        "today": today,
    }


@login_required
def rapid_review_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    review = _visible(request, "rapid", pk)
    context = _review_context(request, "rapid", review)
    context.update(
        {
            "chronologies": chronologies_visible_to(request.user)
            .filter(review=review)
            .select_related("agency", "owner"),
            "can_ask": context["can_edit"]
            and review.state in (RapidReviewState.NOTIFIED, RapidReviewState.INFORMATION_GATHERING),
            "ask_form": scope_people(AskAgencyForm(), request.user),
            "practice_review": getattr(review, "practice_review", None),
        }
    )
    return render(request, "reviews/rapid_review_detail.html", context)


@login_required
def practice_review_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    review = _visible(request, "practice", pk)
    return render(
        request, "reviews/practice_review_detail.html", _review_context(request, "practice", review)
    )


@login_required
@require_POST
def review_transition_view(request: AuthenticatedHttpRequest, kind: str, pk: int, name: str) -> HttpResponse:
    review = _visible(request, kind, pk)
    return transition_from_post(request, review, name, noun="review")


@login_required
@require_POST
def rapid_review_ask_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    review = _visible(request, "rapid", pk)
    return post_form(
        request,
        AskAgencyForm,
        lambda data: services.rapid_review_ask_agency(review=review, actor=request.user, **data),
        "Agency asked for its chronology",
        back_to=review.get_absolute_url(),
    )


@login_required
@require_POST
def review_recommendation_view(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    review = _visible(request, kind, pk)
    return post_form(
        request,
        RecommendationForm,
        lambda data: services.review_add_recommendation(review=review, actor=request.user, **data),
        "Recommendation added",
        back_to=review.get_absolute_url(),
    )


@login_required
@require_POST
def review_action_view(
    request: AuthenticatedHttpRequest, kind: str, pk: int, recommendation_pk: int
) -> HttpResponse:
    review = _visible(request, kind, pk)
    recommendation = get_object_or_404(review.recommendations.all(), pk=recommendation_pk)
    return post_form(
        request,
        ActionForm,
        lambda data: services.review_add_action(
            review=review, recommendation=recommendation, actor=request.user, **data
        ),
        "Draft action added: agree it to start it",
        back_to=review.get_absolute_url(),
        prefix=f"rec{recommendation.pk}",
    )


@login_required
def chronology_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    chronology = get_object_or_404(
        chronologies_visible_to(request.user).select_related("review", "agency", "owner"), pk=pk
    )
    form = ChronologyForm(request.POST or None, initial={"summary": chronology.summary})
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        if attempt(
            request,
            lambda: services.chronology_save(
                chronology=chronology, actor=request.user, summary=form.cleaned_data["summary"], submit=submit
            ),
            "Chronology submitted: thank you" if submit else "Saved: submit it when it is complete",
        ):
            return redirect("chronology-detail", pk=chronology.pk)
    editable = (
        chronology.state == ChronologyState.OWED
        and chronology.review.state in (RapidReviewState.NOTIFIED, RapidReviewState.INFORMATION_GATHERING)
        and may_submit_chronology(chronology, request.user)
    )
    return render(
        request,
        "reviews/chronology_form.html",
        {"chronology": chronology, "form": form, "editable": editable},
    )
