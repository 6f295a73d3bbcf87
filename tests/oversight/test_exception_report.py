"""The exception report at a million actions: counted by agency and rung in SQL, its list paged, and
what the executive reads it for: late statutory clocks, days overdue, the source, the latest progress,
why it was escalated, and what changed since the last one they read."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

from notifications.models import OutboxEntry, Rule
from oversight.exception_report import exception_report, last_reading
from oversight.tasks import draw_dashboard
from tests.factories import ActionFactory, PlanFactory, RecommendationFactory
from tests.workflows.helpers import advance
from workflows.clocks import clock_sync
from workflows.models import Action, ActionState, ProgressNote

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def _red(owner: User, days: int, ref: str, **kwargs: object) -> Action:
    return ActionFactory.create(reference=ref, owner=owner, due_on=TODAY - dt.timedelta(days=days), **kwargs)


def test_the_report_counts_each_agency_by_rung_and_pages_its_list_most_overdue_first(
    owner: User, health_owner: User, executive: User
) -> None:
    police = [_red(owner, 20 + n, f"R{n:02d}") for n in range(30)]
    _red(health_owner, 70, "H1")
    _red(owner, 3, "not red")  # amber: not on the report
    # Drafts are not chased, so they stand on no rung; five under way, 45 to 49 days overdue, are at the
    # second (the level is derived from the due date and the policy, never stored).
    Action.objects.filter(pk__in=[a.pk for a in police[25:]]).update(state=ActionState.IN_PROGRESS)
    assert exception_report(executive, {}, today=TODAY).agencies == []  # not counted in a request
    draw_dashboard()  # the beat task counts them with the dashboard's figures
    report = exception_report(executive, {}, today=TODAY)
    rows = {row.agency: row for row in report.agencies}
    assert (rows["Greater Manchester Police"].red, rows["Greater Manchester Police"].rungs) == (30, [0, 5, 0])
    assert rows["NHS Greater Manchester ICB"].red == 1 and report.total == 31
    client = Client()
    client.force_login(executive)
    page = client.get(f"/exception-report/?agency={owner.person.agency.pk}").content.decode()
    shown = re.findall(r">(R\d\d)<", page)
    assert shown == [f"R{n:02d}" for n in range(29, 4, -1)] and "H1<" not in page
    following = re.search(r'href="(\?[^"]*)" rel="next"', page)
    assert following is not None
    rest = client.get("/exception-report/" + following.group(1).replace("&amp;", "&")).content.decode()
    assert re.findall(r">(R\d\d)<", rest) == [f"R{n:02d}" for n in range(4, -1, -1)]


def test_the_report_gives_days_overdue_source_latest_progress_why_escalated_and_late_clocks(
    owner: User, executive: User, manager: User
) -> None:
    source = PlanFactory.create(name="Neglect strategy 2026")
    action = _red(owner, 60, "X1", recommendation=RecommendationFactory.create(source=source))
    action = advance(action, "in_progress", manager=manager)
    ProgressNote.objects.create(action=action, author=owner, text="Training booked for March")
    OutboxEntry.objects.create(
        item_type=ContentType.objects.get_for_model(Action),
        item_id=action.pk,
        recipient=manager,
        rule=Rule.ESCALATION_2,
        due_on=TODAY - dt.timedelta(days=60),
        sweep_date=TODAY,
        gap="escalated from the queue by Mo Manager: no reply to three chases",
    )
    clock_sync(
        source=PlanFactory.create(name="Rapid review Child B"),
        name="rapid_review",
        label="Rapid review of Child B",
        starts_on=TODAY - dt.timedelta(days=60),
        met_on=None,
    )
    client = Client()
    client.force_login(executive)
    page = client.get("/exception-report/").content.decode()
    for said in [
        "Neglect strategy 2026",
        "Training booked for March",
        "no reply to three chases",
        "Rapid review of Child B",
        ">60<",
    ]:
        assert said in page, said


def test_the_report_says_what_changed_since_the_reader_last_marked_it_read(
    owner: User, executive: User, manager: User
) -> None:
    client = Client()
    client.force_login(executive)
    # Never marked read: compared with the start of last month, and reading it writes nothing.
    assert last_reading(executive) is None
    first_read = TODAY - dt.timedelta(days=10)
    with mock.patch("oversight.views.timezone.localdate", return_value=first_read):
        client.post("/exception-report/read/")
    assert last_reading(executive) == first_read
    _red(owner, 100, "old")  # Red when it was read too
    _red(owner, 18, "newly red")  # 8 days overdue when it was read: Amber then
    advance(_red(owner, 40, "done"), "completed", manager=manager)  # Red then, completed since
    report = exception_report(executive, {}, today=TODAY, since=first_read)
    assert report.changes is not None and (report.changes.newly_red, report.changes.left) == (1, 1)
    page = client.get("/exception-report/").content.decode()
    assert f"Since you marked it read on {first_read:%-d %B %Y}" in page
    assert client.get("/exception-report/read/").status_code == 405  # marking it read is a POST


def test_the_pdf_is_bounded_and_says_how_many_more_are_on_the_report(
    owner: User, executive: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oversight import exception_report as module

    for n in range(4):
        _red(owner, 30 + n, f"P{n}")
    monkeypatch.setattr(module, "PDF_ROWS", 2)
    report = exception_report(executive, {}, today=TODAY, for_pdf=True)
    assert [a.reference for a in report.page.items] == ["P3", "P2"] and report.page.has_next
