"""Statutory clocks: a start date and a length in working days or calendar months, on the partnership's
working-day calendar, answering "due on", "working days used", "working days left" and "overdue by".

The lengths are settings (FOLLOWTHROUGH_CLOCKS), because statutory guidance changes.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from .calendar import WorkingCalendar, working_calendar
from .deadlines import clock_at_risk
from .models import StatutoryClock

WORKING_DAYS = "working_days"
MONTHS = "months"


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day where it has no such day (31 Aug + 6
    months is 28 or 29 February)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, month_calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Clock:
    starts_on: dt.date
    length: int
    unit: str
    calendar: WorkingCalendar

    @classmethod
    def named(cls, name: str, starts_on: dt.date, calendar: WorkingCalendar | None = None) -> Clock:
        """A clock whose length and unit are set in FOLLOWTHROUGH_CLOCKS under ``name``."""
        length, unit = settings.FOLLOWTHROUGH_CLOCKS[name]
        return cls(starts_on=starts_on, length=length, unit=unit, calendar=calendar or working_calendar())

    @property
    def due_on(self) -> dt.date:
        if self.unit == MONTHS:
            return add_months(self.starts_on, self.length)
        return self.calendar.add_working_days(self.starts_on, self.length)

    def working_days_used(self, on: dt.date) -> int:
        """Working days from the start up to and including ``on`` (0 before it starts)."""
        return max(self.calendar.working_days_between(self.starts_on, on), 0)

    def working_days_left(self, on: dt.date) -> int:
        """Working days after ``on`` up to and including the due date; 0 once due or past."""
        return max(self.calendar.working_days_between(on, self.due_on), 0)

    def overdue_by(self, on: dt.date) -> int:
        """Working days past the due date on ``on``; 0 if not overdue."""
        return max(self.calendar.working_days_between(self.due_on, on), 0)

    def status(self, on: dt.date, *, met_on: dt.date | None = None) -> str:
        if met_on is not None:
            return "met" if met_on <= self.due_on else "met late"
        return running_status(self.due_on, on, self.calendar)


def running_status(due_on: dt.date, on: dt.date, calendar: WorkingCalendar) -> str:
    """A running clock's status on ``on``: late, at risk (fewer working days left than the margin,
    deadlines.clock_at_risk) or on track; it depends on the due date alone."""
    if on > due_on:
        return "late"
    left = max(calendar.working_days_between(on, due_on), 0)
    return "at risk" if clock_at_risk(left) else "on track"


def on_track_from(on: dt.date, calendar: WorkingCalendar) -> dt.date:
    """The earliest due date still on track on ``on``: every running clock due before it is late or at
    risk, so a query can select them by date."""
    due = on
    while running_status(due, on, calendar) != "on track":
        due += dt.timedelta(days=1)
    return due


def clock_sync(
    *,
    source: Any,
    name: str,
    label: str,
    starts_on: dt.date | None,
    met_on: dt.date | None,
    owner: Any = None,
    chair: Any = None,
) -> StatutoryClock | None:
    """Make the source's clock ``name`` agree with its dates: started from ``starts_on`` (none until that
    date is known), met on ``met_on``. A clock that has started keeps its length; a new start date (a
    corrected date of notification) works out its due date again."""
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(type(source))
    found = StatutoryClock.objects.filter(source_type=content_type, source_id=source.pk, name=name).first()
    if starts_on is None:
        if found is not None:
            found.delete()
        return None
    if found is None:
        length, unit = settings.FOLLOWTHROUGH_CLOCKS[name]
        found = StatutoryClock(
            source_type=content_type, source_id=source.pk, name=name, length=length, unit=unit
        )
    found.label, found.starts_on, found.met_on = label, starts_on, met_on
    found.owner, found.chair = owner, chair
    found.agency = owner.person.agency if owner is not None and hasattr(owner, "person") else None
    found.due_on = found.clock().due_on
    found.save()
    return found
