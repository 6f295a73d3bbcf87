"""Working days in England: Monday to Friday, less England and Wales bank holidays and closure days.

Bank holidays come from the ``holidays`` package (with substitute days such as "Boxing Day (observed)");
administrators add the rest as ClosureDay rows, because new one-off bank holidays only arrive with
package upgrades.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays

# Expands lazily: a lookup in a year it has not seen yet computes that year's holidays.
BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")


@dataclass(frozen=True)
class WorkingCalendar:
    closures: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in BANK_HOLIDAYS and day not in self.closures

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (before it, for negative ``days``).

        ``start`` itself never counts, so adding 5 working days to a Monday gives the next Monday.
        """
        step = 1 if days >= 0 else -1
        day, left = start, abs(days)
        while left:
            day += dt.timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when ``end`` is earlier."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + dt.timedelta(offset))
        )


def working_calendar() -> WorkingCalendar:
    """The partnership's calendar: bank holidays plus the closure days administrators have entered."""
    from .models import ClosureDay

    return WorkingCalendar(closures=frozenset(ClosureDay.objects.values_list("date", flat=True)))
