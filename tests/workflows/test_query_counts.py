"""List pages and endpoints use a fixed number of queries, whatever the number of rows."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from tests.factories import ActionFactory
from tests.workflows.helpers import advance

pytestmark = pytest.mark.django_db


def make_actions(owner: User, manager: User, n: int, state: str) -> None:
    for _ in range(n):
        advance(ActionFactory.create(owner=owner), state, manager=manager)


def count_queries(django_assert_max_num_queries: DjangoAssertNumQueries, fetch, limit: int) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(limit):
        response = fetch()
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 12])
def test_my_work_page(
    client: Client, owner: User, manager: User, rows: int, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    make_actions(owner, manager, rows, "in_progress")
    client.force_login(owner)
    # Five for the page and its actions; one each for the audit returns, the review chronologies, the
    # section 11 returns and the section 11 challenges waiting on the owner; one for the working-day
    # calendar's closure days, read once, so "due in N working days" agrees with the digests.
    count_queries(django_assert_max_num_queries, lambda: client.get(reverse("my-work")), 10)


@pytest.mark.parametrize("rows", [1, 12])
def test_sign_off_page(
    client: Client, owner: User, manager: User, second_manager: User, rows: int, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    make_actions(owner, manager, rows, "awaiting_sign_off")
    client.force_login(second_manager)
    # One more than the actions and extensions: the change requests waiting for a decision; and one for
    # the working-day calendar, read once however many due dates the page shows.
    count_queries(django_assert_max_num_queries, lambda: client.get(reverse("sign-off")), 8)


@pytest.mark.parametrize("rows", [1, 12])
def test_api_action_list(owner: User, manager: User, rows: int, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    make_actions(owner, manager, rows, "in_progress")
    client = APIClient()
    client.force_authenticate(manager)
    count_queries(django_assert_max_num_queries, lambda: client.get("/api/actions/"), 2)


@pytest.mark.parametrize("rows", [1, 12])
def test_api_recommendation_and_log_lists(
    owner: User, manager: User, rows: int, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    make_actions(owner, manager, rows, "in_progress")
    client = APIClient()
    client.force_authenticate(owner)
    count_queries(django_assert_max_num_queries, lambda: client.get("/api/recommendations/"), 4)
    count_queries(django_assert_max_num_queries, lambda: client.get("/api/transition-log/"), 3)


@pytest.mark.parametrize("rows", [1, 12])
def test_home_page(
    client: Client, owner: User, manager: User, rows: int, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    make_actions(owner, manager, rows, "awaiting_sign_off")
    client.force_login(manager)
    count_queries(django_assert_max_num_queries, lambda: client.get(reverse("home")), 10)


def test_action_page_names_owners_in_the_same_number_of_queries_however_many_handovers(
    client: Client, owner: User, manager: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from oversight.services import queue_reassign
    from tests.factories import person_in
    from workflows import roles
    from workflows.models import Action

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    client.force_login(manager)

    def hand_over(times: int) -> int:
        for _ in range(times):
            successor = person_in(owner.person.agency, roles.ACTION_OWNER)
            queue_reassign(
                actor=manager, actions=Action.objects.filter(pk=action.pk), owner=successor, reason="Left"
            )
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("action-detail", args=[action.pk]))
        assert page.status_code == 200
        assert page.content.decode().count("Owner: ") == Action.history.filter(id=action.pk).count() - 3
        return len(queries)

    assert hand_over(1) == hand_over(7)
