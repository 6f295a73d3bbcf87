"""Pages for multi-agency audits and agency returns. Each view parses input, calls one service or selector,
renders. Someone who may not see an audit or a return gets 404: they learn nothing about it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from workflows.forms import ActionForm, RecommendationForm, scope_people
from workflows.transitions import available_transitions, blocked_transitions
from workflows.views.auth import AuthenticatedHttpRequest
from workflows.views.feedback import attempt, post_form, transition_from_post

from ..models import AgencyReturn, Audit, AuditCase, AuditState, ReturnState
from ..models.audits import may_complete_return
from ..selectors import (
    audit_actions,
    audit_list,
    audit_returns,
    audit_timeline,
    audits_visible_to,
    returns_visible_to,
)
from ..services import audits as services
from .forms import (
    AuditCreateForm,
    AuditForm,
    CaseForm,
    FindingForm,
    ModerationForm,
    ParticipationForm,
    ReturnForm,
)


def _visible_audit(request: AuthenticatedHttpRequest, pk: int) -> Audit:
    return get_object_or_404(
        audits_visible_to(request.user).select_related("theme", "lead_auditor", "chair"), pk=pk
    )


@login_required
def audit_list_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "audits/audit_list.html", {"audits": audit_list(request.user)})


@login_required
def audit_create_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not request.user.has_perm("audits.add_audit"):
        raise PermissionDenied("Only auditors and managers commission audits")
    form = scope_people(AuditCreateForm(request.POST or None), request.user)
    if request.method == "POST" and form.is_valid():
        created: list[Audit] = []
        if attempt(
            request,
            lambda: created.append(services.audit_create(actor=request.user, **form.cleaned_data)),
            "Audit commissioned",
        ):
            return redirect("audit-detail", pk=created[0].pk)
    return render(request, "audits/audit_form.html", {"form": form, "audit": None})


@login_required
def audit_edit_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    if not request.user.has_perm("audits.progress_audit"):
        raise PermissionDenied("Only auditors and managers change audits")
    form = scope_people(
        AuditForm(request.POST or None, instance=audit if request.method == "GET" else None), request.user
    )
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if getattr(audit, k) != v}
        if attempt(
            request, lambda: services.audit_update(audit=audit, actor=request.user, **changes), "Saved"
        ):
            return redirect("audit-detail", pk=audit.pk)
    return render(request, "audits/audit_form.html", {"form": form, "audit": audit})


@login_required
def audit_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    returns = list(audit_returns(audit, request.user))
    cases = list(audit.cases.select_related("moderated_by"))
    returns_by_case: dict[int, list[AgencyReturn]] = {}
    for agency_return in returns:
        returns_by_case.setdefault(agency_return.case_id, []).append(agency_return)
    recommendations = list(audit.recommendations.select_related("theme"))
    actions = list(audit_actions(audit, request.user))
    progress = request.user.has_perm("audits.progress_audit")
    return render(
        request,
        "audits/audit_detail.html",
        {
            "audit": audit,
            "transitions": available_transitions(audit, request.user),
            "blocked": blocked_transitions(audit, request.user),
            "participations": audit.participations.select_related("agency", "contact"),
            "cases": [
                (
                    case,
                    returns_by_case.get(case.pk, []),
                    ModerationForm(
                        prefix=f"case{case.pk}",
                        initial={"agreed_grade": case.agreed_grade, "grade_reasons": case.grade_reasons},
                    ),
                )
                for case in cases
            ],
            "returns_owed": [r for r in returns if r.state == ReturnState.OWED],
            "findings": audit.findings.select_related("recorded_by"),
            "recommendations": [
                (
                    rec,
                    [a for a in actions if a.recommendation_id == rec.pk],
                    ActionForm(prefix=f"rec{rec.pk}"),
                    reverse("audit-action-add", args=[audit.pk, rec.pk]),
                )
                for rec in recommendations
            ],
            "recommendation_url": reverse("audit-recommendation-add", args=[audit.pk]),
            "actions": actions,
            "timeline": audit_timeline(audit, returns),
            "can_scope": progress and audit.is_scoping,
            "can_moderate": progress and audit.state == AuditState.MODERATION,
            "can_report": progress and audit.state in (AuditState.REPORTING, AuditState.ACTION_PLANNING),
            "can_add_findings": progress and audit.state == AuditState.REPORTING,
            "can_plan": progress and audit.state in (AuditState.ACTION_PLANNING, AuditState.MONITORING),
            "can_edit": progress and audit.state not in (AuditState.CLOSED, AuditState.CANCELLED),
            "case_form": CaseForm(),
            "participation_form": scope_people(ParticipationForm(), request.user),
            "finding_form": FindingForm(),
            "recommendation_form": RecommendationForm(),
        },
    )


@login_required
@require_POST
def audit_transition_view(request: AuthenticatedHttpRequest, pk: int, name: str) -> HttpResponse:
    audit = _visible_audit(request, pk)
    return transition_from_post(request, audit, name, noun="audit")


@login_required
@require_POST
def audit_case_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    return post_form(
        request,
        CaseForm,
        lambda data: services.audit_add_case(audit=audit, actor=request.user, **data),
        "Case added to the sample",
        back_to=audit.get_absolute_url(),
    )


@login_required
@require_POST
def audit_agency_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    return post_form(
        request,
        ParticipationForm,
        lambda data: services.audit_add_agency(audit=audit, actor=request.user, **data),
        "Agency added",
        back_to=audit.get_absolute_url(),
    )


@login_required
@require_POST
def case_moderate_view(request: AuthenticatedHttpRequest, pk: int, case_pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    case = get_object_or_404(AuditCase, pk=case_pk, audit=audit)
    return post_form(
        request,
        ModerationForm,
        lambda data: services.case_moderate(case=case, actor=request.user, **data),
        f"Grade agreed for case {case.reference}",
        back_to=audit.get_absolute_url(),
        prefix=f"case{case.pk}",
    )


@login_required
@require_POST
def finding_add_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    return post_form(
        request,
        FindingForm,
        lambda data: services.finding_add(audit=audit, actor=request.user, **data),
        "Finding recorded",
        back_to=audit.get_absolute_url(),
    )


@login_required
@require_POST
def recommendation_add_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    return post_form(
        request,
        RecommendationForm,
        lambda data: services.audit_add_recommendation(audit=audit, actor=request.user, **data),
        "Recommendation added",
        back_to=audit.get_absolute_url(),
    )


@login_required
@require_POST
def no_recommendations_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    decided = request.POST.get("decided") == "yes"
    attempt(
        request,
        lambda: services.audit_decide_no_recommendations(
            audit=audit, actor=request.user, decided=decided, reason=request.POST.get("reason", "")
        ),
        "Recorded: no recommendations are needed" if decided else "Decision withdrawn",
    )
    return redirect("audit-detail", pk=audit.pk)


@login_required
@require_POST
def audit_action_add_view(request: AuthenticatedHttpRequest, pk: int, recommendation_pk: int) -> HttpResponse:
    audit = _visible_audit(request, pk)
    recommendation = get_object_or_404(audit.recommendations.all(), pk=recommendation_pk)
    return post_form(
        request,
        ActionForm,
        lambda data: services.audit_add_action(
            audit=audit, recommendation=recommendation, actor=request.user, **data
        ),
        "Draft action added: agree it to start it",
        back_to=audit.get_absolute_url(),
        prefix=f"rec{recommendation.pk}",
    )


@login_required
def return_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    agency_return = get_object_or_404(
        returns_visible_to(request.user).select_related("case__audit", "agency", "owner"), pk=pk
    )
    form = ReturnForm(request.POST or None, instance=agency_return if request.method == "GET" else None)
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        if attempt(
            request,
            lambda: services.return_save(
                agency_return=agency_return, actor=request.user, submit=submit, **form.cleaned_data
            ),
            "Return submitted: thank you" if submit else "Return saved: submit it when it is complete",
        ):
            return redirect("return-detail", pk=agency_return.pk)
    return render(
        request,
        "audits/return_form.html",
        {
            "agency_return": agency_return,
            "form": form,
            "editable": agency_return.state == ReturnState.OWED
            and agency_return.case.audit.state == AuditState.FIELDWORK
            and may_complete_return(agency_return, request.user),
        },
    )
