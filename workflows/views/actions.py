"""Pages for action owners and managers. Each view parses input, calls one service or selector, renders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..forms import DATE, PersonChoiceField, scope_people
from ..models import RAG, Action, ActionChangeRequest, ActionState, Evidence, ExtensionRequest, Theme
from ..models.actions import WORDING_FIELDS, ActionRequest, decide_refusal, may_work_on
from ..selectors import (
    action_list,
    action_timeline,
    actions_visible_to,
    awaiting_sign_off,
    my_work,
    pending_change_requests,
    pending_extensions,
)
from ..services import actions as services
from ..services.actions import DRAFT_ONLY_FIELDS
from ..transitions import TransitionConflict, TransitionRefused, available_transitions, blocked_transitions
from ..worklist import other_work
from .auth import AuthenticatedHttpRequest
from .feedback import attempt, post_form, show_errors


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


class ActionEditForm(forms.Form):
    """What the people working on an action may set on its page: everything while it is a draft (the
    lead or manager then agrees it); once agreed, the wording goes through a change request and the due
    date through an extension."""

    description = forms.CharField(label="What will be done (SMART)", widget=forms.Textarea(attrs={"rows": 3}))
    outcome_measure = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    difference_for_children = forms.CharField(
        label="Difference it will make for children", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = PersonChoiceField(required=False)
    due_on = forms.DateField(label="Due date", required=False, widget=DATE)
    theme = forms.ModelChoiceField(queryset=Theme.objects.all(), required=False)
    priority = forms.ChoiceField(choices=Action.Priority.choices)

    def __init__(self, *args: Any, action: Action, viewer: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {name: getattr(action, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        if action.state != ActionState.DRAFT:
            for name in [*WORDING_FIELDS, *DRAFT_ONLY_FIELDS]:
                del self.fields[name]
            return
        owner = scope_people(self, viewer).fields["owner"]
        assert isinstance(owner, PersonChoiceField)
        if action.agency_id is not None:
            # The owner works for the action's agency (the service says so too, for the API).
            owner.queryset = owner.queryset.filter(person__agency_id=action.agency_id)


class ChangeRequestForm(forms.Form):
    description = forms.CharField(label="What will be done (SMART)", widget=forms.Textarea(attrs={"rows": 3}))
    outcome_measure = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    difference_for_children = forms.CharField(
        label="Difference it will make for children", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(label="Why should the wording change?", widget=forms.Textarea(attrs={"rows": 3}))


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
        {
            "actions": awaiting_sign_off(request.user),
            "extensions": pending_extensions(request.user),
            "change_requests": pending_change_requests(request.user),
        },
    )


@login_required
def action_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    can_work = may_work_on(action, request.user) and action.is_open
    extensions = list(action.extension_requests.select_related("requested_by", "decided_by"))
    change_requests = list(action.change_requests.select_related("requested_by", "decided_by"))
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
            "extensions": extensions,
            "change_requests": change_requests,
            "decidable_extensions": _decidable(request, extensions),
            "decidable_changes": _decidable(request, change_requests),
            "can_work": can_work,
            "edit_form": ActionEditForm(action=action, viewer=request.user) if can_work else None,
            "change_form": ChangeRequestForm(initial={n: getattr(action, n) for n in WORDING_FIELDS})
            if can_work and action.state != ActionState.DRAFT
            else None,
            "progress_form": ProgressForm(),
            "evidence_form": EvidenceForm(),
            "extension_form": ExtensionForm(),
            "follow_ups": action.follow_ups.all(),
        },
    )


def _decidable(request: AuthenticatedHttpRequest, requests: Sequence[ActionRequest]) -> set[int]:
    """The ids of the pending requests the viewer may decide, so the page offers only those."""
    return {
        r.pk for r in requests if r.decision == r.Decision.PENDING and decide_refusal(r, request.user) is None
    }


@login_required
@require_POST
def action_edit_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    form = ActionEditForm(request.POST, action=action, viewer=request.user)
    if not form.is_valid():
        show_errors(request, ValidationError(form.errors.as_data()))
        return redirect("action-detail", pk=action.pk)
    changes = {k: v for k, v in form.cleaned_data.items() if getattr(action, k) != v}
    attempt(
        request,
        lambda: services.action_update(action=action, actor=request.user, **changes),
        "Saved" if changes else "Nothing changed",
    )
    return redirect("action-detail", pk=action.pk)


@login_required
@require_POST
def action_change_request_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    action = _visible_action(request, pk)
    return post_form(
        request,
        ChangeRequestForm,
        lambda data: services.action_request_change(action=action, actor=request.user, **data),
        "Change requested: another manager will decide; the agreed wording stands until then",
        back_to=reverse("action-detail", args=[action.pk]),
    )


def _decide_request(
    request: AuthenticatedHttpRequest,
    requests: QuerySet[ActionRequest],
    pk: int,
    decide: Callable[..., ActionRequest],
    keyword: str,
    noun: str,
) -> HttpResponse:
    """Approve or refuse one of an action's requests from the page: one view for every kind of request."""
    asked = get_object_or_404(requests, pk=pk, action__in=actions_visible_to(request.user))
    attempt(
        request,
        lambda: decide(
            **{keyword: asked},
            actor=request.user,
            approve=request.POST.get("decision") == "approve",
            comment=request.POST.get("comment", ""),
        ),
        lambda: f"{noun} {asked.get_decision_display().lower()}",
    )
    return redirect("action-detail", pk=asked.action_id)


@login_required
@require_POST
def change_request_decide_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _decide_request(
        request,
        ActionChangeRequest.objects.select_related("action"),
        pk,
        services.action_decide_change,
        "change",
        "Change request",
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
    return _decide_request(
        request,
        ExtensionRequest.objects.select_related("action"),
        pk,
        services.action_decide_extension,
        "extension",
        "Extension",
    )


@login_required
def evidence_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    evidence = get_object_or_404(Evidence, pk=pk, action__in=actions_visible_to(request.user), file__gt="")
    return FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name or "evidence",
        content_type=evidence.content_type or "application/octet-stream",
    )
