"""Statutory clocks on real dates over Christmas, New Year and Easter, checked by hand."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from workflows.calendar import WorkingCalendar
from workflows.clocks import Clock, add_months, clock_sync
from workflows.models import Plan, StatutoryClock

CALENDAR = WorkingCalendar()


def test_a_rapid_review_notified_on_monday_21_december_2026_is_due_on_thursday_14_january_2027() -> None:
    # Counting the working days after Monday 21 December 2026 (the day itself never counts):
    #   Tue 22, Wed 23, Thu 24 December                         1-3
    #   Fri 25 Christmas Day; Mon 28 Boxing Day (observed, as 26 December is a Saturday): not working days
    #   Tue 29, Wed 30, Thu 31 December                         4-6
    #   Fri 1 January 2027 New Year's Day: not a working day
    #   Mon 4 to Fri 8 January                                  7-11
    #   Mon 11, Tue 12, Wed 13, Thu 14 January                  12-15
    clock = Clock.named("rapid_review", dt.date(2026, 12, 21), CALENDAR)
    assert clock.due_on == dt.date(2027, 1, 14)
    assert clock.working_days_used(dt.date(2027, 1, 4)) == 7
    assert clock.working_days_left(dt.date(2027, 1, 4)) == 8
    assert clock.status(dt.date(2027, 1, 11)) == "on track"  # 3 left: 12, 13, 14
    assert clock.status(dt.date(2027, 1, 12)) == "at risk"  # 2 left
    assert clock.status(dt.date(2027, 1, 14)) == "at risk"  # due today: 0 left
    assert clock.status(dt.date(2027, 1, 15)) == "late"
    assert clock.overdue_by(dt.date(2027, 1, 19)) == 3  # Fri 15, Mon 18, Tue 19


def test_agency_summaries_and_the_panel_fall_on_working_days_10_and_12_of_that_review() -> None:
    # Working day 10 is Thu 7 January (from the count above), day 12 Mon 11 January.
    assert Clock.named("agency_summaries", dt.date(2026, 12, 21), CALENDAR).due_on == dt.date(2027, 1, 7)
    assert Clock.named("review_panel", dt.date(2026, 12, 21), CALENDAR).due_on == dt.date(2027, 1, 11)


def test_the_panel_notification_over_easter_2027() -> None:
    # Aware on Wednesday 24 March 2027: Thu 25 is day 1; Good Friday 26 March and Easter Monday 29 March
    # are bank holidays; Tue 30, Wed 31 March, Thu 1 April are days 2-4; Fri 2 April is day 5.
    clock = Clock.named("panel_notification", dt.date(2027, 3, 24), CALENDAR)
    assert clock.due_on == dt.date(2027, 4, 2)


def test_a_notification_on_christmas_eve_counts_from_the_next_working_day() -> None:
    # Aware Thursday 24 December 2026: Tue 29, Wed 30, Thu 31 December, Mon 4, Tue 5 January.
    assert Clock.named("panel_notification", dt.date(2026, 12, 24), CALENDAR).due_on == dt.date(2027, 1, 5)


def test_closure_days_count_like_bank_holidays() -> None:
    closed = WorkingCalendar(closures=frozenset({dt.date(2027, 1, 4)}))
    assert Clock.named("rapid_review", dt.date(2026, 12, 21), closed).due_on == dt.date(2027, 1, 15)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2026, 11, 23), 6, dt.date(2027, 5, 23)),
        (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
        (dt.date(2027, 8, 31), 6, dt.date(2028, 2, 29)),
        (dt.date(2026, 7, 15), 6, dt.date(2027, 1, 15)),
    ],
)
def test_month_clocks_keep_the_day_or_end_at_the_month_end(
    start: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(start, months) == expected


def test_a_practice_review_clock_runs_six_months_and_counts_working_days() -> None:
    clock = Clock.named("practice_review", dt.date(2026, 11, 23), CALENDAR)
    assert clock.due_on == dt.date(2027, 5, 23)
    # 23 November to 23 December 2026: the 22 weekdays after the start, none a bank holiday.
    assert clock.working_days_used(dt.date(2026, 12, 23)) == 22


def test_the_lengths_are_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FOLLOWTHROUGH_CLOCKS = {**settings.FOLLOWTHROUGH_CLOCKS, "rapid_review": (20, "working_days")}
    assert Clock.named("rapid_review", dt.date(2026, 12, 21), CALENDAR).due_on == dt.date(2027, 1, 21)


@pytest.mark.django_db
def test_a_started_clock_keeps_its_length_when_the_guidance_changes(settings, manager: User) -> None:  # type: ignore[no-untyped-def]
    source = Plan.objects.create(name="Any source")
    clock = clock_sync(
        source=source,
        name="rapid_review",
        label="x",
        starts_on=dt.date(2026, 12, 21),
        met_on=None,
        owner=manager,
    )
    assert (
        clock is not None and clock.due_on == dt.date(2027, 1, 14) and clock.agency == manager.person.agency
    )
    settings.FOLLOWTHROUGH_CLOCKS = {**settings.FOLLOWTHROUGH_CLOCKS, "rapid_review": (20, "working_days")}
    clock = clock_sync(
        source=source,
        name="rapid_review",
        label="x",
        starts_on=dt.date(2026, 12, 21),
        met_on=dt.date(2027, 1, 6),
    )
    assert clock is not None and (clock.length, clock.due_on, clock.met_on) == (
        15,
        dt.date(2027, 1, 14),
        dt.date(2027, 1, 6),
    )
    assert clock_sync(source=source, name="rapid_review", label="x", starts_on=None, met_on=None) is None
    assert not StatutoryClock.objects.exists()
