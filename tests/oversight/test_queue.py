"""The overdue-remediation queue, its exports, the dashboard and the exception report, on known data."""

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from notifications.models import OutboxEntry
from oversight.dashboard import dashboard
from oversight.exception_report import exception_report
from oversight.exports import QUEUE_HEADERS
from oversight.queue import overdue_queue
from tests.factories import ActionFactory, PlanFactory, RecommendationFactory, ThemeFactory
from tests.workflows.helpers import advance
from workflows.models import Action

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def known(owner: User, health_owner: User, manager: User) -> dict[str, Action]:
    """Six actions: four in the queue (two police, two health), one not yet at risk, one done."""
    neglect = RecommendationFactory.create(
        theme=ThemeFactory.create(name="Neglect"), source=PlanFactory.create(name="Plan A")
    )
    voice = RecommendationFactory.create(
        theme=ThemeFactory.create(name="Voice of the child"), source=PlanFactory.create(name="Plan B")
    )

    def make(ref: str, owner_: User, days: int, recommendation: object) -> Action:
        action = ActionFactory.create(
            reference=ref, owner=owner_, recommendation=recommendation, due_on=TODAY + dt.timedelta(days=days)
        )
        return advance(action, "in_progress", manager=manager)

    actions = {
        "P1": make("P1", owner, -60, neglect),  # red, 60 days overdue: escalation 3
        "P2": make("P2", owner, -5, voice),  # amber, 5 overdue
        "H1": make("H1", health_owner, -20, neglect),  # red, 20 overdue: escalation 1
        "H2": make("H2", health_owner, 7, voice),  # amber: due in a week, no progress
        "P3": make("P3", owner, 60, neglect),  # green: not in the queue
    }
    done = make("D1", owner, -90, voice)
    advance(done, "completed", manager=manager)
    return actions


def refs(user: User, query: str = "") -> list[str]:
    _, actions = overdue_queue(user, QueryDict(query), today=TODAY)
    return [a.reference for a in actions]


def test_the_queue_holds_what_is_past_due_or_at_risk_most_overdue_first(
    known: dict[str, Action], manager: User
) -> None:
    assert refs(manager) == ["P1", "H1", "P2", "H2"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agency={police}", ["P1", "P2"]),
        ("agency={police}&agency={health}", ["P1", "H1", "P2", "H2"]),
        ("source_type=plan", ["P1", "H1", "P2", "H2"]),
        ("source_type=audit", []),
        ("theme={neglect}", ["P1", "H1"]),
        ("owner={health_owner}", ["H1", "H2"]),
        ("owner=health.owner", ["H1", "H2"]),
        ("rag=red", ["P1", "H1"]),
        ("rag=amber", ["P2", "H2"]),
        ("escalation=3", ["P1"]),
        ("escalation=0", ["P2", "H2"]),
        ("overdue_min=10", ["P1", "H1"]),
        ("overdue_min=10&overdue_max=30", ["H1"]),
        ("due_from={week_ago}&due_to={in_ten}", ["P2", "H2"]),
        ("rag=red&agency={health}", ["H1"]),
    ],
)
def test_every_filter(
    known: dict[str, Action], manager: User, owner: User, health_owner: User, query: str, expected: list[str]
) -> None:
    values = {
        "police": owner.person.agency.pk,
        "health": health_owner.person.agency.pk,
        "neglect": known["P1"].recommendation.theme_id,
        "health_owner": health_owner.last_name,
        "week_ago": (TODAY - dt.timedelta(days=7)).isoformat(),
        "in_ten": (TODAY + dt.timedelta(days=10)).isoformat(),
    }
    assert refs(manager, query.format(**values)) == expected


def test_the_source_filter(known: dict[str, Action], manager: User) -> None:
    source_id = known["P2"].recommendation.source_id
    assert refs(manager, f"source_type=plan&source={source_id}") == ["P2", "H2"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("due", ["P1", "H1", "P2", "H2"]),
        ("-due", ["H2", "P2", "H1", "P1"]),
        ("ref", ["H1", "H2", "P1", "P2"]),
        ("-escalation", ["P1", "H1", "P2", "H2"]),
        ("escalation", ["H2", "P2", "H1", "P1"]),
        ("overdue", ["P1", "H1", "P2", "H2"]),
        ("-ref", ["P2", "P1", "H2", "H1"]),
        # Red first, then Amber: the due date's order.
        ("rag", ["P1", "H1", "P2", "H2"]),
        # Orders no index serves are not offered (filter by agency instead): the due date's order.
        ("agency", ["P1", "H1", "P2", "H2"]),
        ("-owner", ["P1", "H1", "P2", "H2"]),
        ("nonsense", ["P1", "H1", "P2", "H2"]),
    ],
)
def test_every_sort(known: dict[str, Action], manager: User, sort: str, expected: list[str]) -> None:
    assert refs(manager, f"sort={sort}") == expected


