"""Due dates as people write them in plans.

"June 2019" means the end of June; "30 Sept 2019" that day; a range ("April 2019 to March 2020",
"June 19 - Dec 19", with any dash) its end. "Ongoing" or "quarterly updates" is not a date, and no
date is invented for it. Anything else is an error the person importing must fix.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {
    name: number
    for number in range(1, 13)
    for name in {
        calendar.month_name[number].lower(),
        calendar.month_abbr[number].lower(),
        "sept" if number == 9 else calendar.month_abbr[number].lower(),
    }
}
# Words that say the work has no single due date.
NO_DATE_WORDS = re.compile(
    r"\b(ongoing|on-going|continuous|quarterly|monthly|annually|annual|yearly|termly|weekly|regular|"
    r"as required|as needed|tbc|tbd|n/a)\b"
)
# Hyphen, en dash, em dash, "to" or "until" between the two ends of a range.
RANGE_SEPARATOR = re.compile(r"\s*(?:-|\u2013|\u2014|\bto\b|\buntil\b)\s*(?=[a-z0-9])")
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{2}|\d{4})$")
MONTH_YEAR = re.compile(r"^([a-z]+)\.?,?\s+(\d{2}|\d{4})$")
NUMERIC = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})$")
ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
FILLER = re.compile(r"^(?:by|end of|by end of|by the end of|before|no later than)\s+")


@dataclass(frozen=True)
class ReadDate:
    """What a due-date cell said: a date, no date on purpose (``no_date``), or ``error``."""

    on: dt.date | None = None
    no_date: bool = False
    error: str = ""


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if year < 100 else year


def _end_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _single(text: str) -> dt.date | None:
    text = FILLER.sub("", text.strip().lower())
    if match := ISO.match(text):
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    if match := NUMERIC.match(text):  # British order: day, month, year
        return dt.date(_year(match[3]), int(match[2]), int(match[1]))
    if (match := DAY_MONTH_YEAR.match(text)) and match[2] in MONTHS:
        return dt.date(_year(match[3]), MONTHS[match[2]], int(match[1]))
    if (match := MONTH_YEAR.match(text)) and match[1] in MONTHS:
        return _end_of_month(_year(match[2]), MONTHS[match[1]])
    return None


def read_plan_date(value: object) -> ReadDate:
    """Read one due-date cell: text, or a date a spreadsheet stored as a date."""
    if isinstance(value, dt.datetime):
        return ReadDate(on=value.date())
    if isinstance(value, dt.date):
        return ReadDate(on=value)
    text = " ".join(str(value or "").split())
    if not text:
        return ReadDate(no_date=True)
    lowered = text.lower()
    if NO_DATE_WORDS.search(lowered):
        return ReadDate(no_date=True)
    try:
        # A range is due at its end. The whole text first: an ISO date has dashes too.
        on = _single(lowered) or _single(RANGE_SEPARATOR.split(lowered)[-1])
    except ValueError:  # a day that month does not have, such as 31 June
        on = None
    if on is None:
        return ReadDate(error=f"cannot read “{text}” as a date (write it as “June 2019” or “30 Sept 2019”)")
    return ReadDate(on=on)
