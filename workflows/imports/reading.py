"""Reading a plan spreadsheet (.csv or .xlsx) into rows keyed by what each column means.

Columns are recognised by name, with the synonyms real plans use, ignoring case and punctuation. A
column nobody recognises is kept, and what it holds is imported as notes on the action.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.conf import settings
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
# The most a plan file may hold; anything larger is refused while it is read.
MAX_ROWS = 5000
MAX_COLUMNS = 100
MAX_CELL_CHARACTERS = 32_767  # Excel's own limit on a cell
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024


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


def check_size(size: int) -> None:
    """Refuse a file too large to be a plan before anything reads it."""
    if size > settings.PLAN_IMPORT_MAX_BYTES:
        limit = settings.PLAN_IMPORT_MAX_BYTES / (1024 * 1024)
        raise ValidationError(f"The file is larger than {limit:g} MB: split the plan")


def read_sheet(name: str, content: bytes) -> Sheet:
    """Read a .csv or .xlsx file's first sheet; an unreadable file is a ValidationError saying why.

    Read as a stream and refused as soon as it is too big (rows, columns, a cell's length, an Excel file's
    unpacked size), so a hostile or mistaken file costs a moment, not a worker for half a minute."""
    check_size(len(content))
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(content)
    if suffix == ".xlsx":
        return _read_xlsx(content)
    raise ValidationError(f"{name} is not a .csv or .xlsx file")


def _has_text(cells: Iterable[Any]) -> bool:
    return any(str(c if c is not None else "").strip() for c in cells)


def _sheet(table: Iterable[Sequence[Any]]) -> Sheet:
    rows = iter(table)
    # The header row is the first with any text: plans often start with a title or a blank line.
    for header_number, cells in enumerate(rows, start=1):
        if _has_text(cells):
            break
        if header_number > MAX_ROWS:
            raise ValidationError(f"The file has no headers in its first {MAX_ROWS} rows")
    else:
        raise ValidationError("The file has no rows")
    raw = _checked(header_number, [imported_cell(c) for c in cells], [])
    headers = [str(c if c is not None else "").strip() for c in raw]
    sheet = Sheet(headers=[h for h in headers if h])
    for number, cells in enumerate(rows, start=header_number + 1):
        # Blank rows count too, up to a point: a sheet of a million formatted blank rows is not a plan.
        if number - header_number > 2 * MAX_ROWS:
            raise ValidationError(f"The file has more than {MAX_ROWS} rows: split it")
        values = _checked(number, [imported_cell(c) for c in cells], headers)
        row = {h: values[i] if i < len(values) else None for i, h in enumerate(headers) if h}
        if _has_text(row.values()):
            sheet.rows.append((number, row))
            if len(sheet.rows) > MAX_ROWS:
                raise ValidationError(f"The file has more than {MAX_ROWS} rows: split it")
    return sheet


def _checked(number: int, cells: list[Any], headers: list[str]) -> list[Any]:
    """A row's cells, refused (row and column named) when one is longer than a spreadsheet cell may be or
    the row is wider than a plan."""
    if _has_text(cells[MAX_COLUMNS:]):
        raise ValidationError(f"Row {number} has more than {MAX_COLUMNS} columns")
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARACTERS:
            column = headers[index] if index < len(headers) and headers[index] else f"number {index + 1}"
            raise ValidationError(
                f"Row {number}, column “{column}”: the cell holds more than {MAX_CELL_CHARACTERS:,} "
                "characters, a spreadsheet's limit"
            )
    return cells[:MAX_COLUMNS]


def _read_csv(content: bytes) -> Sheet:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    return _sheet(_csv_rows(text))


def _csv_rows(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text))
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The csv module refuses a cell over its field limit (128 KB) before we see the row.
            raise ValidationError(
                f"Row {number + 1}: a cell is longer than {csv.field_size_limit():,} characters "
                f"(a spreadsheet cell holds at most {MAX_CELL_CHARACTERS:,}), or the row is not CSV"
            ) from error
        number += 1
        yield row


def _read_xlsx(content: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ValidationError("The file cannot be read as an Excel workbook (BadZipFile)") from error
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        # A few hundred kilobytes can unpack to gigabytes: refused before any of it is parsed.
        raise ValidationError(
            f"The workbook unpacks to more than {MAX_XLSX_UNPACKED_BYTES // (1024 * 1024)} MB: "
            "save the plan's sheet alone, or as CSV"
        )
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise ValidationError(
            f"The file cannot be read as an Excel workbook ({error.__class__.__name__})"
        ) from error
    try:
        return _sheet(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