def test_an_agency_lead_sees_only_their_agencys_queue_and_an_owner_none(
    known: dict[str, Action], police_lead: User, owner: User
) -> None:
    assert refs(police_lead) == ["P1", "P2"]
    client = Client()
    client.force_login(police_lead)
    page = client.get("/queue/").content.decode()
    assert "P1" in page and "H1" not in page
    assert "H1" not in client.get("/queue/export.csv").getvalue().decode("utf-8-sig")
    client.force_login(owner)
    for url in ["/queue/", "/queue/export.csv", "/dashboard/", "/exception-report/"]:
        assert client.get(url).status_code == 403, url
    client.force_login(police_lead)
    assert client.get("/exception-report/").status_code == 403


def test_the_page_keeps_the_filter_in_its_links_and_counts_the_filtered_set(
    known: dict[str, Action], manager: User, owner: User
) -> None:
    client = Client()
    client.force_login(manager)
    page = client.get(f"/queue/?agency={owner.person.agency.pk}&sort=-due").content.decode()
    assert "<strong>2</strong> items match" in page
    assert f"/queue/export.xlsx?agency={owner.person.agency.pk}&amp;sort=-due" in page


def test_exports_hold_the_filtered_queue_with_rag_escalation_and_days_overdue(
    known: dict[str, Action], manager: User
) -> None:
    client = Client()
    client.force_login(manager)
    rows = list(
        csv.reader(io.StringIO(client.get("/queue/export.csv?rag=red").getvalue().decode("utf-8-sig")))
    )
    assert rows[0] == QUEUE_HEADERS
    by_ref = {row[0]: dict(zip(QUEUE_HEADERS, row, strict=True)) for row in rows[1:]}
    assert set(by_ref) == {"P1", "H1"}
    assert (by_ref["P1"]["RAG"], by_ref["P1"]["Escalation level"], by_ref["P1"]["Days overdue"]) == (
        "Red",
        "3",
        "60",
    )
    assert by_ref["H1"]["Agency"] == "NHS Greater Manchester ICB"
    book = load_workbook(io.BytesIO(client.get("/queue/export.xlsx").getvalue()))
    sheet = book.active
    assert sheet is not None
    sheet_rows = list(sheet.iter_rows(values_only=True))
    assert list(sheet_rows[0]) == QUEUE_HEADERS and [r[0] for r in sheet_rows[1:]] == ["P1", "H1", "P2", "H2"]
    assert sheet_rows[1][QUEUE_HEADERS.index("Days overdue")] == 60


def test_the_dashboard_counts_match_a_hand_count(known: dict[str, Action], manager: User) -> None:
    from oversight.tasks import draw_dashboard

    draw_dashboard()
    data = dashboard(manager, today=TODAY)
    assert dict(data.rag_by_agency) == {
        "Greater Manchester Police": {"red": 1, "amber": 1, "green": 1},
        "NHS Greater Manchester ICB": {"red": 1, "amber": 1},
    }
    # Overdue by 60 (56 or more: the third rung), 5 (before the ladder) and 20 (the first rung).
    assert data.ageing == [
        ("1 to 13 days", 1),
        ("14 to 27 days", 1),
        ("28 to 55 days", 0),
        ("56 days or more", 1),
    ]
    assert data.months[-1] == (TODAY.replace(day=1), 1, 6)  # one completed this month, six created
    assert len(data.months) == 12
    client = Client()
    client.force_login(manager)
    page = client.get("/dashboard/").content.decode()
    assert "<svg" in page and "Open actions by RAG for each agency" in page and "56 days or more" in page


