"""The filtered queue as CSV or Excel, streamed: rows are read from the database in chunks and written as
they come, so the web process's memory stays flat however long the queue is."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from workflows import deadlines
from workflows.exports import HEADERS
from workflows.spreadsheets import export_row

from .queue import with_latest_progress

QUEUE_HEADERS = [*HEADERS, "Agency", "Owner", "State", "Escalation level", "Days overdue"]
CHUNK = 2000


def queue_rows(actions: QuerySet[Any], today: dt.date) -> Iterator[list[Any]]:
    rows = (
        with_latest_progress(actions)
        .select_related(None)
        .values_list(
            "reference",
            "recommendation__text",
            "description",
            "due_on",
            "responsible_group",
            "outcome_measure",
            "difference_for_children",
            "latest_progress",
            "rag",
            "agency__name",
            "owner__first_name",
            "owner__last_name",
            "state",
            "escalation_level",
        )
    )
    # Every cell goes through export_row where it is made, so both the CSV and the Excel file get it.
    for (
        ref,
        priority,
        text,
        due,
        group,
        outcome,
        difference,
        progress,
        rag,
        agency,
        first,
        last,
        state,
        level,
    ) in rows.iterator(chunk_size=CHUNK):
        owner = f"{first} {last}".strip()
        yield export_row(
            [
                ref,
                priority,
                text,
                f"{due:%-d %B %Y}" if due else "",
                group or owner,
                outcome,
                difference,
                progress or "",
                str(rag).capitalize(),
                agency or "",
                owner,
                state.replace("_", " "),
                level,
                deadlines.days_overdue(due, today) if due else "",
            ]
        )


class _Echo:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def queue_csv(actions: QuerySet[Any], today: dt.date) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(export_row(QUEUE_HEADERS))  # a byte-order mark: Excel then reads UTF-8
    for row in queue_rows(actions, today):
        yield writer.writerow(row)


def queue_xlsx(actions: QuerySet[Any], today: dt.date) -> Any:
    """An Excel file written row by row (openpyxl's write-only mode) to a temporary file, returned open
    at its start for a FileResponse to stream."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Overdue queue")
    sheet.append(export_row(QUEUE_HEADERS))
    for row in queue_rows(actions, today):
        sheet.append(row)
    # Not a context manager: the FileResponse reads it and closes it when the download ends.
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return out
