"""Hostile and ordinary bad input under production behaviour (DEBUG off, a server error answered as a
500 page, not raised into the test): never a 5xx, a clear message instead, nothing unsafe stored, and no
page writes on GET. Runs on SQLite and, with DATABASE_URL, on PostgreSQL (which refuses NUL in text)."""

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from notifications.models import OutboxEntry
from notifications.selectors import first_sweep_preview
from notifications.sweep import sweep
from oversight.models import DashboardSnapshot
from reviews.models import RapidReview
from tests.factories import ActionFactory, PlanFactory, RecommendationFactory
from tests.workflows.helpers import advance
from workflows.imports.reading import read_sheet
from workflows.models import Action, ActionState, Agency, ProgressNote

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
NUL = "\x00"
# Junk for every filter and field: out-of-range dates and numbers, NUL, markup, a slash, right-to-left.
JUNK = [
    "9999-12-30",
    "10000-01-01",
    "0001-01-01",
    "99999999999999999999",
    "-99999999999",
    "-1",
    "1e309",
    "NaN",
    "x\x00y",
    "2026/27",
    "<script>alert(1)</script>",
    "\u202e",
    "",
]
FILTER_NAMES = [
    "quarter",
    "page",
    "sort",
    "agency",
    "source_type",
    "source",
    "theme",
    "owner",
    "rag",
    "escalation",
    "overdue_min",
    "overdue_max",
    "due_from",
    "due_to",
    "source",
    "state",
    "kind",
    "search",
    "q",
    "o",
    "after",
    "before",
    "since",
]


@pytest.fixture(autouse=True)
def production(settings: SettingsWrapper) -> None:
    settings.DEBUG = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False


def client_for(user: User) -> Client:
    # As in production: a failing view is a 500 response, not an exception in the test.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"][:120] for q in queries.captured_queries if WRITE.match(q["sql"])]


@pytest.fixture
def overdue(owner: User, manager: User) -> Action:
    action = ActionFactory.create(
        reference="Q1",
        owner=owner,
        recommendation=RecommendationFactory.create(source=PlanFactory.create(name="Plan A")),
        due_on=TODAY - dt.timedelta(days=40),
    )
    return advance(action, "in_progress", manager=manager)


# -- item 7: each server error the hostile run found -------------------------------------------------


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999", "1e309", "-5"])
def test_days_overdue_out_of_range_in_the_queue_filter_is_a_form_error(
    overdue: Action, manager: User, value: str
) -> None:
    client = client_for(manager)
    page = client.get(f"/queue/?overdue_min={value}&overdue_max={value}")
    assert page.status_code == 200
    assert "govuk-error-message" in page.content.decode()
    export = client.get(f"/queue/export.csv?overdue_min={value}")
    assert export.status_code == 302 and export["Location"].startswith("/queue/?")
    assert client.get(f"/queue/?source={value}").status_code == 200


