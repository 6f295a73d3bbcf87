"""The managers' pages: the overdue-remediation queue (with bulk actions and exports), the dashboard and
the exception report for the partnership executive."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from workflows.forms import PersonChoiceField
from workflows.models import RAG
from workflows.selectors import oversees_work
from workflows.validators import id_from
from workflows.views.auth import AuthenticatedHttpRequest
from workflows.views.feedback import show_errors

from . import services
from .charts import horizontal_bars
from .dashboard import RAG_ORDER, dashboard
from .exception_report import exception_report, exception_report_mark_read, last_reading, since_last_month
from .exports import queue_csv, queue_xlsx
from .queue import (
    SORT_ALIASES,
    SORTS,
    capped_count,
    keyset_page,
    other_chased_items,
    overdue_queue,
)


def _require_queue(request: AuthenticatedHttpRequest) -> None:
    if not oversees_work(request.user):
        raise PermissionDenied("The queue is for managers and agency leads")


@login_required
def queue_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_queue(request)
    today = timezone.localdate()
    queue, actions = overdue_queue(request.user, request.GET, today=today)
    page = keyset_page(request.user, actions, request.GET)
    count, more = capped_count(actions)
    params = request.GET.copy()
    for mark in ("after", "before"):
        params.pop(mark, None)
    sort = request.GET.get("sort", "due")
    others, other_count = other_chased_items(request.user, request.GET, today=today)
    return render(
        request,
        "oversight/queue.html",
        {
            "filter": queue,
            "page": page,
            "count": count,
            "more": more,
            "query": params.urlencode(),
            "unsorted_query": _without(params, "sort"),
            "sort": sort,
            "sortable": [*SORTS, *SORT_ALIASES],
            "today": today,
            "can_escalate": request.user.has_perm("notifications.manage_chasing"),
            "others": others,
            "other_count": other_count,
        },
    )


def _without(params: Any, name: str) -> str:
    copy = params.copy()
    copy.pop(name, None)
    return str(copy.urlencode())


@login_required
@require_POST
def queue_bulk_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Apply a bulk action to the ticked items of the queue the person can see, then go back to it."""
    _require_queue(request)
    _, actions = overdue_queue(request.user, {})
    selected = actions.filter(pk__in=[i for i in map(id_from, request.POST.getlist("ids")) if i])
    # The page's filter comes back as its query string: parsed and encoded again, never pasted in.
    back = f"{reverse('queue')}?{QueryDict(request.POST.get('query', '')).urlencode()}"
    if not selected.exists():
        messages.error(request, "Tick at least one item in the queue")
        return redirect(back)
    what = request.POST.get("bulk")
    reason = request.POST.get("reason", "")
    try:
        if what == "reassign":
            picker = PersonChoiceField(error_messages={"required": "Say who the new owner is"})
            picker.scope_to(request.user)
            owner = picker.clean(request.POST.get("owner", ""))
            done = services.queue_reassign(actor=request.user, actions=selected, owner=owner, reason=reason)
            messages.success(request, f"{done} action{'s' if done != 1 else ''} reassigned")
        elif what == "escalate":
            done = services.queue_escalate(actor=request.user, actions=selected, reason=reason)
            messages.success(
                request, f"Escalated: {done} notice{'s' if done != 1 else ''} queued for delivery"
            )
        elif what == "chase":
            done = services.queue_chase_now(actor=request.user, actions=selected)
            messages.success(
                request, f"Chased: {done} owner{'s' if done != 1 else ''} will hear in their next digest"
            )
        else:
            messages.error(request, "Choose what to do with the ticked items")
    except (ValidationError, PermissionDenied) as error:
        show_errors(request, error)
    return redirect(back)


