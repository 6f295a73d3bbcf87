"""The one home for what a cell or sheet name must be before it leaves in a CSV or Excel export.

Every export (plans, the queue, the section 11 matrix) writes its cells through ``export_row``, so text
somebody typed cannot become a live formula in the reader's spreadsheet (OWASP's CSV injection advice:
a cell that begins with = + - @, a tab or a carriage return is prefixed with a single quote), nor hold a
control character that Excel files cannot carry. Numbers and dates stay typed cells. The plan importer
reads the quote back off (``imported_cell``), so importing an export again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The characters a spreadsheet takes as the start of a formula (tab and CR: some readers strip them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
# What XML 1.0 (so an .xlsx file) cannot hold: C0 control characters other than tab, LF and CR. openpyxl
# raises IllegalCharacterError on them, which failed a whole export for one note.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel refuses these in a sheet's name, and a name longer than 31 characters.
SHEET_NAME_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31


def export_cell(value: Any) -> Any:
    """A cell safe to hand to a spreadsheet: text without control characters and never a formula;
    anything else (numbers, dates, empty) as it is."""
    if not isinstance(value, str):
        return value
    text = ILLEGAL.sub("", value)
    return ESCAPE + text if text.startswith(FORMULA_STARTS) else text


def export_row(row: Iterable[Any]) -> list[Any]:
    return [export_cell(value) for value in row]


def imported_cell(value: Any) -> Any:
    """A cell as read from a spreadsheet, without the quote ``export_cell`` put before a formula start."""
    if isinstance(value, str) and value.startswith(ESCAPE) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def sheet_title(name: str, default: str = "Sheet") -> str:
    """A name Excel accepts for a sheet: no [ ] : * ? / \\, no quote at either end, at most 31
    characters (a cycle called "2026/27" broke its export)."""
    title = ILLEGAL.sub("", SHEET_NAME_ILLEGAL.sub("-", name))[:SHEET_NAME_MAX].strip().strip("'").strip()
    return title or default
