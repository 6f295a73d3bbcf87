"""Plans: import from a spreadsheet with a preview first, and export back in the same shape."""

from __future__ import annotations

from functools import partial

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import slugify

from ..exports import plan_csv, plan_xlsx
from ..imports.reading import FIELD_CHOICES, check_size, read_sheet
from ..models import OPEN_STATES, Action, Plan, PlanUpload
from ..services.plan_import import plan_import
from ..tasks import import_plan_upload
from .auth import AuthenticatedHttpRequest
from .feedback import show_errors


class UploadForm(forms.Form):
    file = forms.FileField(label="Plan spreadsheet", help_text="A .csv or .xlsx file, its first sheet")
    source = forms.CharField(
        label="Plan name",
        required=False,
        max_length=200,
        help_text="Importing again under the same name updates that plan; empty: the file's name",
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        check_size(upload.size)
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise ValidationError("Choose a .csv or .xlsx file")
        return upload


@login_required
@permission_required("workflows.view_all_agencies", raise_exception=True)
def plans_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    counts = {
        row["recommendation__source_id"]: row
        for row in Action.objects.filter(recommendation__source_type__model="plan")
        .values("recommendation__source_id")
        .annotate(actions=Count("id"), open=Count("id", filter=Q(state__in=OPEN_STATES)))
        .order_by()
    }
    plans = [(plan, counts.get(plan.pk, {"actions": 0, "open": 0})) for plan in Plan.objects.order_by("name")]
    return render(request, "workflows/plans.html", {"plans": plans})


@login_required
@permission_required("workflows.import_plan", raise_exception=True)
def plan_upload_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        try:
            read_sheet(upload.name, content)
        except ValidationError as error:
            show_errors(request, error)
        else:
            held = PlanUpload.objects.create(name=upload.name, content=content, uploaded_by=request.user)
            source = form.cleaned_data["source"] or upload.name.rsplit(".", 1)[0]
            return redirect(f"{reverse('plan-import', args=[held.pk])}?{urlencode({'source': source})}")
    return render(request, "workflows/plan_upload.html", {"form": form})


@login_required
@permission_required("workflows.import_plan", raise_exception=True)
def plan_import_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The preview (GET, with any columns the person mapped) and the import itself (POST)."""
    upload = get_object_or_404(PlanUpload, pk=pk, uploaded_by=request.user)
    if upload.status != PlanUpload.Status.HELD:
        return redirect("plan-import-progress", pk=upload.pk)
    params = request.POST if request.method == "POST" else request.GET
    sheet = read_sheet(upload.name, bytes(upload.content))
    source = (params.get("source") or upload.name.rsplit(".", 1)[0])[:200]
    chosen = {h: params[f"column_{i}"] for i, h in enumerate(sheet.headers) if params.get(f"column_{i}")}
    big = len(sheet.rows) > settings.PLAN_IMPORT_INLINE_ROWS
    if request.method == "POST" and big:
        # A worker imports it; the page follows its progress.
        PlanUpload.objects.filter(pk=upload.pk).update(
            status=PlanUpload.Status.QUEUED, source=source, mapping=chosen, rows=len(sheet.rows)
        )
        transaction.on_commit(partial(import_plan_upload.delay, upload.pk))
        return redirect("plan-import-progress", pk=upload.pk)
    # The preview (GET) reads and checks the rows and writes nothing.
    result = plan_import(
        actor=request.user, sheet=sheet, source=source, mapping=chosen, check_only=request.method != "POST"
    )
    if request.method == "POST" and result.saved:
        summary = result.summary()
        upload.delete()
        messages.success(
            request,
            f"Imported {summary['rows']} rows into “{source}”: {summary['created']} created, "
            f"{summary['updated']} updated, {len(summary['flagged'])} need a date or an owner",
        )
        return redirect("plans")
    return render(
        request,
        "workflows/plan_import.html",
        {
            "upload": upload,
            "source": source,
            "result": result,
            "summary": result.summary(),
            "columns": [(i, h, result.mapping.get(h, "")) for i, h in enumerate(sheet.headers)],
            "field_choices": FIELD_CHOICES,
            "big": big,
        },
    )


@login_required
@permission_required("workflows.import_plan", raise_exception=True)
def plan_import_progress_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """How far a worker has got with a big import, then its result. The page reloads itself every few
    seconds until the import has finished (a meta refresh: no JavaScript)."""
    upload = get_object_or_404(PlanUpload, pk=pk, uploaded_by=request.user)
    if upload.status == PlanUpload.Status.HELD:
        return redirect("plan-import", pk=upload.pk)
    return render(
        request,
        "workflows/plan_import_progress.html",
        {"upload": upload, "summary": upload.result or {}, "refresh_seconds": 3},
    )


@login_required
@permission_required("workflows.view_all_agencies", raise_exception=True)
def plan_export(request: AuthenticatedHttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in ("csv", "xlsx"):
        raise Http404("Plans export as .csv or .xlsx")
    plan = get_object_or_404(Plan, pk=pk)
    name = slugify(plan.name) or "plan"
    if kind == "xlsx":
        response = HttpResponse(
            plan_xlsx(plan), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    else:
        response = HttpResponse(plan_csv(plan), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response