def test_the_exception_report_lists_escalation_3_or_red_by_agency(
    known: dict[str, Action], executive: User
) -> None:
    from oversight.tasks import draw_dashboard

    draw_dashboard()
    report = exception_report(executive, {}, today=TODAY)
    assert {row.agency: row.red for row in report.agencies} == {
        "Greater Manchester Police": 1,
        "NHS Greater Manchester ICB": 1,
    }
    assert [(a.agency.name, a.reference) for a in report.page.items] == [
        ("Greater Manchester Police", "P1"),
        ("NHS Greater Manchester ICB", "H1"),
    ]
    client = Client()
    client.force_login(executive)
    assert "Drawn" in client.get("/exception-report/").content.decode()
    pdf = client.get("/exception-report.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_bulk_reassign_chase_and_escalate_are_recorded(
    known: dict[str, Action], manager: User, owner: User, police_lead: User, chasing_on
) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(manager)
    p1, p2, h1 = known["P1"], known["P2"], known["H1"]
    refused = client.post(
        "/queue/bulk/",
        {"bulk": "reassign", "ids": [p1.pk, h1.pk], "owner": police_lead.username, "reason": "Cover"},
        follow=True,
    )
    assert "does not work for the agency of H1" in refused.content.decode()
    assert Action.objects.get(pk=p1.pk).owner == owner
    client.post(
        "/queue/bulk/",
        {"bulk": "reassign", "ids": [p1.pk, p2.pk], "owner": police_lead.email, "reason": "Owner on leave"},
    )
    assert Action.objects.get(pk=p1.pk).owner == police_lead
    assert (
        Action.objects.get(pk=p1.pk).history.first().history_change_reason
        == "Reassigned from the queue: Owner on leave"
    )  # type: ignore[union-attr]
    # Both presses at one instant: the wall clock must not carry them into two different minutes.
    pressed_at = timezone.now().replace(second=1)
    with mock.patch("oversight.services.timezone.now", return_value=pressed_at):
        client.post("/queue/bulk/", {"bulk": "chase", "ids": [p2.pk]})
        client.post("/queue/bulk/", {"bulk": "chase", "ids": [p2.pk]})  # the same minute: not twice
    assert OutboxEntry.objects.filter(item_id=p2.pk, rule="chase_now").count() == 1
    client.post("/queue/bulk/", {"bulk": "escalate", "ids": [h1.pk], "reason": "No response for a month"})
    escalated = set(
        OutboxEntry.objects.filter(item_id=h1.pk).values_list("recipient__username", "rule", "is_copy")
    )
    # H1 is at level 1, so it goes to rung 2: the business manager, and the owner is copied.
    assert escalated == {("manager", "escalation_2", False), ("health.owner", "escalation_2", True)}
    page = client.get(f"/actions/{h1.pk}/").content.decode()
    assert "Escalation 2" in page


def test_queue_page_queries_do_not_grow_with_the_queue(
    manager: User, owner: User, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(manager)
    for n in range(3):
        ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=n + 1))
    client.get("/queue/")
    with django_assert_max_num_queries(30) as few:
        client.get("/queue/")
    for n in range(40):
        ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=n + 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/queue/?sort=-owner")


def test_the_partnership_figures_come_from_a_snapshot_the_beat_task_redraws(
    known: dict[str, Action], manager: User, police_lead: User, owner: User, settings
) -> None:  # type: ignore[no-untyped-def]
    from oversight.models import DashboardSnapshot
    from oversight.tasks import draw_dashboard

    # Reading never draws a snapshot (a page view must not write, nor count every action).
    first = dashboard(manager, today=TODAY)
    assert DashboardSnapshot.objects.count() == 0 and first.drawn_at is None and first.ageing == []
    draw_dashboard()
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))  # a draft: open, overdue
    # Until the task draws again, everyone sees what was drawn: the partnership and the lead's agency.
    assert dict(dashboard(manager, today=TODAY).ageing)["56 days or more"] == 1
    assert dict(dashboard(police_lead, today=TODAY).ageing)["56 days or more"] == 1
    draw_dashboard()
    assert dict(dashboard(manager, today=TODAY).ageing)["56 days or more"] == 2
    assert dict(dashboard(police_lead, today=TODAY).ageing)["56 days or more"] == 2
    settings.FOLLOWTHROUGH_DASHBOARD_MAX_AGE_MINUTES = 0
    ActionFactory.create(owner=owner, due_on=TODAY - dt.timedelta(days=100))
    drawn = DashboardSnapshot.objects.get(scope="partnership").drawn_at
    too_old = dashboard(manager, today=TODAY)
    assert dict(too_old.ageing)["56 days or more"] == 2 and too_old.stale  # shown as drawn, marked stale
    assert DashboardSnapshot.objects.get(scope="partnership").drawn_at == drawn  # and not redrawn


def test_the_dashboard_page_reads_a_fixed_number_of_queries(
    known: dict[str, Action], manager: User, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(manager)
    client.get("/dashboard/")
    with django_assert_max_num_queries(20):
        client.get("/dashboard/")
