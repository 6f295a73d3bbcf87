"""The queue at a million open actions: pages by keyset (page 1,000 costs what page 1 does), every offered
sort is served by an index, the count stops at a cap, the filter's choices come from the cache."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oversight.queue import SORTS
from tests.factories import ActionFactory
from workflows.models import Action

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def _refs(page: str) -> list[str]:
    return re.findall(r'<td class="govuk-table__cell">(Q\d+)</td>', page)


def _link(page: str, rel: str) -> str:
    found = re.search(rf'href="(\?[^"]*)" rel="{rel}"', page)
    assert found, f"no {rel} link"
    return found.group(1).replace("&amp;", "&")


@pytest.fixture
def sixty(owner: User, health_owner: User) -> list[Action]:
    """Sixty overdue police actions, two a day, and one health action (filtered out below)."""
    ActionFactory.create(reference="H0", owner=health_owner, due_on=TODAY - dt.timedelta(days=3))
    return [
        ActionFactory.create(reference=f"Q{n:02d}", owner=owner, due_on=TODAY - dt.timedelta(days=1 + n // 2))
        for n in range(60)
    ]


def test_a_manager_pages_through_the_filtered_queue_by_links_that_keep_the_filter_and_sort(
    sixty: list[Action], manager: User, owner: User
) -> None:
    client = Client()
    client.force_login(manager)
    agency = owner.person.agency.pk
    expected = [a.reference for a in sorted(sixty, key=lambda a: (a.due_on, a.pk), reverse=True)]
    first = client.get(f"/queue/?agency={agency}&sort=-due").content.decode()
    assert _refs(first) == expected[:25]
    assert 'rel="prev"' not in first
    following = _link(first, "next")
    assert f"agency={agency}" in following and "sort=-due" in following
    second = client.get(f"/queue/{following}").content.decode()
    assert _refs(second) == expected[25:50]
    third = client.get(f"/queue/{_link(second, 'next')}").content.decode()
    assert _refs(third) == expected[50:]
    assert 'rel="next"' not in third
    back = client.get(f"/queue/{_link(third, 'prev')}").content.decode()
    assert _refs(back) == expected[25:50]
    assert _refs(client.get(f"/queue/{_link(back, 'prev')}").content.decode()) == expected[:25]


def test_paging_by_reference_keeps_to_the_reference_order(sixty: list[Action], manager: User) -> None:
    client = Client()
    client.force_login(manager)
    first = client.get("/queue/?sort=ref").content.decode()
    assert _refs(first) == [f"Q{n:02d}" for n in range(24)]  # H0 comes first, and is not a Q
    second = client.get(f"/queue/{_link(first, 'next')}").content.decode()
    assert _refs(second) == [f"Q{n:02d}" for n in range(24, 49)]
    backwards = client.get("/queue/?sort=-ref").content.decode()
    assert _refs(backwards) == [f"Q{n:02d}" for n in range(59, 34, -1)]


def test_a_page_mark_that_names_no_item_of_the_queue_starts_at_the_beginning(
    sixty: list[Action], manager: User
) -> None:
    client = Client()
    client.force_login(manager)
    for mark in ["999999999", "abc", "-1", "99999999999999999999999"]:
        page = client.get(f"/queue/?after={mark}")
        assert page.status_code == 200
        assert _refs(page.content.decode())[:1] == ["Q58"]  # the most overdue, first made


def test_the_count_stops_at_the_cap(sixty: list[Action], manager: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FOLLOWTHROUGH_QUEUE_COUNT_CAP = 50
    client = Client()
    client.force_login(manager)
    assert "More than <strong>50</strong> items match" in client.get("/queue/").content.decode()
    settings.FOLLOWTHROUGH_QUEUE_COUNT_CAP = 100
    assert "<strong>61</strong> items match" in client.get("/queue/").content.decode()


def test_every_offered_sort_is_served_by_a_partial_index_of_open_actions() -> None:
    indexed = {tuple(index.fields) for index in Action._meta.indexes if index.condition is not None}
    for key, fields in SORTS.items():
        assert (*fields,) in indexed, key


def test_the_filter_choices_are_read_from_the_cache_not_the_database(
    sixty: list[Action], manager: User
) -> None:
    client = Client()
    client.force_login(manager)
    client.get("/queue/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/queue/").content.decode()
    assert "Greater Manchester Police</option>" in page
    choice_lists = [
        q["sql"]
        for q in queries.captured_queries
        if re.match(r'SELECT .* FROM "workflows_(agency|theme)"', q["sql"])
    ]
    assert choice_lists == []


@pytest.mark.parametrize(
    "query", ["agency={agency}&agency={agency}", "escalation=0&escalation=3", "rag=red&rag=amber"]
)
def test_a_filter_on_several_values_does_not_make_the_queue_sort_every_row_for_distinct(
    sixty: list[Action], manager: User, owner: User, query: str
) -> None:
    from django.http import QueryDict

    from oversight.queue import overdue_queue

    _, actions = overdue_queue(manager, QueryDict(query.format(agency=owner.person.agency.pk)), today=TODAY)
    assert " DISTINCT " not in str(actions.query)
    assert len(actions) == {"agency": 60, "escalation": 61, "rag": 61}[query.split("=")[0]]
