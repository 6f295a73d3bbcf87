from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from workflows.views.auth import AuthenticatedHttpRequest
from workflows.views.feedback import show_errors

from . import selectors, services
from .models import ChasePause, ChasePolicy, NotificationPreference


def _manager_only(request: AuthenticatedHttpRequest) -> None:
    if not request.user.has_perm("notifications.manage_chasing"):
        raise PermissionDenied("Only managers manage chasing")


@login_required
def notifications_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    preference = NotificationPreference.objects.filter(user=request.user).first()
    return render(
        request,
        "notifications/notifications.html",
        {
            "digests": selectors.digests_for(request.user)[:50],
            "waiting": selectors.waiting_for(request.user),
            "delivery": preference.delivery if preference else NotificationPreference.Delivery.DAILY,
            "choices": NotificationPreference.Delivery.choices,
        },
    )


@login_required
@require_POST
def preference_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        services.preference_set(user=request.user, delivery=request.POST.get("delivery", ""))
    except ValidationError as error:
        show_errors(request, error)
    else:
        messages.success(request, "Your choice is saved")
    return redirect("notifications")


@login_required
def chasing_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    _manager_only(request)
    policy = ChasePolicy.current()
    now = timezone.now()
    delivery = selectors.delivery_state(now=now)
    waited = delivery.waited(now)
    # A page number past any real list is the last page anyone could ask for, never an overflow.
    page = min(int(request.GET["page"]), 100_000) if request.GET.get("page", "").isdigit() else 1
    preview = selectors.first_sweep_preview(page=page)
    per_page = selectors.PREVIEW_PEOPLE_PER_PAGE
    return render(
        request,
        "notifications/chasing.html",
        {
            "policy": policy,
            "preview": preview,
            "page": page,
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if page * per_page < preview.people else None,
            "pauses": selectors.active_pauses(),
            "sources": selectors.pausable_sources(),
            "undated": selectors.needs_a_date(),
            "delivery": delivery,
            "waited": selectors.in_words(waited) if waited is not None else "",
        },
    )


@login_required
@require_POST
def chasing_confirm_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    _manager_only(request)
    try:
        result = services.chasing_confirm(actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, f"Chasing is on: {result.count} reminders and escalations are on their way")
    return redirect("chasing")


@login_required
@require_POST
def chasing_pause_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    _manager_only(request)
    try:
        type_id, _, source_id = request.POST.get("source", "").partition(":")
        model = ContentType.objects.get_for_id(int(type_id)).model_class()
        if model is None:
            raise Http404
        source = get_object_or_404(model, pk=int(source_id))
    except (ValueError, ContentType.DoesNotExist):
        messages.error(request, "Choose what to pause chasing for")
        return redirect("chasing")
    try:
        services.chasing_pause(actor=request.user, source=source, reason=request.POST.get("reason", ""))
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, f"Chasing paused for {source}")
    return redirect("chasing")


@login_required
@require_POST
def chasing_resume_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _manager_only(request)
    pause = get_object_or_404(ChasePause, pk=pk)
    try:
        services.chasing_resume(actor=request.user, pause=pause)
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, "Chasing resumed")
    return redirect("chasing")
