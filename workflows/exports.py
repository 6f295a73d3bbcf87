"""A plan exported in the shape of the business-plan spreadsheet, so a partnership can keep sending its
board the table it knows while it moves; importing the export again changes nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db.models import OuterRef, Subquery

from .models import CLOSED_STATES, Action, Plan, ProgressNote
from .spreadsheets import export_row, sheet_title

HEADERS = [
    "Ref",
    "Priority",
    "Objective",
    "Date for completion",
    "Who Responsible / linked plan",
    "Outcome Measure",
    "What difference will it make for children and young people?",
    "Progress & Evidence",
    "RAG",
]


def plan_table(plan: Plan) -> tuple[list[str], list[list[str]]]:
    """The plan's actions as the spreadsheet's rows, in reference order; one query."""
    latest_progress = (
        ProgressNote.objects.filter(action=OuterRef("pk")).order_by("-at", "-id").values("text")[:1]
    )
    actions = (
        Action.objects.filter(recommendation__source_type__model="plan", recommendation__source_id=plan.pk)
        .select_related("recommendation", "owner")
        .annotate(progress=Subquery(latest_progress))
        .order_by("id")
    )
    rows: list[list[Any]] = []
    extra: list[str] = []
    for action in actions:
        extra += [name for name in action.extra_columns if name not in extra]
        owner = action.owner.get_full_name() if action.owner else ""
        rows.append(
            [
                action.reference,
                "" if action.recommendation.text == plan.name else action.recommendation.text,
                action.description,
                f"{action.due_on:%-d %B %Y}" if action.due_on else "",
                action.responsible_group or owner,
                action.outcome_measure,
                action.difference_for_children,
                action.progress or "",  # type: ignore[attr-defined]
                "Grey"
                if action.state in CLOSED_STATES
                else action.get_reported_rag_display()
                if action.reported_rag
                else "",
                action.extra_columns,
            ]
        )
    return HEADERS + extra, [row[:-1] + [row[-1].get(name, "") for name in extra] for row in rows]


def plan_csv(plan: Plan) -> bytes:
    headers, rows = plan_table(plan)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(export_row(headers))
    writer.writerows(export_row(row) for row in rows)
    # With a byte-order mark, so Excel opens the file as UTF-8.
    return out.getvalue().encode("utf-8-sig")


def plan_xlsx(plan: Plan) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    headers, rows = plan_table(plan)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title(plan.name, default="Plan")
    sheet.append(export_row(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(export_row(row))
    for number, column in enumerate(sheet.columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = 30
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