@login_required
def queue_export(
    request: AuthenticatedHttpRequest, kind: str
) -> HttpResponse | StreamingHttpResponse | FileResponse:
    _require_queue(request)
    today = timezone.localdate()
    queue, actions = overdue_queue(request.user, request.GET, today=today)
    if queue.form.errors:
        # The page shows each field's error; an export of a filter that was not applied would mislead.
        messages.error(request, "Correct the filter before exporting the queue")
        return redirect(f"{reverse('queue')}?{request.GET.urlencode()}")
    name = f"overdue-queue-{today:%Y-%m-%d}"
    if kind == "xlsx":
        return FileResponse(queue_xlsx(actions, today), as_attachment=True, filename=f"{name}.xlsx")
    if kind != "csv":
        raise PermissionDenied("The queue exports as .csv or .xlsx")
    response = StreamingHttpResponse(queue_csv(actions, today), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
def dashboard_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_queue(request)
    today = timezone.localdate()
    data = dashboard(request.user, today=today)
    rag_names = {RAG.RED: "Red", RAG.AMBER: "Amber", RAG.GREEN: "Green", RAG.NO_DATE: "No due date"}
    charts = {
        "rag": horizontal_bars(
            "Open actions by RAG for each agency",
            [(agency, [(r, counts.get(r, 0)) for r in RAG_ORDER]) for agency, counts in data.rag_by_agency],
            legend={"red": "Red", "amber": "Amber", "green": "Green", "no_date": "No due date"},
        ),
        "ageing": horizontal_bars(
            "Overdue actions by how long overdue", [(label, [("red", n)]) for label, n in data.ageing]
        ),
        "completed": horizontal_bars(
            "Actions completed each month", [(f"{m:%B %Y}", [("completed", c)]) for m, c, _ in data.months]
        ),
        "new": horizontal_bars(
            "New actions each month", [(f"{m:%B %Y}", [("new", n)]) for m, _, n in data.months]
        ),
        "stages": [
            horizontal_bars(label, [(stage, [("bar", n)]) for stage, n in counts])
            for label, counts in data.stages
        ],
    }
    return render(
        request,
        "oversight/dashboard.html",
        {
            "data": data,
            "charts": charts,
            "rag_names": rag_names,
            "rag_order": RAG_ORDER,
            "today": today,
        },
    )


def _since(params: Any) -> dt.date | None:
    """A date the reader chose to compare with (``?since=YYYY-MM-DD``), if a sensible one."""
    try:
        chosen = dt.date.fromisoformat(str(params.get("since", "")))
    except ValueError:
        return None
    return chosen if dt.date(2000, 1, 1) <= chosen <= timezone.localdate() else None


@login_required
def exception_report_page(request: AuthenticatedHttpRequest, kind: str = "html") -> HttpResponse:
    if not request.user.has_perm("workflows.view_all_agencies"):
        raise PermissionDenied("The exception report is for the partnership executive and managers")
    now = timezone.localtime()
    marked = last_reading(request.user)
    since = _since(request.GET) or marked or since_last_month(now.date())
    report = exception_report(request.user, request.GET, today=now.date(), since=since, for_pdf=kind == "pdf")
    params = request.GET.copy()
    for mark in ("after", "before"):
        params.pop(mark, None)
    context = {
        "report": report,
        "drawn_at": now,
        "today": now.date(),
        "since_chosen": _since(request.GET) is not None,
        "marked": marked,
        "query": params.urlencode(),
    }
    if kind == "pdf":
        try:
            from weasyprint import HTML
        except OSError:  # WeasyPrint loads Pango when imported; a machine without it can still print
            messages.error(
                request, "PDFs cannot be made on this server (Pango is missing): print this page instead"
            )
            return redirect("exception-report")
        html = render_to_string(
            "oversight/exception_report_pdf.html", {**context, "for_pdf": True}, request=request
        )
        pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="exception-report-{now:%Y-%m-%d}.pdf"'
        return response
    return render(request, "oversight/exception_report.html", context)


@login_required
@require_POST
def exception_report_mark_read_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The reader marks the report read: the next one says what changed since today."""
    if not request.user.has_perm("workflows.view_all_agencies"):
        raise PermissionDenied("The exception report is for the partnership executive and managers")
    exception_report_mark_read(user=request.user, today=timezone.localdate())
    messages.success(request, "Marked as read: next time the report says what changed since today")
    return redirect("exception-report")