@pytest.mark.parametrize("value", ["9999-12-30", "0001-01-01", "10000-01-01", "not a date"])
def test_a_case_audit_quarter_out_of_range_says_so_and_shows_this_quarter(manager: User, value: str) -> None:
    page = client_for(manager).get(f"/case-audits/?quarter={value}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Enter a date" in text


def test_a_rapid_review_dated_9999_12_30_is_refused_with_a_field_error_on_the_page_and_the_api(
    manager: User, second_manager: User
) -> None:
    fields = {
        "reference": "RR-9999",
        "child_reference": "Child A",
        "incident_type": "serious_harm",
        "became_aware_on": "9999-12-30",
        "lead": manager.pk,
        "chair": second_manager.pk,
    }
    page = client_for(manager).post("/reviews/rapid/new/", fields)
    assert page.status_code == 200
    assert "Enter a date between 1 January 1900 and 31 December 2099" in page.content.decode()
    api = APIClient()
    api.force_authenticate(manager)
    answer = api.post("/api/rapid-reviews/", fields, format="json")
    assert answer.status_code == 400
    assert "between 1 January 1900" in str(answer.json()["became_aware_on"])
    assert not RapidReview.objects.exists()


def test_a_csv_cell_over_128_kb_is_refused_with_its_row(manager: User) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Ref", "Objective", "Progress"])
    writer.writerow(["1.1", "Train staff", "ok"])
    writer.writerow(["1.2", "Audit files", "x" * 140_000])
    with pytest.raises(Exception) as refused:
        read_sheet("plan.csv", out.getvalue().encode())
    assert "Row 3" in str(refused.value) and "longer than" in str(refused.value)
    page = client_for(manager).post(
        "/plans/import/",
        {"file": _upload("plan.csv", out.getvalue().encode()), "source": "Big cells"},
    )
    assert page.status_code == 200 and "Row 3" in page.content.decode()
    assert not Action.objects.exists()


def _upload(name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_a_nul_byte_in_a_filter_or_a_field_is_refused_clearly_and_nothing_is_stored(
    overdue: Action, owner: User, manager: User
) -> None:
    client = client_for(manager)
    for url in ["/queue/?owner=a%00b", "/case-audits/?quarter=%00", "/queue/export.csv?owner=%00"]:
        response = client.get(url)
        assert response.status_code == 400, url
        assert "NUL" in response.content.decode()
    posted = client_for(owner).post(f"/actions/{overdue.pk}/progress/", {"text": f"Went{NUL} well"})
    assert posted.status_code == 400
    api = APIClient()
    api.force_authenticate(owner)
    answer = api.patch(f"/api/actions/{overdue.pk}/", {"outcome_measure": f"Went{NUL} well"}, format="json")
    assert answer.status_code == 400
    assert not ProgressNote.objects.filter(text__contains="Went").exists()
    assert not Action.objects.filter(outcome_measure__contains="Went").exists()


def test_an_admin_revert_of_an_action_across_states_is_refused_cleanly(
    overdue: Action, manager: User
) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "pw")
    drafted = overdue.history.filter(state=ActionState.DRAFT).order_by("history_date").first()  # type: ignore[attr-defined]
    assert drafted is not None
    client = client_for(admin)
    url = f"/admin/workflows/action/{overdue.pk}/history/{drafted.history_id}/"
    shown = client.get(url)
    assert shown.status_code == 200
    assert 'name="_save"' not in shown.content.decode()  # no Revert button
    reverted = client.post(url, {"_save": "Revert"})
    assert reverted.status_code in (302, 403)
    overdue.refresh_from_db()
    assert overdue.state == ActionState.IN_PROGRESS


def test_an_admin_revert_needs_the_change_permission_not_only_view(police: Agency, auditor: User) -> None:
    from django.contrib.auth.models import Permission

    police.name = "Renamed police"
    police.save()
    first = police.history.order_by("history_date").first()  # type: ignore[attr-defined]
    auditor.is_staff = True
    auditor.save()
    auditor.user_permissions.add(Permission.objects.get(codename="view_agency"))
    response = client_for(auditor).post(
        f"/admin/workflows/agency/{police.pk}/history/{first.history_id}/",
        {"name": first.name, "kind": first.kind, "is_active": "on", "_save": "Revert"},
    )
    assert response.status_code in (302, 403)
    police.refresh_from_db()
    assert police.name == "Renamed police"


def test_the_dashboard_never_writes_on_get_and_shows_when_its_figures_were_drawn(
    overdue: Action, manager: User
) -> None:
    client = client_for(manager)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/dashboard/")
    assert page.status_code == 200 and writes(queries) == []
    assert not DashboardSnapshot.objects.exists()


def test_the_chasing_page_never_writes_on_get_and_previews_what_a_sweep_would_add(
    overdue: Action, manager: User, chasing_on: Any
) -> None:
    client = client_for(manager)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/chasing/")
    assert page.status_code == 200 and writes(queries) == []
    assert not OutboxEntry.objects.exists()

    # The read-only preview counts exactly what a (rolled-back) sweep would add, before and after a sweep.
    def counted(entries: list[Any]) -> list[tuple[str, int]]:
        return sorted(Counter(e.rule for e in entries).items())

    dry = sweep(on=TODAY, dry_run=True).entries
    assert dry and first_sweep_preview().per_rule == counted(dry)
    assert first_sweep_preview().total == len(dry)
    sweep(on=TODAY)
    assert first_sweep_preview().total == len(sweep(on=TODAY, dry_run=True).entries) == 0


# -- item 9: every page's filters fuzzed with junk ----------------------------------------------------


def _get_routes() -> Iterator[str]:
    def walk(resolver: URLResolver, prefix: str) -> Iterator[str]:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    for route in walk(get_resolver(), ""):
        if route.startswith(("admin/", "api/")) or "logout" in route:
            continue  # the admin is Django's; the API has its own schema suite
        yield route


def _paths(route: str, ids: list[int]) -> list[str]:
    path = "/" + route.replace("^", "").replace("\\Z", "").replace("$", "")
    path = re.sub(r"<str:kind>", "csv", path)
    if "<" not in path:
        return [path]
    return [re.sub(r"<(?:int:|slug:|str:)?\w+>", str(i), path) for i in ids]


def test_no_page_answers_junk_in_its_filters_with_a_server_error_or_a_write(
    overdue: Action, manager: User, police_lead: User, owner: User
) -> None:
    """Every page (each id: a real one and one beyond any key) with every filter name set to each junk
    value, as a manager; as an agency lead and an owner with the nastiest few."""
    requests = 0
    failures: list[tuple[object, ...]] = []
    for user, junk_values in ((manager, JUNK), (police_lead, JUNK[:5]), (owner, JUNK[:2])):
        client = client_for(user)
        for route in _get_routes():
            cases = [(path, junk) for path in _paths(route, [overdue.pk]) for junk in junk_values]
            cases += [(path, "") for path in _paths(route, [2**63]) if "<" in route]
            for path, junk in cases:
                if path.endswith(".pdf") and junk:
                    continue  # drawing a PDF is slow, and it reads no filters
                query = "&".join(f"{name}={quote(junk)}" for name in FILTER_NAMES)
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(f"{path}?{query}")
                requests += 1
                if response.status_code >= 500 and path != "/healthz":
                    failures.append((user.username, path, junk, response.status_code))
                if writes(queries):
                    failures.append((user.username, path, junk, writes(queries)[:1]))
    print(f"bad-input crawl: {requests} requests, {len(failures)} failures")
    assert failures == [], "\n".join(map(str, failures))


def test_a_plan_preview_never_writes_and_says_which_rows_are_new(manager: User) -> None:
    client = client_for(manager)
    content = b"Ref,Objective,Target\n1.1,Train staff,June 2019\n1.2,Audit files,Sept 2019\n"
    upload = client.post("/plans/import/", {"file": _upload("plan.csv", content), "source": "Small"})
    preview = upload["Location"]
    with CaptureQueriesContext(connection) as queries:
        page = client.get(preview)
    assert page.status_code == 200 and writes(queries) == []
    assert "2 new actions" in page.content.decode()
    client.post(preview.split("?")[0], {"source": "Small"})
    assert Action.objects.count() == 2
    again = client.post("/plans/import/", {"file": _upload("plan.csv", content), "source": "Small"})
    assert "0 new actions" in client.get(again["Location"]).content.decode()


# -- the queue's and the exception report's paging marks and agency ---------------------------------

# Digits Python's str.isdigit() accepts but int() refuses ("²", "①"), digits of other scripts, past a
# 64-bit key, negative, not a number, NUL, empty: each a page, never a server error.
MARKS = [
    "\u00b2",
    "\u2460",
    "\u0663",
    "99999999999999999999999",
    str(2**63),
    "-1",
    "0",
    "abc",
    "1e3",
    "1%00",
    "",
]


@pytest.mark.parametrize("value", MARKS)
def test_a_manager_paging_the_queue_or_the_exception_report_with_a_nonsense_mark_gets_a_page_not_an_error(
    overdue: Action, manager: User, value: str
) -> None:
    client = client_for(manager)
    for name in ("after", "before", "agency"):
        for path in ("/queue/", "/queue/export.csv", "/exception-report/"):
            response = client.get(f"{path}?{name}={quote(value)}&{name}=1")
            assert response.status_code < 500, (path, name, value)
            response = client.get(f"{path}?{name}={quote(value)}")
            assert response.status_code < 500, (path, name, value)


@pytest.mark.parametrize("value", ["\u00b2", "99999999999999999999999", "-1", "x"])
def test_a_manager_ticking_a_forged_item_id_in_the_queue_is_told_to_tick_one(
    overdue: Action, manager: User, value: str
) -> None:
    client = client_for(manager)
    response = client.post("/queue/bulk/", {"ids": [value], "bulk": "chase"}, follow=True)
    assert response.status_code == 200
    assert "Tick at least one item in the queue" in response.content.decode()
    assert not OutboxEntry.objects.exists()


@pytest.mark.parametrize("name", [" ".join(["a"] * 1200), "x" * 60_000])
def test_a_manager_searching_the_queue_for_an_absurd_owner_name_is_told_it_is_too_long(
    overdue: Action, manager: User, name: str
) -> None:
    client = client_for(manager)
    page = client.get("/queue/", {"owner": name})
    assert page.status_code == 200
    assert "Ensure this value has at most" in page.content.decode()
    export = client.get("/queue/export.xlsx", {"owner": name})
    # Back to the page with the filter's error, or a 400 for a link too long to send back (over 2,048).
    assert export.status_code in (302, 400)


@pytest.mark.parametrize("mark", ["abc", "\u00b2", "-1", str(2**64), "theirs"])
def test_a_lead_paging_the_queue_from_a_mark_that_is_not_theirs_is_told_this_is_the_first_page(
    overdue: Action, police_lead: User, health_owner: User, manager: User, mark: str
) -> None:
    theirs = ActionFactory.create(owner=health_owner, due_on=TODAY - dt.timedelta(days=30))
    value = str(theirs.pk) if mark == "theirs" else mark
    client = client_for(police_lead)
    for name in ("after", "before"):
        page = client.get("/queue/", {name: value}).content.decode()
        assert "does not start at an item you can see: this is the first page" in page
        assert "Q1" in page  # the lead's own agency's queue, from its start
    assert "does not start at" not in client.get("/queue/", {"after": str(overdue.pk)}).content.decode()
