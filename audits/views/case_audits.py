"""Pages for single-agency case audits and the case audit programme."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from workflows.forms import ActionForm, scope_people
from workflows.selectors import action_list, actions_visible_to
from workflows.transitions import available_transitions, blocked_transitions, permission_refusal
from workflows.validators import parse_date
from workflows.views.auth import AuthenticatedHttpRequest
from workflows.views.feedback import attempt, show_errors, transition_from_post

from ..models import CaseAudit, CaseAuditState
from ..models.case_audits import may_progress_case_audit
from ..selectors import case_audit_programme, case_audits_visible_to, object_timeline, quarter_of
from ..services import case_audits as services
from .forms import CaseAuditForm, GradeForm


def _visible_case_audit(request: AuthenticatedHttpRequest, pk: int) -> CaseAudit:
    return get_object_or_404(
        case_audits_visible_to(request.user).select_related(
            "agency", "case_worker", "auditor", "follow_up_by"
        ),
        pk=pk,
    )


def _quarter_day(request: AuthenticatedHttpRequest) -> dt.date:
    try:
        day = parse_date(request.GET.get("quarter", ""))
    except ValidationError as error:
        show_errors(request, error)
        day = None
    return day or timezone.localdate()


@login_required
def case_audit_list_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    day = _quarter_day(request)
    start, end, name = quarter_of(day)
    return render(
        request,
        "audits/case_audit_list.html",
        {
            "case_audits": case_audits_visible_to(request.user).select_related(
                "agency", "case_worker", "auditor"
            )[:200],
            "programme": case_audit_programme(request.user, quarter_containing=day),
            "quarter": name,
            "previous_quarter": start - dt.timedelta(days=1),
            "next_quarter": end + dt.timedelta(days=1),
        },
    )


@login_required
def case_audit_create_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not request.user.has_perm("audits.add_caseaudit"):
        raise PermissionDenied("Only auditors and agency leads schedule case audits")
    form = scope_people(CaseAuditForm(request.POST or None), request.user)
    if request.method == "POST" and form.is_valid():
        created: list[CaseAudit] = []
        if attempt(
            request,
            lambda: created.append(services.case_audit_schedule(actor=request.user, **form.cleaned_data)),
            "Case audit scheduled",
        ):
            return redirect("case-audit-detail", pk=created[0].pk)
    return render(request, "audits/case_audit_form.html", {"form": form})


@login_required
def case_audit_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case_audit = _visible_case_audit(request, pk)
    shortfalls = list(case_audit.shortfalls.select_related("checked_by"))
    actions = {
        a.pk: a
        for a in action_list(
            actions_visible_to(request.user).filter(pk__in=[s.action_id for s in shortfalls if s.action_id])
        )
    }
    progress = may_progress_case_audit(case_audit, request.user)
    checking = case_audit.state == CaseAuditState.FOLLOW_UP_CHECK
    check_refusal = permission_refusal(case_audit, "close", request.user)
    return render(
        request,
        "audits/case_audit_detail.html",
        {
            "case_audit": case_audit,
            "blocked": blocked_transitions(case_audit, request.user),
            "transitions": [
                t
                for t in available_transitions(case_audit, request.user)
                # These two are the outcome of the follow-up check form, which records each shortfall.
                if t.name not in ("close", "return_to_remedial_actions")
            ],
            "shortfalls": [
                (s, actions.get(s.action_id) if s.action_id else None, ActionForm(prefix=f"shortfall{s.pk}"))
                for s in shortfalls
            ],
            "timeline": sorted(object_timeline([case_audit], quiet={"state"}), key=lambda e: e.at),
            "can_grade": progress and case_audit.state == CaseAuditState.IN_PROGRESS,
            "can_set_actions": progress
            and case_audit.state in (CaseAuditState.GRADED, CaseAuditState.REMEDIAL_ACTIONS),
            "can_check": checking and check_refusal is None,
            # Why an auditor who could otherwise check may not (four eyes), instead of a missing form.
            "check_refusal": check_refusal
            if checking and request.user.has_perm("audits.progress_case_audit")
            else "",
            "grade_form": GradeForm(),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def case_audit_transition_view(request: AuthenticatedHttpRequest, pk: int, name: str) -> HttpResponse:
    case_audit = _visible_case_audit(request, pk)
    return transition_from_post(request, case_audit, name, noun="case audit")


@login_required
@require_POST
def case_audit_grade_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case_audit = _visible_case_audit(request, pk)
    form = GradeForm(request.POST)
    if form.is_valid():
        attempt(
            request,
            lambda: services.case_audit_grade(case_audit=case_audit, actor=request.user, **form.cleaned_data),
            "Grade recorded",
        )
    else:
        show_errors(request, ValidationError(form.errors.as_data()))
    return redirect("case-audit-detail", pk=case_audit.pk)


@login_required
@require_POST
def shortfall_action_view(request: AuthenticatedHttpRequest, pk: int, shortfall_pk: int) -> HttpResponse:
    case_audit = _visible_case_audit(request, pk)
    shortfall = get_object_or_404(case_audit.shortfalls.all(), pk=shortfall_pk)
    form = scope_people(ActionForm(request.POST, prefix=f"shortfall{shortfall.pk}"), request.user)
    if form.is_valid():
        attempt(
            request,
            lambda: services.shortfall_add_action(
                shortfall=shortfall, actor=request.user, **form.cleaned_data
            ),
            "Remedial action added: agree it to start it",
        )
    else:
        show_errors(request, ValidationError(form.errors.as_data()))
    return redirect("case-audit-detail", pk=case_audit.pk)


@login_required
@require_POST
def case_audit_follow_up_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case_audit = _visible_case_audit(request, pk)
    checks = []
    for shortfall in case_audit.shortfalls.all():
        answer = request.POST.get(f"addressed_{shortfall.pk}")
        if answer not in ("yes", "no"):
            show_errors(request, ValidationError(f"Say whether “{shortfall}” was addressed"))
            return redirect("case-audit-detail", pk=case_audit.pk)
        try:
            new_due_on = parse_date(request.POST.get(f"new_due_on_{shortfall.pk}", ""))
        except ValidationError as error:
            show_errors(request, error)
            return redirect("case-audit-detail", pk=case_audit.pk)
        checks.append(
            services.ShortfallCheck(
                shortfall_id=shortfall.pk,
                addressed=answer == "yes",
                comment=request.POST.get(f"comment_{shortfall.pk}", ""),
                new_due_on=new_due_on,
            )
        )
    attempt(
        request,
        lambda: services.case_audit_follow_up(case_audit=case_audit, actor=request.user, checks=checks),
        "Follow-up check recorded",
    )
    return redirect("case-audit-detail", pk=case_audit.pk)
