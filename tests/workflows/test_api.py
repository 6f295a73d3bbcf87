import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ActionFactory, RecommendationFactory, ThemeFactory
from tests.workflows.helpers import advance
from workflows.models import Action, ActionState, Agency

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_transition_returns_200_with_the_new_state(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "agreed", manager=manager)
    response = api(owner).post(
        f"/api/actions/{action.pk}/transitions/start/", {"comment": "Under way"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"id": action.pk, "state": "in_progress"}


def test_refused_transition_returns_400_with_the_reason_and_changes_nothing(
    owner: User, manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    response = api(owner).post(f"/api/actions/{action.pk}/transitions/sign_off/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Only a manager who is not the action's owner may sign it off"
    assert Action.objects.get(pk=action.pk).state == ActionState.AWAITING_SIGN_OFF


def test_missing_rationale_returns_400(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner)
    response = api(manager).post(f"/api/actions/{action.pk}/transitions/discontinue/", {}, format="json")
    assert response.status_code == 400
    assert "rationale is required" in response.json()["detail"]


def test_stale_state_returns_409_and_changes_nothing(
    owner: User, manager: User, second_manager: User
) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    read_by_both = api(manager).get(f"/api/actions/{action.pk}/").json()["state"]
    first = api(manager).post(
        f"/api/actions/{action.pk}/transitions/sign_off/", {"state": read_by_both}, format="json"
    )
    second = api(second_manager).post(
        f"/api/actions/{action.pk}/transitions/reject/",
        {"state": read_by_both, "comment": "No"},
        format="json",
    )
    assert first.status_code == 200
    assert second.status_code == 409
    assert "changed by someone else" in second.json()["detail"]
    assert Action.objects.get(pk=action.pk).state == ActionState.COMPLETED


def test_transitions_endpoint_lists_what_the_caller_may_do(owner: User, manager: User) -> None:
    action = advance(ActionFactory.create(owner=owner), "awaiting_sign_off", manager=manager)
    assert api(owner).get(f"/api/actions/{action.pk}/transitions/").json() == []
    offered = api(manager).get(f"/api/actions/{action.pk}/transitions/").json()
    assert {o["name"] for o in offered} == {"sign_off", "reject", "discontinue"}
    assert {o["name"]: o["comment_required"] for o in offered}["reject"] is True


def test_manager_creates_an_action_and_the_owner_updates_allowed_fields(owner: User, manager: User) -> None:
    recommendation = RecommendationFactory.create()
    due = (timezone.localdate() + dt.timedelta(days=40)).isoformat()
    created = api(manager).post(
        "/api/actions/",
        {
            "recommendation": recommendation.pk,
            "description": "Train all DSLs",
            "owner": owner.pk,
            "due_on": due,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["agency"], body["rag"]) == ("draft", owner.person.agency_id, "green")
    updated = api(owner).patch(
        f"/api/actions/{body['id']}/", {"outcome_measure": "40 trained"}, format="json"
    )
    assert updated.status_code == 200
    assert updated.json()["outcome_measure"] == "40 trained"


def test_state_cannot_be_changed_by_update(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner)
    api(manager).patch(f"/api/actions/{action.pk}/", {"state": "completed"}, format="json")
    assert Action.objects.get(pk=action.pk).state == ActionState.DRAFT


def test_owner_cannot_create_actions(owner: User) -> None:
    response = api(owner).post(
        "/api/actions/",
        {"recommendation": RecommendationFactory.create().pk, "description": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_bad_input_gets_400_not_500(owner: User, manager: User) -> None:
    action = ActionFactory.create(owner=owner)
    assert (
        api(manager)
        .patch(f"/api/actions/{action.pk}/", {"due_on": "next tuesday"}, format="json")
        .status_code
        == 400
    )
    assert api(manager).post("/api/actions/", {"description": ""}, format="json").status_code == 400


def test_filters_by_state_agency_owner_rag_and_overdue(
    owner: User, health_owner: User, manager: User
) -> None:
    today = timezone.localdate()
    late = advance(
        ActionFactory.create(owner=owner, due_on=today - dt.timedelta(days=30)),
        "in_progress",
        manager=manager,
    )
    fine = advance(
        ActionFactory.create(owner=health_owner, due_on=today + dt.timedelta(days=60)),
        "agreed",
        manager=manager,
    )
    client = api(manager)

    def ids(query: str) -> list[int]:
        return [a["id"] for a in client.get(f"/api/actions/?{query}").json()["results"]]

    police = Agency.objects.get(name="Greater Manchester Police")
    assert ids("state=in_progress") == [late.pk]
    assert ids(f"agency={police.pk}") == [late.pk]
    assert ids(f"owner={health_owner.pk}") == [fine.pk]
    assert ids("rag=red") == [late.pk]
    assert ids("rag=green") == [fine.pk]
    assert ids("overdue=true") == [late.pk]
    assert ids("overdue=false") == [fine.pk]


def test_openapi_schema_is_valid_and_the_docs_page_is_served(client, manager: User) -> None:  # type: ignore[no-untyped-def]
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    client.force_login(manager)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "swagger" in docs.lower()
    assert "cdn" not in docs.lower()


def test_a_reported_rag_changed_through_the_api_is_on_the_action_timeline(owner: User, manager: User) -> None:
    from workflows.selectors import action_timeline

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    response = api(owner).patch(f"/api/actions/{action.pk}/", {"reported_rag": "red"}, format="json")
    assert response.status_code == 200
    changes = [e for e in action_timeline(action) if e.kind == "change"]
    assert [(e.who, e.summary) for e in changes] == [(owner, "Changed reported rag")]
    assert changes[0].detail == "Reported rag: — → Red"


def test_a_progress_update_with_a_rag_is_on_the_timeline_once(owner: User, manager: User) -> None:
    from workflows.selectors import action_timeline
    from workflows.services.actions import action_add_progress

    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    action_add_progress(action=action, actor=owner, text="Training booked", reported_rag="amber")
    entries = [e for e in action_timeline(action) if e.kind in ("change", "progress")]
    assert [e.summary for e in entries] == ["Progress update (owner's RAG: Amber)"]


@pytest.mark.parametrize("rag", ["grey", "no_date"])
def test_an_owner_reports_red_amber_or_green_only(owner: User, manager: User, rag: str) -> None:
    # Grey means complete and "no date" is not a judgement: only sign-off and the due date say those.
    action = advance(ActionFactory.create(owner=owner), "in_progress", manager=manager)
    response = api(owner).patch(f"/api/actions/{action.pk}/", {"reported_rag": rag}, format="json")
    assert response.status_code == 400
    assert Action.objects.get(pk=action.pk).reported_rag == ""


def test_an_api_address_that_matches_nothing_answers_in_json(manager: User) -> None:
    response = api(manager).get("/api/actions/not.a.number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_the_schema_says_what_the_transitions_list_and_each_error_look_like(manager: User) -> None:
    schema = api(manager).get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/actions/{id}/transitions/"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert not [p for p in listing["parameters"] if p["in"] == "query"]
    assert {"403", "404"} <= set(listing["responses"])
    assert {"400", "403", "404", "409"} <= set(
        schema["paths"]["/api/actions/{id}/transitions/{name}/"]["post"]["responses"]
    )
    assert {"400", "403"} <= set(schema["paths"]["/api/actions/"]["post"]["responses"])
    recommendation = schema["components"]["schemas"]["Recommendation"]["properties"]
    assert recommendation["source_type"]["nullable"] is True


def test_an_api_client_lists_the_actions_serving_a_theme_and_of_a_recommendation(
    owner: User, manager: User
) -> None:
    neglect, voice = ThemeFactory.create(name="Neglect"), ThemeFactory.create(name="Voice of the child")
    own_theme = ActionFactory.create(owner=owner, theme=neglect)
    # No theme of its own: it serves its recommendation's.
    inherited = ActionFactory.create(owner=owner, recommendation=RecommendationFactory.create(theme=neglect))
    overridden = ActionFactory.create(
        owner=owner, theme=voice, recommendation=RecommendationFactory.create(theme=neglect)
    )
    client = api(manager)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/actions/?{query}")
        assert response.status_code == 200, response.json()
        return {a["id"] for a in response.json()["results"]}

    assert ids(f"theme={neglect.pk}") == {own_theme.pk, inherited.pk}
    assert ids(f"theme={voice.pk}") == {overridden.pk}
    assert ids(f"recommendation={inherited.recommendation_id}") == {inherited.pk}
    assert ids("state=draft&state=agreed") == {own_theme.pk, inherited.pk, overridden.pk}
    assert client.get("/api/actions/?theme=999999").status_code == 400


@pytest.mark.parametrize("query", ["owner=-2.6e%2B42", "recommendation=99999999999999999999999", "owner=0"])
def test_an_out_of_range_id_in_an_api_filter_is_refused_not_a_server_error(
    owner: User, manager: User, query: str
) -> None:
    action = ActionFactory.create(owner=owner)
    for path in ("/api/actions/", f"/api/actions/{action.pk}/"):
        response = api(manager).get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.status_code)
