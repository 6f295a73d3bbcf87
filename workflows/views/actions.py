"""Pages for action owners and managers. Each view parses input, calls one service or selector, renders."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..models import RAG, Action, Evidence, ExtensionRequest
from ..models.actions import may_work_on
from ..selectors import (
    action_list,
    action_timeline,
    actions_visible_to,
    awaiting_sign_off,
    my_work,
    pending_extensions,
)
from ..services import actions as services
from ..transitions import TransitionConflict, TransitionRefused, available_transitions, blocked_transitions
from ..worklist import other_work
from .auth import AuthenticatedHttpRequest
from .feedback import show_errors


class ProgressForm(forms.Form):
    text = forms.CharField(label="What progress has been made?", widget=forms.Textarea(attrs={"rows": 4}))
    reported_rag = forms.ChoiceField(
        label="Your own RAG rating (optional)",
        required=False,
        choices=[("", "No rating"), (RAG.GREEN, "Green"), (RAG.AMBER, "Amber"), (RAG.RED, "Red")],
    )


class EvidenceForm(forms.Form):
    description = forms.CharField(label="What does this evidence show?", max_length=300)
    file = forms.FileField(label="Upload a file", required=False)
    url = forms.URLField(label="Or give a link", required=False, assume_scheme="https")


class ExtensionForm(forms.Form):
    requested_due_on = forms.DateField(label="New due date", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Why is more time needed?", widget=forms.Textarea(attrs={"rows": 3}))


def _visible_action(request: AuthenticatedHttpRequest, pk: int) -> Action:
    # 404, not 403, for someone outside the action's agency: they learn nothing about it.
    return get_object_or_404(action_list(actions_visible_to(request.user)), pk=pk)


@login_required
def my_work_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "workflows/my_work.html",
        {"actions": my_work(request.user), "other_work": other_work(request.user)},
    )


@login_required
def sign_off_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not request.user.has_perm("workflows.sign_off_action"):
        raise PermissionDenied("Only managers sign off actions")
    return render(
        request,
        "workflows/sign_off.html",
        {"actions": awaiting_sign_off(request.user), "extensions": pending_extensions(request.user)},
    )


@login_required
def action_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    can_work = may_work_on(action, request.user) and action.is_open
    return render(
        request,
        "workflows/action_detail.html",
        {
            "action": action,
            "transitions": available_transitions(action, request.user),
            "blocked": blocked_transitions(action, request.user),
            "timeline": action_timeline(action),
            "evidence": action.evidence.select_related("added_by"),
            "progress_notes": action.progress_notes.select_related("author"),
            "extensions": action.extension_requests.select_related("requested_by", "decided_by"),
            "can_work": can_work,
            "can_decide_extension": request.user.has_perm("workflows.decide_extension")
            and action.owner_id != request.user.pk,
            "progress_form": ProgressForm(),
            "evidence_form": EvidenceForm(),
            "extension_form": ExtensionForm(),
            "follow_ups": action.follow_ups.all(),
        },
    )


@login_required
@require_POST
def action_transition_view(request: AuthenticatedHttpRequest, pk: int, name: str) -> HttpResponse:
    action = _visible_action(request, pk)
    try:
        services.action_transition(
            action=action,
            actor=request.user,
            name=name,
            comment=request.POST.get("comment", ""),
            expected_state=request.POST.get("state") or None,
        )
    except (TransitionRefused, TransitionConflict) as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Done: the action is now {action.get_state_display().lower()}")
    return redirect("action-detail", pk=action.pk)


@login_required
@require_POST
def action_progress_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    form = ProgressForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the progress made")
        return redirect("action-detail", pk=action.pk)
    try:
        services.action_add_progress(action=action, actor=request.user, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, "Progress recorded")
    return redirect("action-detail", pk=action.pk)


@login_required
@require_POST
def action_evidence_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        show_errors(request, ValidationError(form.errors.as_data()))
        return redirect("action-detail", pk=action.pk)
    try:
        services.action_add_evidence(
            action=action,
            actor=request.user,
            description=form.cleaned_data["description"],
            file=form.cleaned_data["file"],
            url=form.cleaned_data["url"],
        )
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, "Evidence added")
    return redirect("action-detail", pk=action.pk)


@login_required
@require_POST
def action_extension_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    form = ExtensionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid new date and a reason")
        return redirect("action-detail", pk=action.pk)
    try:
        services.action_request_extension(action=action, actor=request.user, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, "Extension requested: a manager will decide")
    return redirect("action-detail", pk=action.pk)


@login_required
@require_POST
def extension_decide_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    extension = get_object_or_404(
        ExtensionRequest.objects.select_related("action"), pk=pk, action__in=actions_visible_to(request.user)
    )
    try:
        services.action_decide_extension(
            extension=extension,
            actor=request.user,
            approve=request.POST.get("decision") == "approve",
            comment=request.POST.get("comment", ""),
        )
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    else:
        messages.success(request, f"Extension {extension.get_decision_display().lower()}")
    return redirect("action-detail", pk=extension.action_id)


@login_required
def evidence_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    evidence = get_object_or_404(Evidence, pk=pk, action__in=actions_visible_to(request.user), file__gt="")
    return FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name or "evidence",
        content_type=evidence.content_type or "application/octet-stream",
    )
