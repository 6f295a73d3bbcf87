"""Reading a plan spreadsheet (.csv or .xlsx) into rows keyed by what each column means.

Columns are recognised by name, with the synonyms real plans use, ignoring case and punctuation. A
column nobody recognises is kept, and what it holds is imported as notes on the action.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError

from ..spreadsheets import imported_cell

# What each column means, the names plans give it (normalised: lower case, words only), and its label.
FIELDS: dict[str, tuple[str, list[str]]] = {
    "reference": ("Reference", ["ref", "reference", "ref no", "no", "number", "id"]),
    "priority": (
        "Priority or theme",
        ["priority", "strategic priority", "priority area", "theme", "strategic theme", "area"],
    ),
    "description": ("Action", ["objective", "objectives", "action", "actions", "what will be done", "task"]),
    "due": (
        "Due date",
        [
            "date for completion",
            "timescale",
            "timescales",
            "due date",
            "due",
            "deadline",
            "target date",
            "by when",
            "completion date",
        ],
    ),
    "responsible": (
        "Who is responsible",
        [
            "who responsible",
            "who responsible linked plan",
            "who is responsible",
            "lead officer",
            "owner",
            "responsible",
            "lead",
            "responsible officer",
        ],
    ),
    "outcome_measure": (
        "Outcome measure",
        [
            "outcome measure",
            "outcome measures",
            "evidence of success",
            "success measure",
            "measure of success",
        ],
    ),
    "difference_for_children": (
        "Difference for children",
        [
            "what difference will it make for children and young people",
            "difference for children",
            "difference for children and young people",
            "impact on children",
        ],
    ),
    "progress": (
        "Progress",
        ["progress", "progress and evidence", "progress evidence", "update", "progress update"],
    ),
    "rag": ("RAG", ["rag", "status", "rag status", "rag rating"]),
}
FIELD_CHOICES = [(name, label) for name, (label, _) in FIELDS.items()]
MAX_ROWS = 5000


def normalise(header: str) -> str:
    text = header.lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def recognise(header: str) -> str | None:
    key = normalise(header)
    return next((name for name, (_, names) in FIELDS.items() if key in names), None)


@dataclass
class Sheet:
    """The rows of a plan file: its headers, and each row as header → cell, numbered as the file shows."""

    headers: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def mapping(self, chosen: dict[str, str] | None = None) -> dict[str, str]:
        """Header → field for every header recognised or chosen; ``chosen`` (from the page) wins."""
        found = {h: name for h in self.headers if (name := recognise(h))}
        found.update({h: name for h, name in (chosen or {}).items() if name in FIELDS and h in self.headers})
        return found


def read_sheet(name: str, content: bytes) -> Sheet:
    """Read a .csv or .xlsx file's first sheet; an unreadable file is a ValidationError saying why."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(content)
    if suffix == ".xlsx":
        return _read_xlsx(content)
    raise ValidationError(f"{name} is not a .csv or .xlsx file")


def _sheet(table: list[list[Any]]) -> Sheet:
    # The header row is the first with any text: plans often start with a title or a blank line.
    index = next((i for i, cells in enumerate(table) if any(str(c or "").strip() for c in cells)), None)
    if index is None:
        raise ValidationError("The file has no rows")
    headers = [str(c or "").strip() for c in table[index]]
    if len(table) - index - 1 > MAX_ROWS:
        raise ValidationError(f"The file has more than {MAX_ROWS} rows: split it")
    sheet = Sheet(headers=[h for h in headers if h])
    for number, cells in enumerate(table[index + 1 :], start=index + 2):
        row = {h: cells[i] if i < len(cells) else None for i, h in enumerate(headers) if h}
        if any(str(v or "").strip() for v in row.values()):
            sheet.rows.append((number, row))
    return sheet


def _read_csv(content: bytes) -> Sheet:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    return _sheet([[imported_cell(c) for c in row] for row in csv.reader(io.StringIO(text))])


def _read_xlsx(content: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise ValidationError(
            f"The file cannot be read as an Excel workbook ({error.__class__.__name__})"
        ) from error
    sheet = book.worksheets[0]
    return _sheet([[imported_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)])
