"""What every case type shares: grades, and pseudonymised references for children and cases."""

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

# No id is beyond a 64-bit key: a filter asking for one is refused, not sent to the database to overflow.
MAX_ID = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")


def id_from(value: object) -> int | None:
    """A key from a query or form parameter, or None for anything that is not one: ASCII digits only
    (str.isdigit() also passes "²", which int() refuses), from 1 to MAX_ID."""
    text = str(value)
    return int(text) if _ID.fullmatch(text) and 0 < int(text) <= MAX_ID else None


class Grade(models.TextChoices):
    OUTSTANDING = "outstanding", "Outstanding"
    GOOD = "good", "Good"
    REQUIRES_IMPROVEMENT = "requires_improvement", "Requires improvement"
    INADEQUATE = "inadequate", "Inadequate"


# "Child A", or a case number with at least one digit ("EHE-03", "NT/2026/017"). A reference with no
# digit is most likely a name, and a date-shaped one most likely a date of birth: the system holds neither.
_CASE_REFERENCE = re.compile(r"^(Child [A-Z]{1,2}|(?=.*\d)[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)*)$")
_DATE_LIKE = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def validate_case_reference(value: str) -> None:
    if not _CASE_REFERENCE.match(value) or _DATE_LIKE.search(value):
        raise ValidationError(
            "Use a pseudonymised case reference such as “EHE-03” or “Child A”: "
            "never a name or a date of birth",
            code="not_pseudonymised",
        )


# Dates the system accepts from anyone, on any path. Beyond them nothing is a real due date, and date
# arithmetic (working days, clocks, quarters) overflows near year 9999: "9999-12-30" was a server error.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
DATE_RANGE_MESSAGE = f"Enter a date between {EARLIEST_DATE:%-d %B %Y} and {LATEST_DATE:%-d %B %Y}"


def validate_date_in_range(value: dt.date | None) -> None:
    if value is not None and not EARLIEST_DATE <= _as_date(value) <= LATEST_DATE:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def parse_date(text: str) -> dt.date | None:
    """An ISO date typed into a page (empty: None); a ValidationError saying why it is not one."""
    if not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as error:
        raise ValidationError("Enter a date as YYYY-MM-DD", code="invalid_date") from error
    validate_date_in_range(day)
    return day


def install_date_bounds() -> None:
    """Every date field of every form (pages, admin, queue filters) and of the API refuses a date out of
    range with a field error. Wrapped at the class, so fields built before this ran are covered too."""
    from django import forms
    from rest_framework import serializers

    def bounded(clean: Any, as_error: type[Exception]) -> Any:
        def to_value(self: Any, value: Any) -> Any:
            day = clean(self, value)
            try:
                validate_date_in_range(day)
            except ValidationError as error:
                raise as_error(error.messages[0]) from error
            return day

        to_value.bounded = True  # type: ignore[attr-defined]
        return to_value

    if not getattr(forms.DateField.to_python, "bounded", False):
        forms.DateField.to_python = bounded(forms.DateField.to_python, ValidationError)  # type: ignore[method-assign]
    if not getattr(serializers.DateField.to_internal_value, "bounded", False):
        serializers.DateField.to_internal_value = bounded(  # type: ignore[method-assign]
            serializers.DateField.to_internal_value, serializers.ValidationError
        )
