"""Working days in England, on real dates. Each expected date below was counted by hand on a calendar."""

import datetime as dt

import pytest

from workflows.calendar import WorkingCalendar, working_calendar
from workflows.models import ClosureDay

D = dt.date
calendar = WorkingCalendar()


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 1, 1),  # New Year's Day, Thursday
        D(2026, 4, 3),  # Good Friday
        D(2026, 4, 6),  # Easter Monday
        D(2026, 5, 4),  # Early May bank holiday
        D(2026, 5, 25),  # Spring bank holiday
        D(2026, 8, 31),  # Summer bank holiday
        D(2026, 12, 25),  # Christmas Day, Friday
        D(2026, 12, 28),  # Boxing Day falls on Saturday: substitute day Monday 28 December
        D(2027, 1, 1),  # New Year's Day, Friday
        D(2027, 3, 26),  # Good Friday 2027
        D(2027, 3, 29),  # Easter Monday 2027
        D(2027, 12, 27),  # Christmas Day falls on Saturday: substitute Monday 27 December
        D(2027, 12, 28),  # Boxing Day falls on Sunday: substitute Tuesday 28 December
    ],
)
def test_bank_holidays_and_substitute_days_are_not_working_days(day: dt.date) -> None:
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", [D(2026, 12, 24), D(2026, 12, 29), D(2027, 3, 25), D(2027, 3, 30)])
def test_ordinary_weekdays_around_holidays_are_working_days(day: dt.date) -> None:
    assert calendar.is_working_day(day)


def test_weekends_are_not_working_days() -> None:
    assert not calendar.is_working_day(D(2026, 12, 26))  # Saturday
    assert not calendar.is_working_day(D(2026, 12, 27))  # Sunday


def test_five_working_days_from_monday_21_december_2026_skip_christmas_and_boxing_day_observed() -> None:
    # 22, 23, 24 December; 25th (Christmas), 26-27th (weekend), 28th (Boxing Day observed) skipped; 29, 30.
    assert calendar.add_working_days(D(2026, 12, 21), 5) == D(2026, 12, 30)


def test_fifteen_working_days_from_monday_21_december_2026_also_skip_new_year() -> None:
    # 22-24 Dec (3), 29-31 Dec (6), 1 Jan is a holiday, 4-8 Jan (11), 11-14 Jan (15).
    assert calendar.add_working_days(D(2026, 12, 21), 15) == D(2027, 1, 14)


def test_one_working_day_after_maundy_thursday_2027_is_the_tuesday_after_easter() -> None:
    assert calendar.add_working_days(D(2027, 3, 25), 1) == D(2027, 3, 30)


def test_adding_zero_working_days_is_the_same_day() -> None:
    assert calendar.add_working_days(D(2026, 12, 25), 0) == D(2026, 12, 25)


def test_going_back_one_working_day_from_29_december_2026_lands_on_christmas_eve() -> None:
    assert calendar.add_working_days(D(2026, 12, 29), -1) == D(2026, 12, 24)


def test_working_days_between_counts_the_end_but_not_the_start() -> None:
    assert calendar.working_days_between(D(2026, 12, 24), D(2026, 12, 29)) == 1
    assert calendar.working_days_between(D(2026, 12, 21), D(2027, 1, 14)) == 15
    assert calendar.working_days_between(D(2027, 1, 14), D(2026, 12, 21)) == -15
    assert calendar.working_days_between(D(2027, 3, 25), D(2027, 3, 25)) == 0


@pytest.mark.django_db
def test_closure_days_added_by_an_administrator_are_not_working_days() -> None:
    ClosureDay.objects.create(date=D(2026, 12, 24), reason="Partnership office closed")
    assert working_calendar().add_working_days(D(2026, 12, 21), 3) == D(2026, 12, 29)
    # 22, 23 December; 24th closed; 25-28th holidays and weekend; 29, 30, 31 December.
    assert working_calendar().working_days_between(D(2026, 12, 21), D(2026, 12, 31)) == 5
