"""Every page and endpoint is scoped: a person of another agency gets 403 or 404 and changes nothing."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import ActionFactory, person_in
from tests.workflows.helpers import advance, due
from workflows import roles
from workflows.models import Action, Agency, Evidence, ExtensionRequest, ProgressNote, TransitionLog
from workflows.services.actions import action_request_extension

pytestmark = pytest.mark.django_db


@pytest.fixture
def police_action(owner: User, manager: User) -> Action:
    return advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)


def snapshot(action: Action) -> tuple[object, ...]:
    fresh = Action.objects.get(pk=action.pk)
    return (
        fresh.state,
        fresh.due_on,
        fresh.description,
        fresh.reported_rag,
        ProgressNote.objects.count(),
        Evidence.objects.count(),
        ExtensionRequest.objects.count(),
        TransitionLog.objects.count(),
    )


@pytest.fixture(params=["health.owner", "health.lead", "police.colleague"])
def outsider(request: pytest.FixtureRequest, health: Agency, police: Agency) -> User:
    """Someone who may not see the police owner's action: another agency's owner or lead, or a colleague
    in the same agency who neither owns it nor leads the agency."""
    if request.param == "health.owner":
        return person_in(health, roles.ACTION_OWNER, username="health.owner")
    if request.param == "health.lead":
        return person_in(health, roles.AGENCY_LEAD, username="health.lead")
    return person_in(police, roles.ACTION_OWNER, username="police.colleague")


PAGE_POSTS = [
    ("action-transition", {"comment": "x"}, ["submit_for_sign_off"]),
    ("action-transition", {"comment": "x"}, ["discontinue"]),
    ("action-progress", {"text": "Hijacked"}, []),
    ("action-evidence", {"description": "x", "url": "https://example.org"}, []),
    ("action-extension", {"requested_due_on": "2099-01-01", "reason": "x"}, []),
]


def test_action_page_is_404_for_an_outsider(client: Client, police_action: Action, outsider: User) -> None:
    client.force_login(outsider)
    assert client.get(reverse("action-detail", args=[police_action.pk])).status_code == 404


@pytest.mark.parametrize(("url_name", "data", "extra"), PAGE_POSTS)
def test_page_posts_are_404_for_an_outsider_and_change_nothing(
    client: Client,
    police_action: Action,
    outsider: User,
    url_name: str,
    data: dict[str, str],
    extra: list[str],
) -> None:
    before = snapshot(police_action)
    client.force_login(outsider)
    response = client.post(reverse(url_name, args=[police_action.pk, *extra]), data)
    assert response.status_code == 404
    assert snapshot(police_action) == before


def test_extension_decision_is_404_for_another_agency(
    client: Client, police_action: Action, owner: User, health_lead: User
) -> None:
    extension = action_request_extension(
        action=police_action,
        actor=owner,
        requested_due_on=due(police_action) + dt.timedelta(days=9),
        reason="x",
    )
    client.force_login(health_lead)
    response = client.post(reverse("extension-decide", args=[extension.pk]), {"decision": "approve"})
    assert response.status_code == 404
    assert ExtensionRequest.objects.get().decision == "pending"


def test_my_work_lists_only_my_actions(
    client: Client, police_action: Action, health_owner: User, manager: User
) -> None:
    theirs = advance(
        ActionFactory.create(owner=health_owner, description="Health visitor training"),
        "agreed",
        manager=manager,
    )
    client.force_login(health_owner)
    page = client.get(reverse("my-work")).content.decode()
    assert theirs.description in page
    assert police_action.description not in page


def test_sign_off_list_is_403_for_an_owner(client: Client, owner: User) -> None:
    client.force_login(owner)
    assert client.get(reverse("sign-off")).status_code == 403


@pytest.mark.parametrize("who", ["police.owner", "police.lead", "manager", "executive"])
def test_people_whose_role_allows_see_the_action(
    client: Client, police_action: Action, who: str, police_lead: User, executive: User
) -> None:
    client.force_login(User.objects.get(username=who))
    assert client.get(reverse("action-detail", args=[police_action.pk])).status_code == 200


def test_pages_need_a_login(client: Client, police_action: Action) -> None:
    response = client.get(reverse("action-detail", args=[police_action.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The API


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_detail_update_and_transitions_are_404_for_an_outsider(
    police_action: Action, outsider: User
) -> None:
    before = snapshot(police_action)
    client = api(outsider)
    base = f"/api/actions/{police_action.pk}/"
    assert client.get(base).status_code == 404
    assert client.patch(base, {"description": "Hijacked"}, format="json").status_code == 404
    assert client.get(base + "transitions/").status_code == 404
    assert (
        client.post(base + "transitions/submit_for_sign_off/", {"comment": "x"}, format="json").status_code
        == 404
    )
    assert snapshot(police_action) == before


def test_api_lists_leave_out_other_agencies_work(police_action: Action, health_lead: User) -> None:
    client = api(health_lead)
    assert client.get("/api/actions/").json()["count"] == 0
    assert client.get("/api/recommendations/").json()["count"] == 0
    assert client.get(f"/api/recommendations/{police_action.recommendation_id}/").status_code == 404
    assert client.get("/api/transition-log/").json()["count"] == 0


def test_api_agency_lead_sees_their_agencys_actions_and_log(police_action: Action, police_lead: User) -> None:
    client = api(police_lead)
    assert [a["id"] for a in client.get("/api/actions/").json()["results"]] == [police_action.pk]
    assert client.get("/api/transition-log/").json()["count"] == 2


def test_api_needs_authentication(police_action: Action) -> None:
    assert APIClient().get("/api/actions/").status_code in (401, 403)
